"""Known media response functions (geometric adstock + Hill) behind the model's media API.

Regret studies need the *true* optimum: the optimizer run on the functions that generated the
data. Wrapping those functions (from the simulator's truth.json, or any parameters) in the
same ``media_revenue`` / ``response_curve`` interface as a FittedNAM lets the one optimizer
compute both the recommended plan (on the fitted model) and the true optimum (on this), and
lets a plan be scored with the truth. With K parameter sets it is also a fast, exact stand-in
for a bootstrap ensemble when testing the optimizer's constraint handling.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


def _as_km(values: Any, k: int | None = None) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if arr.ndim == 1:
        arr = arr[None, :]
    if k is not None and arr.shape[0] == 1 and k > 1:
        arr = np.repeat(arr, k, axis=0)
    return arr


@dataclass
class HillMediaResponse:
    """K members x C channels of normalised geometric adstock followed by Hill saturation.

    Contribution per period of channel c: ``coefficient * a^s / (a^s + half^s)`` with ``a`` the
    adstocked spend (weights ``decay**l`` normalised to sum to 1 over ``l < l_max``), summed over
    nodes. Parameter arrays are ``[K, C]`` (a ``[C]`` array means one member).
    """

    channel_names: list[str]
    decay: np.ndarray
    half_saturation: np.ndarray
    slope: np.ndarray
    coefficient: np.ndarray
    l_max: int
    dtype: torch.dtype = torch.float64

    def __post_init__(self) -> None:
        arrays = [_as_km(a) for a in (self.decay, self.half_saturation, self.slope, self.coefficient)]
        k = max(a.shape[0] for a in arrays)
        self.decay, self.half_saturation, self.slope, self.coefficient = (_as_km(a, k) for a in arrays)
        shapes = {a.shape for a in (self.decay, self.half_saturation, self.slope, self.coefficient)}
        if shapes != {(k, len(self.channel_names))}:
            raise ValueError(f"parameter arrays must all be [K, {len(self.channel_names)}], got {sorted(shapes)}")
        if np.any((self.decay < 0) | (self.decay >= 1)) or np.any(self.half_saturation <= 0) or np.any(self.slope <= 0):
            raise ValueError("need 0 <= decay < 1, half_saturation > 0 and slope > 0")

    @classmethod
    def from_true_model(cls, true_model: Any) -> "HillMediaResponse":
        """One member with the simulator's true parameters (``mmm_pipeline.core.data.simulator_truth.TrueModel``)."""
        return cls(
            channel_names=list(true_model.channels),
            decay=true_model.decay,
            half_saturation=true_model.half_saturation,
            slope=true_model.slope,
            coefficient=true_model.coefficient,
            l_max=int(true_model.l_max),
        )

    @property
    def n_models(self) -> int:
        return int(self.decay.shape[0])

    def member(self, k: int) -> "HillMediaResponse":
        return HillMediaResponse(
            self.channel_names, self.decay[k], self.half_saturation[k], self.slope[k], self.coefficient[k], self.l_max, self.dtype
        )

    def adstock_weights(self) -> np.ndarray:
        """``[K, C, L]`` normalised weights, lag 0 first."""
        w = self.decay[:, :, None] ** np.arange(self.l_max)[None, None, :]
        return w / w.sum(axis=-1, keepdims=True)

    def saturation_params(self) -> dict[str, np.ndarray]:
        return {"half_saturation": self.half_saturation, "slope": self.slope, "coefficient": self.coefficient}

    def _t(self, arr: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(arr, dtype=self.dtype)

    def _hill(self, adstocked: torch.Tensor) -> torch.Tensor:
        """``adstocked [K, H, C]`` -> contribution ``[K, H, C]``."""
        half, slope, coef = (self._t(a)[:, None, :] for a in (self.half_saturation, self.slope, self.coefficient))
        ratio = torch.pow(torch.clamp(adstocked, min=0.0) / half + 1e-30, slope)
        return coef * ratio / (1.0 + ratio)

    def media_revenue(self, history_spend: torch.Tensor, plan: torch.Tensor, data: Any = None) -> torch.Tensor:
        """``[K, H]`` media contribution of ``plan [(K,) H, C]`` following ``history_spend [T0, C]``."""
        k, lags = self.n_models, self.l_max
        plan = plan.to(self.dtype)
        if plan.dim() == 2:
            plan = plan.unsqueeze(0).expand(k, -1, -1)
        hist = history_spend.to(self.dtype)[-(lags - 1):] if lags > 1 else history_spend.new_zeros(0, plan.shape[-1])
        pad = hist.new_zeros(lags - 1 - hist.shape[0], plan.shape[-1])
        prefix = torch.cat([pad, hist], dim=0).unsqueeze(0).expand(k, -1, -1)
        full = torch.cat([prefix, plan], dim=1)  # [K, L-1+H, C]
        windows = full.unfold(1, lags, 1)  # [K, H, C, L], last entry is lag 0
        weights = self._t(self.adstock_weights()).flip(-1)[:, None, :, :]  # [K, 1, C, L]
        adstocked = (windows * weights).sum(-1)
        return self._hill(adstocked).sum(-1)

    def _hill_ratio(self, spend: np.ndarray) -> np.ndarray:
        """``[K, T, C]`` Hill ratio ``(a / half)^slope`` of the adstocked ``[T, C]`` spend history (zero before it)."""
        padded = np.vstack([np.zeros((self.l_max - 1, spend.shape[1])), spend])
        windows = np.lib.stride_tricks.sliding_window_view(padded, self.l_max, axis=0)  # [T, C, L], lag 0 last
        adstocked = np.einsum("tcl,kcl->ktc", windows, self.adstock_weights()[:, :, ::-1])
        return (adstocked / self.half_saturation[:, None, :]) ** self.slope[:, None, :]

    def returns(self, spend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``[K, C]`` ROAS and marginal ROAS of each channel over a ``[T, C]`` spend history.

        The same definitions as channels.json (ROAS: contribution / spend; mROAS: revenue from
        one more unit of money spread over the periods in proportion to their spend), for known
        curves: lets studies hand the optimizer the evidence a fitted model would, at a precision
        they control. Adstock is linear, so scaling spend by ``1 + e`` scales the Hill ratio
        ``r`` by ``(1 + e)^slope`` and the derivative per period is ``coef * slope * r / (1 + r)^2``.
        """
        s = np.asarray(spend, dtype=float)
        ratio = self._hill_ratio(s)
        coef, slope = self.coefficient[:, None, :], self.slope[:, None, :]
        total = np.where(s.sum(axis=0) > 0, s.sum(axis=0), np.nan)
        roas = (coef * ratio / (1.0 + ratio)).sum(axis=1) / total
        mroas = (coef * slope * ratio / (1.0 + ratio) ** 2).sum(axis=1) / total
        return roas, mroas

    def response_curve(self, channel: str, spend_grid: np.ndarray, data: Any = None) -> np.ndarray:
        """``[K, G]`` steady-state contribution per period at each constant spend."""
        c = self.channel_names.index(channel)
        grid = np.asarray(spend_grid, dtype=float)[None, :]
        ratio = (grid / self.half_saturation[:, c : c + 1]) ** self.slope[:, c : c + 1]
        return self.coefficient[:, c : c + 1] * ratio / (1.0 + ratio)

    def marginal_response(self, spend_per_period: np.ndarray) -> np.ndarray:
        """``[K, C]`` steady-state d contribution / d spend at a constant spend per channel."""
        x = np.maximum(np.asarray(spend_per_period, dtype=float)[None, :], 1e-300)
        ratio = (x / self.half_saturation) ** self.slope
        return self.coefficient * self.slope * ratio / (x * (1.0 + ratio) ** 2)
