"""Price results beyond the raw elasticities: which bounds the fit ran into.

An elasticity bound is a prior, not a finding. When an estimate ends at its bound the data
pulled it there and would have taken it further, so the number says more about the bound than
about the market. Every such estimate is marked in elasticities.json and in the summary's price
elasticities, and the report says so beside the number.
"""

from collections.abc import Mapping
from typing import Any

from mmm_pipeline.core.wording import join_names

#: an estimate within this distance of a bound is at it (the same rule as the model's own
#: binding-constraint diagnostics)
BOUND_TOLERANCE = 0.05

Bounds = tuple[float, float]


def model_bounds(fitted: Any) -> dict[str, Bounds]:
    """Elasticity bounds the fitted model actually used, by feature name (settings applied)."""
    return {f.name: tuple(f.elasticity_bounds) for f in fitted.model.cfg.features if f.elasticity_bounds}


def bound_side(value: float | None, bounds: Bounds, tolerance: float = BOUND_TOLERANCE) -> str | None:
    """``"lower"`` or ``"upper"`` when ``value`` is at (or beyond) that bound, else None."""
    if value is None:
        return None
    lo, hi = bounds
    if value <= lo + tolerance:
        return "lower"
    if value >= hi - tolerance:
        return "upper"
    return None


def bound_note(side: str, bounds: Bounds) -> str:
    """The plain sentence shown beside an estimate that ended at its bound."""
    value = bounds[0] if side == "lower" else bounds[1]
    return f"at its {side} bound ({value:g}): the data would go further"


def mark_bounds(intervals: Mapping[str, dict], bounds: Bounds | None) -> dict[str, dict]:
    """Each interval with ``bounds`` and, when its mean sits at one, ``at_bound`` and ``note``."""
    out: dict[str, dict] = {}
    for key, iv in intervals.items():
        entry = dict(iv)
        if bounds is not None:
            entry["bounds"] = [float(bounds[0]), float(bounds[1])]
            side = bound_side(entry.get("mean"), bounds)
            entry["at_bound"] = side
            if side is not None:
                entry["note"] = bound_note(side, bounds)
        out[key] = entry
    return out


def mark_active_bounds(by_feature: Mapping[str, Mapping[str, dict]], bounds: Mapping[str, Bounds]) -> dict[str, dict]:
    """elasticities.json with every bounded feature's node entries marked (see :func:`mark_bounds`)."""
    return {feature: mark_bounds(per_node, bounds.get(feature)) for feature, per_node in by_feature.items()}


def active_bound_lines(by_feature: Mapping[str, Mapping[str, dict]]) -> list[str]:
    """One plain sentence per feature with estimates at a bound, naming the nodes."""
    lines = []
    for feature, per_node in by_feature.items():
        notes: dict[str, list[str]] = {}
        for node, iv in per_node.items():
            if isinstance(iv, dict) and iv.get("note"):
                notes.setdefault(str(iv["note"]), []).append(str(node))
        lines += [f"{feature} for {join_names(nodes)}: {note}" for note, nodes in notes.items()]
    return lines


def own_price_feature(data: Any) -> str | None:
    """The own-price feature: of kind ``decreasing``; with several, the first whose name mentions price."""
    candidates = [f.name for f in data.features if f.kind == "decreasing"]
    named = [n for n in candidates if "price" in n.lower()]
    return (named or candidates or [None])[0]
