"""Demand, then revenue: price elasticities where the sign constraint belongs.

Economics constrains demand, not revenue: units fall when price rises, but revenue
(price x units) rises with price whenever demand is inelastic (|units elasticity| < 1). A
monotone "price lowers the target" curve fitted to revenue therefore gets every inelastic
category wrong by construction. When the data give units next to the price, this module fits
the same NAM, with the same features and settings, to log(units): the own-price curve is
monotone decreasing there and its slope is the units elasticity. Revenue follows from the price
identity revenue = list price x (1 - discount) x units, so with the discount held a 1% list-price
change moves revenue by (units elasticity + 1)% - replicate by replicate, so the bootstrap
intervals carry over. The revenue model keeps doing what it is for (media returns, the plan);
the price answers come from demand.
"""

import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from mmm_pipeline.core.config import deep_merge
from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.infer.intervals import interval_dict
from mmm_pipeline.core.infer.price import mark_bounds, model_bounds, own_price_feature

log = logging.getLogger(__name__)

#: d log(revenue) / d log(own price) contributed by the price identity itself: revenue is price x units
PRICE_IDENTITY_ELASTICITY = 1.0


def units_matrix(data: ModelData, table: pd.DataFrame, column: str = "units") -> np.ndarray | None:
    """``[T, N]`` units sold per period and node from the modelling table, aligned to ``data``;
    None when the table has no units column."""
    if column not in table.columns:
        return None
    wide = table.pivot_table(index="date", columns="node", values=column, aggfunc="sum")
    return wide.reindex(index=data.dates, columns=data.nodes).to_numpy(dtype=float)


#: the demand fit's shaped curves: a free network held monotone by the constraint penalty. The
#: built-in monotone family is a sum of positive sigmoids, which bends flat towards the ends of the
#: data; on log(units) that read every elasticity about 0.05 too close to zero (benchmarks/price.py:
#: mean error +0.05, 95% coverage 60%; with this setting +0.006). The violation rate of the
#: own-price curve is reported with the results, so a rising stretch would not go unnoticed.
DEMAND_CONSTRAINTS = "soft"


def demand_problem(data: ModelData, units: np.ndarray, settings: dict[str, Any]) -> tuple[ModelData, dict[str, Any]]:
    """``data`` with units as the target, and the settings for a log-scale fit of it.

    Raises ValueError (naming the periods) when units are missing or not positive: log demand
    needs a positive count in every period the model learns from.
    """
    bad = ~np.isfinite(units) | (units <= 0)
    if bad.any():
        rows, cols = np.nonzero(bad)
        first = ", ".join(f"{data.dates[r].date()} ({data.nodes[c]})" for r, c in zip(rows[:3], cols[:3]))
        raise ValueError(f"{data.dataset or 'data'}: units are missing or zero in {int(bad.sum())} period-node cells "
                         f"(first: {first}); log demand needs positive units. What to do: fill the gaps or model "
                         "the category at a coarser level where every period sells")
    demand = replace(data, y=np.asarray(units, dtype=float), target_name="units")
    # replicates start from their own initialisations unless settings say otherwise, so the
    # intervals also hold the spread between the optima the free curves can land in
    # (benchmarks/price.py, 10 seeds: 95% coverage 88% with a shared start, 92% with own starts)
    member_init = (settings.get("bootstrap") or {}).get("member_init") or "different"
    return demand, deep_merge(dict(settings), {"model": {"target_scale": "log", "constraints": DEMAND_CONSTRAINTS},
                                               "bootstrap": {"member_init": member_init}})


@dataclass
class DemandFit:
    """The demand NAM's bootstrap replicates and the data it was fitted on."""

    fitted: Any  # FittedNAM, K replicates
    data: ModelData  # target = units
    revenue: np.ndarray  # [T, N] revenue, for category weights
    seconds: float


def fit_demand(data: ModelData, units: np.ndarray, settings: dict[str, Any], *, train_mask: np.ndarray | None = None,
               n_replicates: int | None = None) -> DemandFit:
    """Bootstrap replicates of the NAM on log(units), drawn like the revenue model's (same blocks, seed)."""
    from mmm_pipeline.core.infer.bootstrap import fit_bootstrap

    demand, demand_settings = demand_problem(data, units, settings)
    boot = fit_bootstrap(demand, demand_settings, train_mask=train_mask, n_replicates=n_replicates)
    log.info("demand: %d replicates on log(units) in %.1f s", boot.fitted.n_models, boot.seconds)
    return DemandFit(boot.fitted, demand, np.asarray(data.y, dtype=float), boot.seconds)


def price_results(fit: DemandFit, settings: dict[str, Any]) -> dict[str, Any]:
    """Own-price elasticities of units and of revenue, per node and per category, with intervals.

    ``{"units": {key: interval}, "revenue": {key: interval}, "violation_rate": share}``. A
    category's elasticity is the revenue-weighted mean of its nodes' (the response of category
    revenue to a 1% price change on all of them), computed per replicate. Units entries carry the
    elasticity-bound marks; ``violation_rate`` is the share of the own-price demand curve's checks
    where it rises with price (0 when the penalty held it monotone).
    """
    feature = own_price_feature(fit.data)
    if feature is None:
        return {}
    level = float((settings.get("bootstrap") or {}).get("level", 0.95))
    units = np.asarray(fit.fitted.elasticity(feature, fit.data), dtype=float)  # [K, N]
    keyed = {"units": _by_node_and_category(units, fit, level),
             "revenue": _by_node_and_category(units + PRICE_IDENTITY_ELASTICITY, fit, level)}
    keyed["units"] = mark_bounds(keyed["units"], model_bounds(fit.fitted).get(feature))
    keyed["violation_rate"] = float(fit.fitted.constraint_violation_rates(fit.data).get(feature, 0.0))
    return keyed


def _by_node_and_category(values: np.ndarray, fit: DemandFit, level: float) -> dict[str, dict]:
    data = fit.data
    out = {node: interval_dict(values[:, i], level) for i, node in enumerate(data.nodes)}
    share = np.nansum(fit.revenue, axis=0)
    for j, cat in enumerate(data.categories):
        if cat in out:  # category-level model: node == category
            continue
        members = data.category_index == j
        weights = share[members] / share[members].sum() if share[members].sum() > 0 else None
        out[cat] = interval_dict(np.average(values[:, members], axis=1, weights=weights), level)
    return out


@dataclass
class DemandPrices:
    """The demand fit and its price results, or why there is none (``fit`` None, ``results`` {})."""

    fit: DemandFit | None
    results: dict[str, Any]
    reason: str


def demand_prices(data: ModelData, table: pd.DataFrame, settings: dict[str, Any], *,
                  train_mask: np.ndarray | None = None, n_replicates: int | None = None) -> DemandPrices:
    """Fit demand and read its price elasticities, unless switched off, the data give no units or
    no own price, or units are not positive (the reason says which)."""
    if not ((settings.get("features") or {}).get("price") or {}).get("demand", True):
        return DemandPrices(None, {}, "features.price.demand is off")
    units = units_matrix(data, table)
    if units is None or own_price_feature(data) is None:
        return DemandPrices(None, {}, "the data give no units or no own price")
    try:
        fit = fit_demand(data, units, settings, train_mask=train_mask, n_replicates=n_replicates)
    except ValueError as exc:
        log.warning("demand not fitted: %s", exc)
        return DemandPrices(None, {}, str(exc))
    return DemandPrices(fit, price_results(fit, settings), "")
