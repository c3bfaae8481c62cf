"""Money questions about media: response curves, ROAS, marginal ROAS, revenue of a plan.

Because adstock is normalised, spending ``s`` every period gives adstocked spend ``s`` in
steady state, so the steady-state response per period is just the saturation curve scaled by
the amplitudes summed over nodes (level scale):

    R_c(s) = sum_n mean_n * amp[n, c] * sat_c(s / scale_c)

Log scale: a channel multiplies sales, so ``R_c(s) = sum_n L_n (exp(amp[n, c] sat_c) - 1)``
with ``L_n`` the node's baseline level (intercept and centred means at their training
average), other media off. Beta-Gamma curves are capped at their peak here as everywhere.
"""

import numpy as np
import torch

from mmm_pipeline.core.model.nam import NAM
from mmm_pipeline.core.model.scaling import DTYPE
from mmm_pipeline.core.transforms.adstock import apply_adstock, lag_tensor
from mmm_pipeline.core.transforms.saturation import money_params, saturate, saturation_point


def baseline_level(model: NAM, centring: np.ndarray) -> torch.Tensor:
    """``[K, N]`` revenue per period at the baseline (log scale: ``mean_n * exp(intercept)``)."""
    bias = model.views()["bias"].detach().double()
    m = torch.as_tensor(model.scalers.target_mean)
    return m * torch.exp(bias + torch.as_tensor(centring).sum(-1))


def steady_response(model: NAM, centring: np.ndarray, channel: int, spend: torch.Tensor) -> torch.Tensor:
    """``[K, G]`` steady-state contribution per period (summed over nodes) at per-period spends ``[G]``."""
    mp = model.media_params()
    scale = float(model.scalers.media_scale[channel])
    x = (spend.to(DTYPE) / scale).unsqueeze(0).unsqueeze(-1).expand(mp.amplitude.shape[0], -1, 1)  # [K, G, 1]
    shape = {k: v[:, channel : channel + 1] for k, v in mp.shape.items()}
    sat = saturate(model.cfg.saturation, x, shape)[..., 0].double()  # [K, G]
    amp = mp.amplitude[:, :, channel].double()  # [K, N]
    m = torch.as_tensor(model.scalers.target_mean)
    if model.cfg.target_scale == "level":
        return sat * (amp * m).sum(-1, keepdim=True)
    level = baseline_level(model, centring)
    return (level.unsqueeze(1) * torch.expm1(amp.unsqueeze(1) * sat.unsqueeze(-1))).sum(-1)


def response_curve(model: NAM, centring: np.ndarray, channel: int, spend_grid: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return steady_response(model, centring, channel, torch.as_tensor(np.asarray(spend_grid, dtype=np.float64))).numpy()


def mroas_one_spend(model: NAM, centring: np.ndarray, channel: int, max_spend: float, n_grid: int = 2001) -> np.ndarray:
    """``[K]`` largest per-period spend where the steady-state marginal ROAS is still >= 1.

    0 when no spend level pays back its last unit; NaN when the marginal ROAS is still
    above 1 at ten times the largest observed per-period spend (saturation not reached
    within any spend the data can speak to).
    """
    grid = torch.linspace(0.0, 10.0 * max(max_spend, 1e-9), n_grid, dtype=torch.float64)
    with torch.no_grad():
        resp = steady_response(model, centring, channel, grid)  # [K, G]
    slope = torch.diff(resp, dim=1) / torch.diff(grid)  # [K, G-1] on midpoints
    mids = (grid[1:] + grid[:-1]) / 2
    above = (slope >= 1.0).numpy()
    n = above.shape[1]
    last = n - 1 - np.argmax(above[:, ::-1], axis=1)  # last index where mROAS >= 1
    out = mids.numpy()[last]
    out = np.where(above.any(1), out, 0.0)
    return np.where(above[:, -1], np.nan, out)


def channel_money_params(model: NAM) -> dict[str, np.ndarray]:
    """Saturation parameters in money units plus the amplitude (revenue per period at saturation), ``[K, C]``."""
    mp = model.media_params()
    scale = torch.as_tensor(model.scalers.media_scale, dtype=DTYPE)
    out = {k: v.detach().double().numpy() for k, v in money_params(model.cfg.saturation, mp.shape, scale).items()}
    m = torch.as_tensor(model.scalers.target_mean, dtype=DTYPE)
    out["amplitude"] = (mp.amplitude * m[None, :, None]).sum(1).detach().double().numpy()
    out["saturation_spend"] = (saturation_point(model.cfg.saturation, mp.shape) * scale).detach().double().numpy()
    return out


def batched_lags(spend: torch.Tensor, l_max: int, history: torch.Tensor | None) -> torch.Tensor:
    """Lag tensor for a plan shared by members ``[H, C]`` -> ``[H, L, C]`` or per member ``[K, H, C]`` -> ``[K, H, L, C]``."""
    if spend.dim() == 2:
        return lag_tensor(spend, l_max, history)
    return torch.stack([lag_tensor(spend[k], l_max, history) for k in range(spend.shape[0])])


def media_revenue(model: NAM, centring: np.ndarray, history_spend: torch.Tensor, plan: torch.Tensor) -> torch.Tensor:
    """``[K, H]`` predicted media revenue per plan period (summed over nodes), differentiable in ``plan``."""
    scale = torch.as_tensor(model.scalers.media_scale, dtype=plan.dtype)
    hist = None if history_spend is None else torch.as_tensor(history_spend, dtype=plan.dtype) / scale
    lags = batched_lags(plan / scale, model.cfg.l_max, hist)
    flat = model.flat.detach().to(plan.dtype)
    mp = model.media_params(model.views(flat))
    adstocked = apply_adstock(lags, mp.weights)
    sat = saturate(model.cfg.saturation, adstocked, mp.shape)  # [K, H, C]
    m = torch.as_tensor(model.scalers.target_mean, dtype=plan.dtype)
    if model.cfg.target_scale == "level":
        return torch.einsum("khc,knc,n->kh", sat, mp.amplitude, m)
    level = baseline_level(model, centring).to(plan.dtype)  # [K, N]
    lift = torch.einsum("khc,knc->khn", sat, mp.amplitude)
    return (level.unsqueeze(1) * torch.expm1(lift)).sum(-1)
