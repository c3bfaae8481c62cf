"""Pricing answers: what a list-price change per category does to its revenue and profit.

Each scenario replays the most recent periods (the optimizer's horizon, as the other scenarios
do) with one category's list prices changed by a few percent and the discount held. The demand
fit (:mod:`mmm_pipeline.core.infer.demand`) predicts units with every bootstrap replicate, both
as it ran and as changed; revenue = selling price x units, so a 5% higher price earns 5% more
on every unit still sold. Profit needs the gross margin (``price_scenarios.margin``, else
``optimizer.margin``): a unit costs (1 - margin) x its current selling price, so profit =
revenue - unit cost x units. Differences are paired per replicate, so the intervals hold the
uncertainty of the price response, not of the base. Other categories' response through their
cross-price terms is left out (a note says so).
"""

import logging
from dataclasses import replace
from typing import Any

import numpy as np

from mmm_pipeline.core.infer.demand import DemandFit
from mmm_pipeline.core.infer.intervals import interval_dict, probability_positive
from mmm_pipeline.core.infer.price import own_price_feature
from mmm_pipeline.core.plan.horizon import horizon_periods
from mmm_pipeline.core.plan.scenarios import outcome_fields

log = logging.getLogger(__name__)

DEFAULT_CHANGES = (-0.10, -0.05, 0.05, 0.10)


def price_scenario_settings(settings: dict[str, Any]) -> tuple[list[float], float | None]:
    """``(changes, margin)`` from ``settings.price_scenarios`` (margin falls back to ``optimizer.margin``)."""
    section = dict(settings.get("price_scenarios") or {})
    changes = [float(c) for c in section.get("changes", DEFAULT_CHANGES)]
    bad = [c for c in changes if c <= -1.0]
    if bad:
        raise ValueError(f"settings.price_scenarios.changes are fractions above -1 (e.g. -0.05 for 5% lower); got {bad}")
    margin = section.get("margin", (settings.get("optimizer") or {}).get("margin"))
    if margin is not None and not 0.0 < float(margin) <= 1.0:
        raise ValueError(f"settings.price_scenarios.margin is the gross margin as a fraction of revenue (0 to 1); got {margin}")
    return changes, None if margin is None else float(margin)


def price_scenarios(fit: DemandFit, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """One scenarios.json entry per category and price change (see the module docstring)."""
    feature = own_price_feature(fit.data)
    if feature is None:
        return []
    changes, margin = price_scenario_settings(settings)
    level = float((settings.get("bootstrap") or {}).get("level", 0.95))
    data = fit.data
    periods = min(horizon_periods(settings, data.frequency), len(data.dates))
    selling = fit.revenue[-periods:] / data.y[-periods:]  # [P, N] money per unit as it ran
    base_units = np.asarray(fit.fitted.predict(data), dtype=float)[:, -periods:]  # [K, P, N]
    out = []
    for j, category in enumerate(data.categories):
        members = data.category_index == j
        for change in changes:
            x = data.X.copy()
            x[-periods:, members, data.feature_index(feature)] *= 1.0 + change
            units = np.asarray(fit.fitted.predict(replace(data, X=x)), dtype=float)[:, -periods:]
            out.append(_entry(category, change, members, selling, base_units, units, margin, data, periods, level))
    log.info("price scenarios: %d categories x %d price changes", len(data.categories), len(changes))
    return out


def _entry(category: str, change: float, members: np.ndarray, selling: np.ndarray, base_units: np.ndarray,
           units: np.ndarray, margin: float | None, data: Any, periods: int, level: float) -> dict[str, Any]:
    price = selling[:, members]
    base_revenue = (price * base_units[..., members]).sum(axis=(1, 2))
    revenue = ((1.0 + change) * price * units[..., members]).sum(axis=(1, 2))
    lift = revenue - base_revenue
    sold = units[..., members].sum(axis=(1, 2)) / base_units[..., members].sum(axis=(1, 2)) - 1.0
    notes = ["the other categories' response through their cross-price terms is not included"]
    profit = None
    if margin is None:
        notes.insert(0, "no profit effect: set the gross margin in settings.price_scenarios.margin")
    if margin is not None:
        unit_cost = (1.0 - margin) * price
        profit_lift = lift - (unit_cost * (units - base_units)[..., members]).sum(axis=(1, 2))
        profit = interval_dict(profit_lift, level)
        notes.insert(0, f"profit change {profit['mean']:+,.0f} ({profit['lo']:+,.0f} to {profit['hi']:+,.0f}) "
                        f"at a {margin:.0%} gross margin")
    return {
        "name": f"{category} price {change:+.0%}",
        "description": f"{category} list prices {change:+.0%}, discount held ({category} revenue)",
        "source": "price",
        "category": category,
        "price_change": change,
        **outcome_fields(data, periods, revenue, base_revenue, level),
        "units_change_pct": interval_dict(100.0 * sold, level),
        "margin": margin,
        "profit_lift": profit,
        "profit_probability_positive": None if profit is None else probability_positive(profit_lift),
        "spend": float(data.spend[-periods:].sum()),
        "spend_change": 0.0,
        "spend_change_pct": 0.0,
        "incremental_roi": None,
        "notes": notes,
    }
