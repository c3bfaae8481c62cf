"""Business sanity checks: a model can fit well and still say something no marketer believes.

Each check is a plain function returning ``SanityResult(passed, message, metadata)`` (a named
tuple, so ``passed, message, meta = check(...)`` works). :func:`sanity_checks` runs all of them
against a fitted NAM; the functions themselves take plain numbers so they are testable alone.
"""

import logging
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from mmm_pipeline.core.features.model_data import ModelData

log = logging.getLogger(__name__)


class SanityResult(NamedTuple):
    passed: bool
    message: str
    metadata: dict[str, Any]


def check_price_elasticity(
    elasticity: Mapping[str, float], bounds: tuple[float, float], feature: str = "price"
) -> SanityResult:
    """Own-price elasticity of every node inside ``bounds`` (e.g. [-3, -0.5]).

    Outside the range either the data cannot identify price (too little price variation) or
    something else moves with price (promotions, stock-outs); both deserve a human look.
    """
    lo, hi = float(min(bounds)), float(max(bounds))
    values = {str(k): float(v) for k, v in elasticity.items()}
    if not values:
        return SanityResult(False, f"no elasticity values for '{feature}'", {"bounds": [lo, hi]})
    outside = {k: v for k, v in values.items() if not (lo <= v <= hi) or not np.isfinite(v)}
    meta = {"feature": feature, "bounds": [lo, hi], "values": values, "outside": outside}
    if outside:
        listed = ", ".join(f"{k} {v:.2f}" for k, v in sorted(outside.items()))
        return SanityResult(False, f"{feature} elasticity outside {lo:g} to {hi:g} for {listed}", meta)
    return SanityResult(True, f"{feature} elasticity within {lo:g} to {hi:g} for all {len(values)} nodes", meta)


def check_media_share(media_contribution: float, total_prediction: float, share_range: tuple[float, float]) -> SanityResult:
    """Paid media's share of predicted revenue inside ``share_range`` (default 10%-40%).

    Published MMMs rarely attribute under 10% or over 40% of sales to paid media; outside that a
    model is more likely mistaking trend or seasonality for media (or the reverse).
    """
    lo, hi = float(min(share_range)), float(max(share_range))
    if total_prediction == 0 or not np.isfinite(total_prediction):
        return SanityResult(False, "total prediction is zero; media share undefined", {"range": [lo, hi]})
    share = float(media_contribution) / float(total_prediction)
    meta = {"share": share, "range": [lo, hi], "media_contribution": float(media_contribution),
            "total_prediction": float(total_prediction)}
    if lo <= share <= hi:
        return SanityResult(True, f"media share {share:.1%} within [{lo:.0%}, {hi:.0%}]", meta)
    side = "below" if share < lo else "above"
    return SanityResult(False, f"media share {share:.1%} is {side} the range [{lo:.0%}, {hi:.0%}]", meta)


def check_diminishing_returns(
    channel: str, spend_grid: np.ndarray, response: np.ndarray, tolerance: float = 1e-6
) -> SanityResult:
    """Marginal response non-increasing past the curve's inflection point.

    ``response`` is the contribution at each ``spend_grid`` point (increasing grid). An
    S-curve may accelerate up to its inflection (the steepest point); after it, each extra
    unit of money must buy no more than the previous one. ``tolerance`` is relative to the
    largest marginal response, to absorb float noise.
    """
    x = np.asarray(spend_grid, dtype=float)
    y = np.asarray(response, dtype=float)
    if x.ndim != 1 or x.shape != y.shape or x.size < 3:
        raise ValueError(f"{channel}: need matching 1-D spend grid and response of >= 3 points, got {x.shape}, {y.shape}")
    if np.any(np.diff(x) <= 0):
        raise ValueError(f"{channel}: spend grid must be strictly increasing")
    marginal = np.diff(y) / np.diff(x)
    scale = max(float(np.max(np.abs(marginal))), 1e-300)
    step = np.diff(marginal)
    falls = np.flatnonzero(step < -tolerance * scale)
    rises = np.flatnonzero(step > tolerance * scale)
    meta: dict[str, Any] = {"channel": channel}
    if falls.size == 0:
        if rises.size:
            meta["inflection_spend"] = None
            return SanityResult(False, f"{channel}: marginal response keeps rising up to spend {x[-1]:.4g}; "
                                       "no diminishing returns on the grid", meta)
        return SanityResult(True, f"{channel}: constant marginal response (linear) on the grid", meta)
    peak = int(falls[0])  # the first fall of the marginal response is the inflection
    meta.update(inflection_spend=float(x[peak]), max_marginal=float(marginal[peak]))
    later = rises[rises >= peak]
    if later.size:
        at = float(x[later[0] + 1])
        meta["increase_at_spend"] = at
        return SanityResult(False, f"{channel}: marginal response rises again at spend {at:.4g}, past the "
                                   f"inflection at {x[peak]:.4g}", meta)
    return SanityResult(True, f"{channel}: diminishing returns past spend {x[peak]:.4g}", meta)


def _price_bounds(data: ModelData, settings: Mapping[str, Any], feature: str) -> tuple[float, float]:
    spec = data.features[data.feature_index(feature)]
    if spec.elasticity_bounds is not None:
        return spec.elasticity_bounds
    bounds = dict((settings.get("model") or {}).get("elasticity_bounds") or {})
    chosen = bounds.get(feature, bounds.get(spec.kind))
    if chosen is None:
        raise ValueError(f"no elasticity range for '{feature}': set model.elasticity_bounds.{spec.kind}")
    return float(chosen[0]), float(chosen[1])


def sanity_checks(fitted: Any, data: ModelData, settings: Mapping[str, Any], grid_points: int = 41) -> dict[str, SanityResult]:
    """Every sanity check for a fitted NAM on ``data`` (member means), keyed by check name."""
    out: dict[str, SanityResult] = {}
    for spec in data.features:
        if spec.kind == "decreasing":  # own price
            values = np.asarray(fitted.elasticity(spec.name, data), dtype=float).mean(axis=0)
            out[f"price_elasticity:{spec.name}"] = check_price_elasticity(
                dict(zip(data.nodes, values)), _price_bounds(data, settings, spec.name), spec.name
            )
    if data.channel_names:
        share_range = tuple((settings.get("sanity") or {}).get("media_share_range", (0.10, 0.40)))
        decomposition = fitted.decompose(data)
        media = [i for i, name in enumerate(decomposition.feature_names) if name in data.channel_names]
        contribution = float(np.asarray(decomposition.contributions)[..., media].sum(axis=(1, 2, 3)).mean())
        total = float(np.asarray(fitted.predict(data)).sum(axis=(1, 2)).mean())
        out["media_share"] = check_media_share(contribution, total, share_range)  # type: ignore[arg-type]
        spend = data.spend
        for c, channel in enumerate(data.channel_names):
            top = 3.0 * float(np.max(spend[:, c])) if np.max(spend[:, c]) > 0 else 1.0
            grid = np.linspace(0.0, top, grid_points)
            curve = np.asarray(fitted.response_curve(channel, grid, data), dtype=float).mean(axis=0)
            out[f"diminishing_returns:{channel}"] = check_diminishing_returns(channel, grid, curve)
    for name, result in out.items():
        (log.info if result.passed else log.warning)("sanity %s: %s", name, result.message)
    return out
