"""Saturation: diminishing returns of (adstocked) spend, as unit-height curves.

Each form maps adstocked spend ``x`` (in units of the channel's mean non-zero spend, so
bounds mean the same thing for every channel) to a curve with maximum 1; a per-node
amplitude scales it. Parameters are kept inside configured bounds by a sigmoid
reparametrisation, never by clamping, so every parameter always has a gradient.

- ``hill`` (default): ``x^n / (k^n + x^n)``. Monotone increasing for every parameter value,
  S-shaped for ``n > 1`` and concave for ``n <= 1``, with a half-saturation point ``k`` that
  reads directly in spend units. It can never say that more spend loses revenue, which is
  the assumption a budget optimizer needs, so it is the default.
- ``beta_gamma``: ``a x^alpha e^(-beta x)``, which rises to a peak at ``x = alpha/beta`` and
  then falls. A falling response to spend is almost always confounding (spend raised when
  sales were falling) rather than a real effect, so the curve is **capped at its peak**
  everywhere, in fitting as in reporting: predictions, ROAS, response curves and budget plans
  all see the same non-decreasing curve, and the peak is reported as the saturation spend.
  Written here in peak form, ``(x/p)^alpha e^(alpha (1 - x/p))``, with ``p = alpha/beta``.
- ``logistic``: ``tanh(lambda x / 2) = (1 - e^(-lambda x)) / (1 + e^(-lambda x))``, the
  PyMC-Marketing form; concave, one parameter.
"""

import math

import torch

from mmm_pipeline.core.transforms.adstock import bounded, inverse_bounded

SATURATION_FORMS = ("hill", "beta_gamma", "logistic")

#: names of the shape parameters of each form (the amplitude lives on the model)
SATURATION_PARAM_NAMES = {
    "hill": ("half_saturation", "slope"),
    "beta_gamma": ("peak", "alpha"),
    "logistic": ("lam",),
}

DEFAULT_BOUNDS = {
    "hill_half_bounds": (0.1, 5.0),
    "hill_slope_bounds": (0.5, 3.0),
    "beta_gamma_peak_bounds": (0.2, 10.0),
    "beta_gamma_alpha_bounds": (0.3, 5.0),
    "logistic_lambda_bounds": (0.05, 10.0),
}

_BOUND_KEYS = {
    "hill": ("hill_half_bounds", "hill_slope_bounds"),
    "beta_gamma": ("beta_gamma_peak_bounds", "beta_gamma_alpha_bounds"),
    "logistic": ("logistic_lambda_bounds",),
}

_INITIAL = {"hill": (1.0, 1.2), "beta_gamma": (2.0, 1.0), "logistic": (1.0,)}


def check_form(form: str) -> str:
    if form not in SATURATION_FORMS:
        raise ValueError(f"unknown saturation '{form}'; settings.model.media.saturation must be one of {SATURATION_FORMS}")
    return form


def resolve_bounds(media_settings: dict) -> dict[str, tuple[float, float]]:
    """Bounds from ``settings.model.media`` with the module defaults for anything unset."""
    out = {}
    for key, default in DEFAULT_BOUNDS.items():
        lo, hi = media_settings.get(key, default)
        if not lo < hi:
            raise ValueError(f"settings.model.media.{key} must be [low, high] with low < high, got low {lo} and high {hi}")
        out[key] = (float(lo), float(hi))
    return out


def n_params(form: str) -> int:
    return len(SATURATION_PARAM_NAMES[check_form(form)])


def initial_raw(form: str, bounds: dict) -> list[float]:
    """Raw values that start every channel mid-curve (inside the bounds)."""
    keys = _BOUND_KEYS[form]
    return [inverse_bounded(min(max(v, bounds[k][0] * 1.05), bounds[k][1] * 0.95), *bounds[k]) for v, k in zip(_INITIAL[form], keys)]


def shape_params(form: str, raw: torch.Tensor, bounds: dict) -> dict[str, torch.Tensor]:
    """Named shape parameters ``[K, C]`` (in scaled spend units) from raw ``[K, C, P]``."""
    keys = _BOUND_KEYS[check_form(form)]
    names = SATURATION_PARAM_NAMES[form]
    return {n: bounded(raw[..., i], *bounds[k]) for i, (n, k) in enumerate(zip(names, keys))}


#: below this, adstocked spend counts as zero (only reached where the spend really is zero)
TINY = 1e-30


def _positive(x: torch.Tensor, positive: torch.Tensor | None) -> torch.Tensor:
    return (x > 0).to(x.dtype) if positive is None else positive


def _sum_to(t: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """Reduce a broadcast gradient back to a parameter's shape."""
    dims = [i for i, (a, b) in enumerate(zip(t.shape, shape)) if b == 1 and a != 1]
    return t.sum(dim=dims, keepdim=True) if dims else t


class _Hill(torch.autograd.Function):
    """Hill curve with a hand-written backward: the media curve runs on ``[K, T, C]`` every
    training step and is memory-bound, so the passes over that tensor are what costs. Forward:
    clamp, log, one fused multiply-add, sigmoid, mask; backward: one fused sigmoid gradient
    and three products."""

    @staticmethod
    def forward(ctx, x, log_half, slope, positive):  # noqa: D102 (torch API)
        safe = x.clamp_min(TINY)
        log_x = torch.log(safe)
        s = torch.sigmoid(torch.addcmul(-slope * log_half, slope, log_x)).mul_(positive)
        ctx.save_for_backward(safe, log_x, s, log_half, slope)
        return s

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        safe, log_x, s, log_half, slope = ctx.saved_tensors
        # s is exactly 0 where the spend is 0, so the sigmoid gradient s (1 - s) is 0 there too
        t = torch.ops.aten.sigmoid_backward(grad, s)  # grad * s * (1 - s)
        grad_x = (t * slope).div_(safe) if ctx.needs_input_grad[0] else None
        grad_slope = grad_log_half = None
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            t_sum = _sum_to(t, slope.shape)
            if ctx.needs_input_grad[2]:
                grad_slope = _sum_to(t * log_x, slope.shape) - log_half * t_sum
            if ctx.needs_input_grad[1]:
                grad_log_half = -slope * t_sum
        return grad_x, grad_log_half, grad_slope, None


def hill(x: torch.Tensor, half: torch.Tensor, slope: torch.Tensor, positive: torch.Tensor | None = None) -> torch.Tensor:
    """``x^n / (k^n + x^n)`` computed as ``sigmoid(n (log x - log k))`` (stable for any size).

    ``positive`` (1 where ``x > 0``) makes the curve exactly 0 at zero spend with a finite
    gradient everywhere (no ``0 * log 0``).
    """
    pos = _positive(x, positive)
    log_half = torch.log(half)
    slope = slope.expand_as(log_half) if slope.shape != log_half.shape else slope
    return _Hill.apply(x, log_half, slope, pos.expand_as(x) if pos.shape != x.shape else pos)


def beta_gamma_capped(x: torch.Tensor, peak: torch.Tensor, alpha: torch.Tensor, positive: torch.Tensor | None = None) -> torch.Tensor:
    """Peak-normalised Beta-Gamma, flat at 1 beyond its peak (see module docstring)."""
    r = torch.minimum(x / peak, torch.ones_like(x)).clamp_min(TINY)
    return torch.exp(alpha * (torch.log(r) + 1.0 - r)) * _positive(x, positive)


def beta_gamma_uncapped(x: torch.Tensor, peak: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """The raw Beta-Gamma curve, falling side included: for diagnostics and tests only."""
    r = (x / peak).clamp_min(TINY)
    return torch.exp(alpha * (torch.log(r) + 1.0 - r)) * _positive(x, None)


def logistic(x: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    return torch.tanh(lam * x / 2.0)


def saturate(form: str, x: torch.Tensor, params: dict[str, torch.Tensor], positive: torch.Tensor | None = None) -> torch.Tensor:
    """Unit-height curve value for ``x [K, ..., C]`` with parameters ``[K, C]``.

    Parameters are broadcast over every axis between the member and channel axes;
    ``positive`` (broadcastable to ``x``) marks where the adstocked spend is above zero.
    """
    extra = x.dim() - 2
    p = {k: v.reshape(v.shape[0], *([1] * extra), v.shape[-1]) for k, v in params.items()}
    if form == "hill":
        return hill(x, p["half_saturation"], p["slope"], positive)
    if form == "beta_gamma":
        return beta_gamma_capped(x, p["peak"], p["alpha"], positive)
    if form == "logistic":
        return logistic(x, p["lam"])
    raise ValueError(f"unknown saturation '{form}'")


def saturation_point(form: str, params: dict[str, torch.Tensor], level: float = 0.9) -> torch.Tensor:
    """Adstocked (scaled) spend where the curve reaches ``level`` of its maximum; the peak for Beta-Gamma."""
    if form == "hill":
        return params["half_saturation"] * (level / (1 - level)) ** (1.0 / params["slope"])
    if form == "logistic":
        return 2.0 * math.atanh(level) / params["lam"]
    if form == "beta_gamma":
        return params["peak"]
    raise ValueError(f"unknown saturation '{form}'")


def money_params(form: str, params: dict[str, torch.Tensor], spend_scale: torch.Tensor) -> dict[str, torch.Tensor]:
    """Shape parameters in money units (``spend_scale [C]`` = the channel's mean non-zero spend)."""
    if form == "hill":
        return {"half_saturation": params["half_saturation"] * spend_scale, "slope": params["slope"]}
    if form == "beta_gamma":
        peak = params["peak"] * spend_scale
        return {"alpha": params["alpha"], "beta": params["alpha"] / peak, "peak": peak}
    return {"lam": params["lam"] / spend_scale}
