"""Data for the in-page budget simulator (templates/simulator.js).

The page predicts revenue from the exported response curves alone: a curve gives the
steady-state contribution per period at a spend level, so revenue at a plan is a base
(everything that is not paid media) plus the interpolated curves. Adstock weights ride along
so the page can also show the ramp-up over the planning horizon: with weights that sum to
one, a constant spend reaches the curve's level once the carry-over window has filled. Each
category with a revenue price elasticity gets a list-price slider: its revenue over the horizon
moves by ``(1 + change) ** elasticity``, within ``PRICE_RANGE`` of today's price.
"""

import json
import logging
from typing import Any

import numpy as np

from mmm_pipeline.core.report.derived import ChannelRow
from mmm_pipeline.core.report.formatting import period_word
from mmm_pipeline.core.report.inputs import ReportInputs, finite_or_none

log = logging.getLogger(__name__)

#: planning horizon when optimal_allocation.json does not say (a quarter)
DEFAULT_HORIZON = {"daily": 90, "weekly": 13, "monthly": 3}
#: warn when a plan puts a channel beyond this fraction of its saturation spend
SATURATION_WARNING = 0.8
#: the price sliders move a category's list price by at most this share either way: elasticities
#: are measured on the price moves the data saw, and far beyond them the curve is extrapolation
PRICE_RANGE = 0.2


def simulator_payload(inputs: ReportInputs, rows: list[ChannelRow]) -> dict[str, Any] | None:
    """Everything simulator.js needs, or ``None`` when there are no usable response curves."""
    curves = inputs.response_curves if isinstance(inputs.response_curves, dict) else {}
    by_name = {r.name: r for r in rows}
    channels = [c for c in (_channel(name, curve, by_name.get(name)) for name, curve in curves.items()) if c]
    if not channels:
        return None
    frequency = str(inputs.summary.get("frequency") or "")
    alloc = inputs.optimal_allocation if isinstance(inputs.optimal_allocation, dict) else {}
    horizon = int(finite_or_none(alloc.get("horizon_periods")) or DEFAULT_HORIZON.get(frequency, 13))
    base, base_source = _base_per_period(inputs, channels, horizon)
    prices = _prices(inputs, horizon) if base is not None else []
    return {
        "period": period_word(frequency),
        "horizon": horizon,
        "base_per_period": base,
        "base_source": base_source,
        "saturation_warning": SATURATION_WARNING,
        "has_optimal": any(c["optimal"] is not None for c in channels),
        "channels": channels,
        "prices": prices,
        "price_range": PRICE_RANGE,
    }


def _channel(name: str, curve: Any, row: ChannelRow | None) -> dict[str, Any] | None:
    """One channel's curve and markers; drops a curve the page could not interpolate."""
    if not isinstance(curve, dict):
        return None
    spend = np.asarray(curve.get("spend") or [], dtype=float)
    mean = np.asarray(curve.get("mean") or [], dtype=float)
    if spend.size < 2 or spend.shape != mean.shape or not np.isfinite(spend).all() or not np.isfinite(mean).all():
        log.warning("report: response curve for %s is unusable (spend %s, mean %s)", name, spend.shape, mean.shape)
        return None
    order = np.argsort(spend, kind="stable")
    current = finite_or_none(curve.get("current_spend"))
    if current is None and row is not None:
        current = row.current_spend
    saturation = finite_or_none(curve.get("saturation_spend"))
    if saturation is None and row is not None:
        saturation = row.saturation_spend
    weights = row.weights if row is not None and row.weights else [1.0]
    total = sum(weights)
    return {
        "name": str(name),
        "spend": spend[order].tolist(),
        "mean": mean[order].tolist(),
        "current": current if current is not None else 0.0,
        "optimal": finite_or_none(curve.get("optimal_spend")),
        "saturation_spend": saturation,
        "max": float(spend.max()),
        "weights": [w / total for w in weights] if total > 0 else [1.0],
        "identified": True if row is None else row.identified,
    }


def _base_per_period(inputs: ReportInputs, channels: list[dict[str, Any]], horizon: int) -> tuple[float | None, str]:
    """Revenue per period that is not paid media, so the page can show revenue, not just media.

    Taken from decomposition.csv: predicted revenue minus the media columns, averaged over the
    last ``horizon`` periods (the same run-rate window as "current spend"). The optimizer's
    revenue figures cannot serve: they are media revenue only. ``None`` without the file.
    """
    frame = inputs.decomposition
    if frame is None:
        return None, ""
    media_cols = [c["name"] for c in channels if c["name"] in frame.columns]
    if not media_cols:
        return None, ""
    per_date = frame.groupby("date")[["predicted", *media_cols]].sum().sort_index().tail(horizon)
    non_media = float((per_date["predicted"] - per_date[media_cols].sum(axis=1)).mean())
    return non_media, f"the model's non-media revenue, averaged over the last {len(per_date)} periods"


def _prices(inputs: ReportInputs, horizon: int) -> list[dict[str, Any]]:
    """Per category: its predicted revenue per period (decomposition.csv, the same run-rate window
    as the base) and its revenue price elasticity with interval (summary.price_elasticity), so the
    page can move a category's list price: revenue x (1 + change) ** elasticity."""
    frame = inputs.decomposition
    elasticity = inputs.summary.get("price_elasticity") or {}
    if frame is None or "category" not in frame.columns or not isinstance(elasticity, dict):
        return []
    per_date = frame.groupby(["date", "category"])["predicted"].sum().unstack("category").sort_index().tail(horizon)
    out = []
    for category in per_date.columns:
        iv = elasticity.get(str(category)) or {}
        mean = finite_or_none(iv.get("mean"))
        if mean is None:
            continue
        out.append({"category": str(category), "revenue_per_period": float(per_date[category].mean()),
                    "elasticity": mean, "lo": finite_or_none(iv.get("lo")), "hi": finite_or_none(iv.get("hi"))})
    return out


def payload_json(payload: dict[str, Any]) -> str:
    """JSON safe to place inside ``<script type="application/json">`` (no ``</script>`` breakout)."""
    text = json.dumps(_finite(payload), allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    return value
