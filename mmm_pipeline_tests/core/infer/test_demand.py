"""Demand, then revenue: own-price elasticities of units from a log-units fit, revenue by identity."""

import pytest

from mmm_pipeline.core.config import deep_merge
from mmm_pipeline.core.data.simulator_retail_price import simulate_price_retail
from mmm_pipeline.core.features.build import build_model_data
from mmm_pipeline.core.infer.demand import (
    demand_prices,
    demand_problem,
    fit_demand,
    price_results,
    units_matrix,
)


def test_an_inelastic_category_gets_a_positive_revenue_elasticity():
    """Demand fitted on log(units), revenue by identity: units elasticity -0.3 means revenue
    rises with price. The old revenue fit with a "price lowers revenue" curve could not say so."""
    table, config, truth = simulate_price_retail(0, n_days=240)
    data = build_model_data(table, config)
    settings = deep_merge(config.settings, {"training": {"threads": 1}})
    fit = fit_demand(data, units_matrix(data, table), settings, n_replicates=3)
    results = price_results(fit, settings)
    inelastic, elastic = "Groceries", "Electronics"
    assert truth.units_elasticity[inelastic] > -1.0 > truth.units_elasticity[elastic]
    assert results["revenue"][inelastic]["lo"] > 0.0 and results["units"][inelastic]["hi"] < 0.0
    assert results["revenue"][elastic]["hi"] < 0.0
    for kind in ("units", "revenue"):  # per sub-category and per category, revenue = units + 1 replicate by replicate
        assert {f"{inelastic} A", f"{inelastic} B", inelastic} <= set(results[kind])
    assert abs(results["revenue"][inelastic]["mean"] - results["units"][inelastic]["mean"] - 1.0) < 1e-9
    assert results["units"][inelastic]["bounds"] == [-8.0, 0.0]
    assert results["violation_rate"] < 0.02  # the penalty holds the demand curve decreasing, bar a knot or two


def test_units_that_are_not_positive_are_refused_with_the_cells_named():
    table, config, _ = simulate_price_retail(0, n_days=60)
    data = build_model_data(table, config)
    units = units_matrix(data, table)
    units[5, 2] = 0.0
    with pytest.raises(ValueError, match=r"units are missing or zero in 1 period-node cells \(first: 2023-01-06 \("):
        demand_problem(data, units, config.settings)


def test_without_units_or_when_switched_off_the_price_answers_say_why():
    table, config, _ = simulate_price_retail(0, n_days=60)
    data = build_model_data(table, config)
    missing = demand_prices(data, table.drop(columns="units"), config.settings)
    assert (missing.fit, missing.results, missing.reason) == (None, {}, "the data give no units or no own price")
    off = deep_merge(config.settings, {"features": {"price": {"demand": False}}})
    assert demand_prices(data, table, off).reason == "features.price.demand is off"
