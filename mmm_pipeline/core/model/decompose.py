"""Exact decomposition of every prediction into a base and one contribution per driver.

Level target scale (default): the model is additive in ``y / mean_n``, so each driver's
revenue contribution is ``mean_n * f(x)``. Non-media contributions are centred at their
training mean (an average day of discount or NPS is part of the base, deviations from it are
the driver's effect); media is not centred because zero spend is a real reference point.

Log target scale: ``y_hat = base * exp(S)`` with ``S = sum_f c_f`` the centred log
contributions and ``base = mean_n * exp(intercept + time terms)``. The multiplicative lift
``base * (exp(S) - 1)`` is allocated to drivers in proportion to their log contributions:

    contribution_f = base * c_f * (exp(S) - 1) / S        ((exp(S)-1)/S := 1 at S = 0)

which sums to ``y_hat - base`` exactly, is symmetric in the drivers (no ordering), keeps each
driver's sign, and reduces to the level-scale answer when effects are small. Time terms are
split off the base the same way.

``predict`` is defined as ``base + contributions.sum(-1)`` (float64), so the identity holds
to the last bit.
"""

from dataclasses import dataclass

import numpy as np
import torch

from mmm_pipeline.core.model.nam import NAM, NAMOutput
from mmm_pipeline.core.model.scaling import ModelInputs


@dataclass
class Decomposition:
    base: np.ndarray  # [K, T, N]
    contributions: np.ndarray  # [K, T, N, F] data features, data order
    feature_names: list[str]
    base_parts: dict[str, np.ndarray]  # name -> [K, T, N], sums to base

    @property
    def prediction(self) -> np.ndarray:
        return self.base + self.contributions.sum(-1)


def expm1_ratio(s: np.ndarray) -> np.ndarray:
    """``(exp(s) - 1) / s`` with its limit 1 at ``s = 0`` (series near zero for accuracy)."""
    small = np.abs(s) < 1e-6
    safe = np.where(small, 1.0, s)
    return np.where(small, 1.0 + s / 2.0 + s * s / 6.0, np.expm1(safe) / safe)


TIME_PART = {"trend": "trend", "season": "seasonality", "weekday": "weekday"}


def _time_part(name: str) -> str:
    return next(part for prefix, part in TIME_PART.items() if name.startswith(prefix))


def decompose_output(model: NAM, out: NAMOutput, centring: np.ndarray) -> Decomposition:
    """Decomposition from one forward pass. ``centring [K, N, F_model]`` are training means (media: 0)."""
    feats = model.cfg.features
    contrib = model.feature_contributions(out).detach().double().numpy()  # [K, T, N, F]
    contrib = contrib - centring[:, None, :, :]
    bias = out.bias.detach().double().numpy()[:, None, :]  # [K, 1, N]
    intercept = bias + centring.sum(-1)[:, None, :]
    data_idx = [i for i, f in enumerate(feats) if f.source == "data"]
    parts_idx: dict[str, list[int]] = {}
    for i, f in enumerate(feats):
        if f.source == "time":
            parts_idx.setdefault(_time_part(f.name), []).append(i)
    m = model.scalers.target_mean[None, None, :]
    k, t, n, _ = contrib.shape
    intercept = np.broadcast_to(intercept, (k, t, n))
    time_parts = {p: contrib[..., ii].sum(-1) for p, ii in parts_idx.items()}
    drivers = contrib[..., data_idx]
    if model.cfg.target_scale == "level":
        base_parts = {"intercept": m * intercept, **{p: m * v for p, v in time_parts.items()}}
        base = sum(base_parts.values())
        return Decomposition(base, m[..., None] * drivers, [feats[i].name for i in data_idx], base_parts)
    level0 = m * np.exp(intercept)
    base_parts = {"intercept": level0}
    if time_parts:
        s_time = sum(time_parts.values())
        ratio = level0 * expm1_ratio(s_time)
        base_parts.update({p: ratio * v for p, v in time_parts.items()})
    base = sum(base_parts.values())
    s = drivers.sum(-1)
    contributions = (base * expm1_ratio(s))[..., None] * drivers
    return Decomposition(base, contributions, [feats[i].name for i in data_idx], base_parts)


@torch.no_grad()
def training_centring(model: NAM, inputs: ModelInputs, train_mask: np.ndarray) -> np.ndarray:
    """``[K, N, F]`` mean contribution of each non-media feature over the training periods."""
    out = model(inputs)
    rows = torch.as_tensor(np.asarray(train_mask, dtype=bool))
    k, _, n = out.eta.shape
    means = np.zeros((k, n, len(model.cfg.features)))
    for fam, g in out.groups.items():  # one family at a time: never a [K, T, N, F] tensor
        means[..., model.index[fam]] = g.contributions[:, rows].double().mean(1).numpy()
    if out.linear is not None:
        means[..., model.index["linear"]] = out.linear[:, rows].double().mean(1).numpy()
    return means
