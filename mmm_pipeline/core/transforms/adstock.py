"""Adstock: how spend in one period keeps working in the following periods.

All adstocks here are *normalised* (lag weights sum to one), so adstock moves spend in time
without creating or destroying it: a constant spend ``s`` every period has adstocked value
``s`` in steady state. That keeps the saturation curve's half-saturation point in spend units
whatever the decay, and makes a steady-state response curve a plain function of spend.

Everything is batched: weights are ``[K, C, L]`` (members x channels x lags) and a spend
history becomes a lag tensor ``[T, L, C]`` once, after which adstock is one einsum. The lag
tensor takes an explicit carry-in (the spend before the first period), so forecasts and
budget plans roll forward from real history instead of starting from zero.
"""

import logging
import math

import torch

log = logging.getLogger(__name__)

ADSTOCK_FORMS = ("geometric", "delayed", "weibull")

#: raw parameters per channel for each form
N_ADSTOCK_PARAMS = {"geometric": 1, "delayed": 2, "weibull": 2}


def bounded(raw: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """Map an unconstrained value into ``(lo, hi)`` smoothly: no clamps, gradients everywhere."""
    return lo + (hi - lo) * torch.sigmoid(raw)


def inverse_bounded(value: float, lo: float, hi: float) -> float:
    """The raw value that :func:`bounded` maps to ``value`` (used for initialisation)."""
    p = min(max((value - lo) / (hi - lo), 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def geometric_weights(decay: torch.Tensor, l_max: int) -> torch.Tensor:
    """``[..., L]`` weights proportional to ``decay**l`` for lags ``0..L-1``, summing to one."""
    lags = torch.arange(l_max, dtype=decay.dtype, device=decay.device)
    # decay**l via exp(l*log(decay)); log(0) only occurs at the lower bound 0, where
    # the weights collapse to "no carry-over": keep the gradient finite there.
    safe = decay.clamp_min(1e-12).unsqueeze(-1)
    raw = torch.exp(lags * torch.log(safe))
    return raw / raw.sum(-1, keepdim=True)


def delayed_weights(decay: torch.Tensor, peak_lag: torch.Tensor, l_max: int) -> torch.Tensor:
    """Delayed geometric: ``decay**((l - peak)**2)``, for media whose effect peaks later (TV)."""
    lags = torch.arange(l_max, dtype=decay.dtype, device=decay.device)
    log_decay = torch.log(decay.clamp_min(1e-12)).unsqueeze(-1)
    raw = torch.exp((lags - peak_lag.unsqueeze(-1)) ** 2 * log_decay)
    return raw / raw.sum(-1, keepdim=True)


def weibull_weights(shape: torch.Tensor, scale: torch.Tensor, l_max: int) -> torch.Tensor:
    """Weibull-pdf lag weights: shape < 1 front-loaded, shape > 1 a delayed hump."""
    lags = torch.arange(l_max, dtype=shape.dtype, device=shape.device) + 0.5
    k = shape.unsqueeze(-1)
    lam = scale.unsqueeze(-1)
    z = lags / lam
    log_pdf = torch.log(k / lam) + (k - 1) * torch.log(z) - z**k
    return torch.softmax(log_pdf, dim=-1)


def adstock_weights(form: str, raw: torch.Tensor, l_max: int, bounds: dict) -> torch.Tensor:
    """Lag weights ``[K, C, L]`` from raw parameters ``[K, C, P]`` of the named form."""
    if form == "geometric":
        return geometric_weights(bounded(raw[..., 0], *bounds["decay"]), l_max)
    if form == "delayed":
        decay = bounded(raw[..., 0], *bounds["decay"])
        peak = bounded(raw[..., 1], 0.0, float(l_max - 1))
        return delayed_weights(decay, peak, l_max)
    if form == "weibull":
        shape = bounded(raw[..., 0], *bounds["weibull_shape"])
        scale = bounded(raw[..., 1], 0.1, float(l_max))
        return weibull_weights(shape, scale, l_max)
    raise ValueError(f"unknown adstock '{form}'; settings.model.media.adstock must be one of {ADSTOCK_FORMS}")


def adstock_decay(form: str, raw: torch.Tensor, weights: torch.Tensor, bounds: dict) -> torch.Tensor:
    """One carry-over number per channel ``[K, C]``.

    Geometric and delayed: the decay rate itself. Weibull has none, so report the share of the
    effect that lands after the spend period (``1 - w_0``), which equals the decay rate for an
    untruncated geometric adstock.
    """
    if form in ("geometric", "delayed"):
        return bounded(raw[..., 0], *bounds["decay"])
    return 1.0 - weights[..., 0]


def lag_tensor(spend: torch.Tensor, l_max: int, carry_in: torch.Tensor | None = None) -> torch.Tensor:
    """``[T, L, C]`` with ``out[t, l, c] = spend[t - l, c]``.

    Periods before the first row come from ``carry_in`` (``[T0, C]``, oldest first; its last
    ``L-1`` rows are used) or are zero. Built by indexing, so it is differentiable in ``spend``
    and ``carry_in`` (the optimizer differentiates plans through it).
    """
    t, c = spend.shape
    pad = torch.zeros(l_max - 1, c, dtype=spend.dtype, device=spend.device)
    if carry_in is not None and carry_in.shape[0] > 0:
        hist = carry_in[-(l_max - 1) :] if l_max > 1 else carry_in[:0]
        pad = torch.cat([pad[: l_max - 1 - hist.shape[0]], hist.to(spend.dtype)], 0)
    padded = torch.cat([pad, spend], 0)  # [L-1+T, C]
    idx = torch.arange(t).unsqueeze(1) + (l_max - 1) - torch.arange(l_max).unsqueeze(0)  # [T, L]
    return padded[idx]


def apply_adstock(lags: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Adstocked spend ``[K, T, C]`` from a lag tensor ``[T, L, C]`` (or ``[K, T, L, C]``)."""
    if lags.dim() == 3:
        return torch.einsum("tlc,kcl->ktc", lags, weights)
    return torch.einsum("ktlc,kcl->ktc", lags, weights)
