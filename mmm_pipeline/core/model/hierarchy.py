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
    deviations: torch.Tensor,
    mode: str,
    strength: float,
    sigma_raw: torch.Tensor | None = None,
    groups: torch.Tensor | None = None,
    sigma_bounds: tuple[float, float] = (0.01, 1.0),
) -> torch.Tensor:
    """``[K]`` penalty of all deviations ``[K, D_dev]`` at once.

    ``groups [D_dev, S]`` maps each deviation to its prior scale ``sigma_raw [K, S]`` (one per
    feature and parameter tensor). The constant ``n log sigma_min`` is subtracted so the
    penalty is 0 when every deviation is 0 and every scale sits at its lower bound.
    """
    k = deviations.shape[0]
    if deviations.shape[1] == 0 or mode == "mix":
        return torch.zeros(k, dtype=deviations.dtype)
    sq = deviations.pow(2)
    if mode == "fixed":
        return strength * sq.sum(-1)
    sigma = sigma_from_raw(sigma_raw, sigma_bounds)  # [K, S]
    count = groups.sum(0)  # [S]
    per_group = sq @ groups  # [K, S]
    return (per_group / (2 * sigma**2) + count * torch.log(sigma / sigma_bounds[0])).sum(-1)
