"""Elasticities, constraint checks and the report of binding constraints.

Elasticity of the prediction to feature ``x``: ``d log y_hat / d log x``. For shaped and
linear features the derivative of the feature's term comes from autograd through the
network at each observation; for media it is the response to scaling the channel's whole
spend series (adstock is linear, so that scales adstocked spend), also by autograd.
"""

import numpy as np
import pandas as pd
import torch

from mmm_pipeline.core.model.nam import NAM, NAMOutput
from mmm_pipeline.core.model.scaling import ModelInputs
from mmm_pipeline.core.model.shapes import flat_knot_index, interpolate, knot_fraction, knot_violations
from mmm_pipeline.core.transforms.saturation import saturate, saturation_point

#: relative size below which a curve difference counts as floating-point noise, not a violation
VIOLATION_TOLERANCE = 1e-5


def media_log_derivative(model: NAM, out: NAMOutput) -> torch.Tensor:
    """``[K, T, N, C]`` d (media term, scaled space) / d log(spend of channel c), by autograd."""
    mp = out.media
    with torch.enable_grad():
        x = out.adstocked.detach().clone().requires_grad_(True)
        shape = {k: v.detach() for k, v in mp.shape.items()}
        sat = saturate(model.cfg.saturation, x, shape)
        (dsat,) = torch.autograd.grad(sat.sum(), x)
    return (dsat * x.detach()).unsqueeze(2) * mp.amplitude.detach().unsqueeze(1)


def feature_log_derivative(model: NAM, inputs: ModelInputs, feature: int) -> tuple[torch.Tensor, NAMOutput]:
    """``[K, T, N]`` d (feature term, scaled space) / d log x, and the forward output."""
    fam = model.cfg.features[feature].family
    k = model.cfg.n_models
    if fam in inputs.groups:
        gi = inputs.groups[fam]
        j = gi.index.index(feature)
        with torch.enable_grad():
            u = gi.u.unsqueeze(0).expand(k, -1, -1, -1).clone().requires_grad_(True)
            out = model(inputs, u_override={fam: u})
            (du,) = torch.autograd.grad(out.groups[fam].contributions[..., j].sum(), u)
        return du[..., j] * gi.du_dlogx[..., j].unsqueeze(0), out
    with torch.no_grad():
        out = model(inputs)
    if fam == "linear":
        j = inputs.linear_index.index(feature)
        return out.linear_beta[..., j].unsqueeze(1) * inputs.linear_dx_dlogx[..., j].unsqueeze(0), out
    if fam == "media":
        c = model.index["media"].index(feature)
        return media_log_derivative(model, out)[..., c], out
    raise ValueError(f"no elasticity for family '{fam}'")


def elasticity(model: NAM, inputs: ModelInputs, feature: int) -> np.ndarray:
    """``[K, N]`` mean over periods of d log y_hat / d log x."""
    deriv, out = feature_log_derivative(model, inputs, feature)
    deriv = deriv.detach().double()
    if model.cfg.target_scale == "level":
        deriv = deriv / out.eta.detach().double()
    return deriv.mean(1).numpy()


def _rate(bad: torch.Tensor, total: int) -> float:
    return float(bad.sum()) / max(total, 1)


def violation_rates(model: NAM, inputs: ModelInputs) -> dict[str, float]:
    """Share of checks that fail, per constrained feature (max of the knot-grid and data checks).

    Grid: every adjacent pair of knots (monotone) and triple (concave), every member and node.
    Data: the fitted curve at the data's own values sorted by ``x``, per member and node.
    Media: the saturation curve on a spend grid from 0 to 3x the largest observed spend.
    """
    rates: dict[str, float] = {}
    with torch.no_grad():
        out = model(inputs)
        for fam, g in out.groups.items():
            direction, concave = model.direction[fam], model.concave[fam]
            mono, conc = knot_violations(g.curves, direction, concave)
            scale = g.curves.abs().amax(dim=-1, keepdim=True).clamp_min(1.0) * VIOLATION_TOLERANCE
            gi = inputs.groups[fam]
            for j, i in enumerate(gi.index):
                if direction[j] == 0 and not bool(concave[j]):
                    continue
                tol = scale[..., j, :]
                grid_bad = _rate(mono[..., j, :] > tol, mono[..., j, :].numel())
                if bool(concave[j]):
                    grid_bad = max(grid_bad, _rate(conc[..., j, :] > tol, conc[..., j, :].numel()))
                rates[model.cfg.features[i].name] = max(grid_bad, _data_violation(g, gi, j, float(direction[j]), tol))
        if out.media is not None:
            rates.update(_media_violations(model, out))
    return rates


def _data_violation(g, gi, j: int, direction: float, tol: torch.Tensor) -> float:
    if direction == 0:
        return 0.0
    order = torch.argsort(gi.u[..., j], dim=0)  # [T, N] sort each node's values
    vals = torch.gather(g.contributions[..., j], 1, order.unsqueeze(0).expand(g.contributions.shape[0], -1, -1))
    diffs = vals.diff(dim=1) * direction  # [K, T-1, N]
    return _rate(diffs < -tol.squeeze(-1).unsqueeze(1), diffs.numel())  # tol [K, N, 1] -> [K, 1, N]


def _media_violations(model: NAM, out: NAMOutput) -> dict[str, float]:
    mp = out.media
    top = 3.0 * float(out.adstocked.max().clamp_min(1.0))
    grid = torch.linspace(0.0, top, 512)
    k, c = mp.weights.shape[:2]
    x = grid[None, :, None].expand(k, -1, c)
    sat = saturate(model.cfg.saturation, x, mp.shape)
    bad = sat.diff(dim=1) < -VIOLATION_TOLERANCE
    names = [model.cfg.features[i].name for i in model.index["media"]]
    return {n: _rate(bad[..., ci], bad[..., ci].numel()) for ci, n in enumerate(names)}


def _near(value: np.ndarray, lo: float, hi: float, rel: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    span = hi - lo
    return value <= lo + rel * span, value >= hi - rel * span


def binding_constraints(model: NAM, inputs: ModelInputs, summary: pd.DataFrame, elasticities: dict[str, np.ndarray]) -> pd.DataFrame:
    """Rows ``member, feature, constraint, value, bound, note`` for every constraint that binds.

    A channel whose effect is pinned at about zero is reported here (its ROAS is then
    "not identified at the observed spend"), never silently dropped.
    """
    rows = []
    cfg = model.cfg
    b = cfg.media_bounds
    with torch.no_grad():
        out = model(inputs)
    if out.media is not None:
        mp = out.media
        decay = mp.decay.double().numpy()
        for _, r in summary.iterrows():
            if abs(r["share"]) < 0.01 or abs(r["roas"]) < 1e-3:
                rows.append((r["member"], r["channel"], "effect_near_zero", r["share"], 0.0,
                             "channel effect pinned at about zero: not identified at the observed spend"))
        channels = [cfg.features[i].name for i in model.index["media"]]
        if cfg.adstock in ("geometric", "delayed"):
            low, high = _near(decay, *b["decay"])
            for k, c in zip(*np.nonzero(low | high)):
                bound = b["decay"][0] if low[k, c] else b["decay"][1]
                rows.append((k, channels[c], "decay_bound", decay[k, c], bound, "adstock decay at its bound"))
        keys = {"half_saturation": "hill_half_bounds", "slope": "hill_slope_bounds", "peak": "beta_gamma_peak_bounds",
                "alpha": "beta_gamma_alpha_bounds", "lam": "logistic_lambda_bounds"}
        for name, val in mp.shape.items():
            lo, hi = b[keys[name]]
            v = val.double().numpy()
            low, high = _near(v, lo, hi)
            for k, c in zip(*np.nonzero(low | high)):
                rows.append((k, channels[c], f"{name}_bound", v[k, c], lo if low[k, c] else hi, f"saturation {name} at its bound"))
        if cfg.saturation == "beta_gamma":
            peak = saturation_point("beta_gamma", mp.shape).unsqueeze(1)
            beyond = (out.adstocked > peak).double().mean(1).numpy()
            for k, c in zip(*np.nonzero(beyond > 0.1)):
                rows.append((k, channels[c], "beyond_peak", beyond[k, c], 0.1,
                             "spend often beyond the Beta-Gamma peak: curve capped there (no falling side)"))
    for fam, g in out.groups.items():
        gi = inputs.groups[fam]
        span = (g.contributions.amax(1) - g.contributions.amin(1)).double().numpy()  # [K, N, Fg]
        for j, i in enumerate(gi.index):
            f = cfg.features[i]
            if f.direction != 0:
                for k in np.nonzero(span[..., j].max(1) < 1e-4)[0]:
                    rows.append((k, f.name, "flat_curve", float(span[k, :, j].max()), 0.0,
                                 "monotone curve pinned flat: the data show no effect in the allowed direction"))
    for name, e in elasticities.items():
        f = next(x for x in cfg.features if x.name == name)
        lo, hi = f.elasticity_bounds
        for k, n in zip(*np.nonzero((e <= lo + 0.05) | (e >= hi - 0.05))):
            rows.append((k, name, "elasticity_bound", float(e[k, n]), lo if e[k, n] <= lo + 0.05 else hi,
                         f"mean elasticity at node {cfg.nodes[n]} at its bound"))
    return pd.DataFrame(rows, columns=["member", "feature", "constraint", "value", "bound", "note"])


def grid_curve(model: NAM, feature: int, values: np.ndarray) -> np.ndarray:
    """``[K, N, G]`` the shaped term of a knot-family feature at scaled inputs ``values [G, N]``."""
    fam = model.cfg.features[feature].family
    j = model.index[fam].index(feature)
    with torch.no_grad():
        curves, _ = model.group_curves(model.views(), fam)
        single = curves[:, :, j : j + 1, :]  # [K, N, 1, P]
        u = torch.as_tensor(values, dtype=curves.dtype).unsqueeze(-1)  # [G, N, 1]
        lo, step = model.lo[fam][0, 0, j], model.step[fam][j : j + 1]
        seg = ((u - lo) / step).floor().clamp(0, model.scalers.n_knots - 2).long()
        frac = knot_fraction(u, seg, lo, step)
        val, _ = interpolate(single, frac, flat_knot_index(seg, model.scalers.n_knots), step)
    return val[..., 0].permute(0, 2, 1).double().numpy()
