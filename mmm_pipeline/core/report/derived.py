"""Numbers the report derives from the results files (best channel, lifts, hierarchy).

Kept apart from rendering so the executive summary, the HTML tables, the Markdown summary
and the simulator all read one interpretation of the files, and so the interpretation can
be tested without drawing anything.
"""

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmm_pipeline.core.report.inputs import ReportInputs, as_interval, finite_or_none

log = logging.getLogger(__name__)

Interval = dict[str, float | None]


@dataclass(frozen=True)
class ChannelRow:
    """One channel as the report shows it; intervals are ``{mean, lo, hi}`` or ``None``."""

    name: str
    identified: bool
    reason: str
    roas: Interval | None
    mroas: Interval | None
    spend: Interval | None
    contribution: Interval | None
    share: Interval | None
    current_spend: float | None
    saturation_spend: float | None
    decay: Interval | None
    weights: list[float]
    direct_roas: Interval | None = None  # with the mediators held (channels.json direct_effect), when any
    prior_share: float | None = None  # share of the ROAS precision the model's assumptions supply


def channel_rows(inputs: ReportInputs) -> list[ChannelRow]:
    """Channels from channels.json; summary.not_identified overrides a missing/true flag.

    Either file saying "not identified" is enough: the report errs on the side of caution.
    """
    channels = inputs.channels if isinstance(inputs.channels, dict) else {}
    flagged = set(inputs.summary.get("not_identified") or [])
    rows = []
    for name, entry in channels.items():
        if not isinstance(entry, dict):
            continue
        adstock = entry.get("adstock") if isinstance(entry.get("adstock"), dict) else {}
        identified = bool(entry.get("identified", True)) and name not in flagged
        reason = str(entry.get("reason") or ("flagged in summary.json" if name in flagged else ""))
        rows.append(
            ChannelRow(
                name=str(name),
                identified=identified,
                reason=reason,
                roas=as_interval(entry.get("roas")),
                mroas=as_interval(entry.get("mroas")),
                spend=as_interval(entry.get("spend")),
                contribution=as_interval(entry.get("contribution")),
                share=as_interval(entry.get("share")),
                current_spend=finite_or_none(entry.get("current_spend_per_period")),
                saturation_spend=finite_or_none(entry.get("saturation_spend")),
                decay=as_interval(adstock.get("decay")),
                weights=_numbers(adstock.get("weights")),
                direct_roas=as_interval((entry.get("direct_effect") or {}).get("roas")),
                prior_share=finite_or_none((entry.get("information") or {}).get("prior_share")),
            )
        )
    return rows


def not_identified_names(inputs: ReportInputs) -> list[str]:
    """Every channel flagged not identified by summary.json or channels.json, in a stable order."""
    names = [str(n) for n in inputs.summary.get("not_identified") or []]
    names += [r.name for r in channel_rows(inputs) if not r.identified and r.name not in names]
    return names


def _numbers(values: Any) -> list[float]:
    if not isinstance(values, (list, tuple)):
        return []
    out = [finite_or_none(v) for v in values]
    return [v for v in out if v is not None]


def best_channel(rows: list[ChannelRow]) -> ChannelRow | None:
    """The identified channel with the highest mean ROAS; not-identified ones never win."""
    candidates = [r for r in rows if r.identified and r.roas and r.roas["mean"] is not None]
    return max(candidates, key=lambda r: r.roas["mean"]) if candidates else None


def model_metrics(summary: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The headline out-of-sample metrics and where they come from (hold-out or walk-forward)."""
    holdout = summary.get("holdout_metrics")
    if isinstance(holdout, dict) and finite_or_none(holdout.get("r2")) is not None:
        return holdout, "final hold-out"
    overall = (summary.get("walk_forward") or {}).get("overall")
    if isinstance(overall, dict) and overall:
        return overall, "walk-forward"
    return {}, ""


def ensemble_metrics(summary: dict[str, Any]) -> dict[str, Any]:
    """The walk-forward ensemble's hold-out metrics, ``{}`` when it was off or not built."""
    block = summary.get("walk_forward_ensemble")
    metrics = block.get("holdout_metrics") if isinstance(block, dict) else None
    return metrics if isinstance(metrics, dict) else {}


def best_baseline(summary: dict[str, Any]) -> dict[str, Any] | None:
    """The baseline with the highest R², the bar the model has to clear."""
    baselines = [b for b in summary.get("baselines") or [] if isinstance(b, dict)]
    scored = [b for b in baselines if finite_or_none(b.get("r2")) is not None]
    return max(scored, key=lambda b: float(b["r2"])) if scored else None


def nothing_to_move(alloc: dict[str, Any]) -> bool:
    """Whether locks, masks and bounds pinned every channel, so there was no plan to judge."""
    return alloc.get("movable_channels") == []


def lift_fraction(alloc: dict[str, Any]) -> Interval | None:
    """The optimizer's lift as a fraction of the current mix's (media) revenue.

    ``lift_pct`` (percent) is used when present; otherwise ``lift`` is read as revenue (same
    units as ``revenue_current``) unless it is clearly a fraction already (its mean matches
    optimal/current - 1 better than optimal - current).
    """
    pct = as_interval(alloc.get("lift_pct"))
    if pct is not None and pct["mean"] is not None:
        return {k: (None if v is None else v / 100.0) for k, v in pct.items()}
    lift = as_interval(alloc.get("lift"))
    current = (as_interval(alloc.get("revenue_current")) or {}).get("mean")
    optimal = (as_interval(alloc.get("revenue_optimal")) or {}).get("mean")
    if not current:
        return lift if lift and lift["mean"] is not None and abs(lift["mean"]) < 1 else None
    implied = (optimal / current - 1.0) if optimal is not None else None
    if lift is None or lift["mean"] is None:
        return None if implied is None else {"mean": implied, "lo": None, "hi": None}
    if implied is not None and abs(lift["mean"] - implied) < abs(lift["mean"] - implied * current):
        return lift
    return {k: (None if v is None else v / current) for k, v in lift.items()}


def scenario_lift_fraction(scenario: dict[str, Any]) -> Interval | None:
    """A scenario's ``lift_pct`` (percent of its baseline) as a fraction.

    Read as percent unless ``revenue / baseline_revenue - 1`` says it is already a fraction;
    without ``lift_pct``, computed from those two revenues.
    """
    lift = as_interval(scenario.get("lift_pct"))
    revenue = (as_interval(scenario.get("revenue")) or {}).get("mean")
    baseline = (as_interval(scenario.get("baseline_revenue")) or {}).get("mean")
    implied = revenue / baseline - 1.0 if revenue is not None and baseline else None
    if lift is None or lift["mean"] is None:
        return None if implied is None else {"mean": implied, "lo": None, "hi": None}
    scale = 100.0
    if implied is not None and abs(lift["mean"] - implied) < abs(lift["mean"] - 100.0 * implied):
        scale = 1.0
    return {k: (None if v is None else v / scale) for k, v in lift.items()}


def allocation_changes(alloc: dict[str, Any]) -> list[dict[str, Any]]:
    """Per channel current and optimal spend per period, change as a fraction, action, lock.

    Uses ``current_per_period``/``optimal_per_period`` when the writer gives them (current and
    optimal are then horizon totals) and computes the change from the spends themselves.
    """
    horizon = finite_or_none(alloc.get("horizon_periods"))
    rows = []
    for name, entry in (alloc.get("channels") or {}).items():
        if not isinstance(entry, dict):
            continue
        current = finite_or_none(entry.get("current_per_period"))
        optimal = finite_or_none(entry.get("optimal_per_period"))
        if current is None and horizon and finite_or_none(entry.get("current")) is not None:
            current = float(entry["current"]) / horizon
        if optimal is None and horizon and finite_or_none(entry.get("optimal")) is not None:
            optimal = float(entry["optimal"]) / horizon
        change = optimal / current - 1.0 if current and optimal is not None else None
        rows.append({"channel": str(name), "current": current, "optimal": optimal, "change": change,
                     "action": str(entry.get("action") or _action(change)), "locked": bool(entry.get("locked"))})
    return rows


def _action(change: float | None) -> str:
    if change is None or abs(change) < 0.005:
        return "maintain"
    return "increase" if change > 0 else "decrease"


def node_categories(inputs: ReportInputs) -> dict[str, str]:
    """``{node: category}`` for the hierarchy view.

    Sources, in order: ``summary.node_category`` (``{node: category}``), a ``category`` column
    in decomposition.csv, then node names that start with a known category name. Nodes with no
    category found map to themselves.
    """
    explicit = inputs.summary.get("node_category")
    nodes = all_nodes(inputs)
    if isinstance(explicit, dict) and explicit:
        return {str(k): str(v) for k, v in explicit.items()}
    frame = inputs.decomposition
    if frame is not None and "category" in frame.columns:
        pairs = frame[["node", "category"]].drop_duplicates()
        return dict(zip(pairs["node"].astype(str), pairs["category"].astype(str)))
    categories = [k for k in (inputs.summary.get("price_elasticity") or {}) if k not in nodes]
    mapping = {}
    for node in nodes:
        match = [c for c in categories if node.startswith(c) and node != c]
        mapping[node] = max(match, key=len) if match else node
    return mapping


def all_nodes(inputs: ReportInputs) -> list[str]:
    """Hierarchy nodes in first-seen order, from decomposition.csv or elasticities.json."""
    if inputs.decomposition is not None:
        return list(dict.fromkeys(inputs.decomposition["node"].astype(str)))
    nodes: dict[str, None] = {}
    for per_node in (inputs.elasticities or {}).values():
        if isinstance(per_node, dict):
            nodes.update(dict.fromkeys(map(str, per_node)))
    return list(nodes)


def price_elasticity_split(inputs: ReportInputs) -> tuple[dict[str, Interval], dict[str, Interval]]:
    """summary.price_elasticity split into (categories, sub-category nodes).

    The summary mixes node and category keys. A key is a sub-category when it is a data node
    and either maps to a different category or other keys (the categories) are not nodes; a
    category-level model (every key is a node of its own) reports all keys as categories.
    """
    raw = inputs.summary.get("price_elasticity") or {}
    nodes = set(all_nodes(inputs))
    mapping = node_categories(inputs)
    has_category_keys = any(str(k) not in nodes for k in raw)
    cats: dict[str, Interval] = {}
    leaf: dict[str, Interval] = {}
    for key, value in raw.items():
        iv = as_interval(value)
        if iv is None or iv["mean"] is None:
            continue
        key = str(key)
        is_leaf = key in nodes and (mapping.get(key, key) != key or has_category_keys)
        (leaf if is_leaf else cats)[key] = iv
    return cats, leaf


def own_price_feature(inputs: ReportInputs) -> str | None:
    """The feature in elasticities.json whose per-node values are summary.price_elasticity's.

    Matching by value rather than name keeps working whatever the feature builder calls the
    own-price feature; falls back to a name containing "price".
    """
    raw = inputs.summary.get("price_elasticity") or {}
    elasticities = inputs.elasticities if isinstance(inputs.elasticities, dict) else {}
    best, best_err = None, np.inf
    for feature, per_node in elasticities.items():
        if not isinstance(per_node, dict):
            continue
        shared = [k for k in per_node if k in raw]
        if not shared:
            continue
        errs = [_mean_gap(per_node[k], raw[k]) for k in shared]
        err = float(np.mean(errs))
        if err < best_err:
            best, best_err = str(feature), err
    if best is not None and best_err < 1e-6:
        return best
    named = [str(f) for f in elasticities if "price" in str(f).lower()]
    return named[0] if named else best


def _mean_gap(a: Any, b: Any) -> float:
    ia, ib = as_interval(a), as_interval(b)
    if not ia or not ib or ia["mean"] is None or ib["mean"] is None:
        return np.inf
    return abs(ia["mean"] - ib["mean"])


def interval_excludes_zero(iv: Interval | None) -> bool:
    """True when both bounds are known and on the same side of zero."""
    if not iv or iv["lo"] is None or iv["hi"] is None:
        return False
    return iv["lo"] > 0 or iv["hi"] < 0
