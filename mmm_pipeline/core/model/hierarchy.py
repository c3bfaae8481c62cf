"""Partial pooling of curves across the product hierarchy.

Every node-level parameter is ``category value + node deviation``: sub-categories of one
category share the category's curve and move away from it only as far as their own data
justify. The category value is gathered with an index tensor (``node_category``), never a
Python loop over nodes. Pooling modes (``settings.model.pooling.mode``):

- ``learned``: deviations get a Gaussian prior whose scale ``sigma`` (per feature and
  parameter) is learned: penalty ``||dev||^2 / (2 sigma^2) + n log sigma``. ``sigma`` lives
  inside ``pooling.sigma_bounds``; the lower bound stops the well-known collapse of a learned
  prior scale to zero (the penalty is unbounded below there).
- ``fixed``: penalty ``strength * ||dev||^2``.
- ``mix``: no penalty; each node's curve is ``mix_weight`` x category curve + the rest x its
  own curve (the 70/30 option). A convex mix of monotone curves stays monotone.

Without sub-levels (one node per category, or a single node) there are no deviations.
"""

import math

import torch

POOLING_MODES = ("learned", "fixed", "mix")


def node_values(category: torch.Tensor, deviation: torch.Tensor | None, node_category: torch.Tensor) -> torch.Tensor:
    """``[K, N, ...]`` node parameters from ``[K, G, ...]`` category values and ``[K, N, ...]`` deviations."""
    gathered = category.index_select(1, node_category)
    return gathered if deviation is None else gathered + deviation


def category_values(category: torch.Tensor, node_category: torch.Tensor) -> torch.Tensor:
    """The category value seen by every node (for the ``mix`` mode's category curve)."""
    return category.index_select(1, node_category)


def sigma_from_raw(raw: torch.Tensor, bounds: tuple[float, float]) -> torch.Tensor:
    lo, hi = bounds
    return lo + (hi - lo) * torch.sigmoid(raw)


def sigma_raw_init(value: float, bounds: tuple[float, float]) -> float:
    lo, hi = bounds
    p = min(max((value - lo) / (hi - lo), 1e-3), 1 - 1e-3)
    return math.log(p / (1 - p))


def deviation_penalty(
    deviation: torch.Tensor,
    mode: str,
    strength: float,
    sigma_raw: torch.Tensor | None = None,
    sigma_bounds: tuple[float, float] = (0.01, 1.0),
) -> torch.Tensor:
    """``[K]`` penalty of deviations ``[K, N, F, ...]`` (feature axis 2; ``sigma_raw [K, F]``)."""
    k, n, f = deviation.shape[:3]
    sq = deviation.pow(2).reshape(k, n, f, -1).sum(dim=(1, 3))  # [K, F]
    if mode == "fixed":
        return strength * sq.sum(-1)
    if mode == "learned":
        sigma = sigma_from_raw(sigma_raw, sigma_bounds)
        count = deviation[0].numel() / f
        return (sq / (2 * sigma**2) + count * torch.log(sigma)).sum(-1) - f * count * math.log(sigma_bounds[0])
    return torch.zeros(k, dtype=deviation.dtype)
