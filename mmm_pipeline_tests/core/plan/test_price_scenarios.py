"""Price scenarios per category: revenue and profit effects of list-price changes from the demand fit."""

import pytest

from mmm_pipeline.core.config import deep_merge
from mmm_pipeline.core.data.simulator_retail_price import simulate_price_retail
from mmm_pipeline.core.features.build import build_model_data
from mmm_pipeline.core.infer.demand import fit_demand, units_matrix
from mmm_pipeline.core.plan.price_scenarios import price_scenario_settings, price_scenarios


@pytest.fixture(scope="module")
def scenarios():
    table, config, truth = simulate_price_retail(0, n_days=240)
    data = build_model_data(table, config)
    settings = deep_merge(config.settings, {"training": {"epochs": 150, "threads": 1},
                                            "price_scenarios": {"changes": [-0.05, 0.05], "margin": 0.3}})
    fit = fit_demand(data, units_matrix(data, table), settings, n_replicates=3)
    return {(s["category"], s["price_change"]): s for s in price_scenarios(fit, settings)}, truth


def test_inelastic_demand_earns_more_from_a_higher_price(scenarios):
    by_key, truth = scenarios
    assert truth.units_elasticity["Groceries"] == -0.3
    up = by_key[("Groceries", 0.05)]
    assert up["lift"]["lo"] > 0 and up["units_change_pct"]["hi"] < 0
    assert up["lift_pct"]["mean"] == pytest.approx(100 * (1.05 ** 0.7 - 1), abs=0.6)  # about +3.5%
    assert up["profit_lift"]["lo"] > 0 and up["source"] == "price" and len(by_key) == 10


def test_a_price_cut_on_elastic_demand_can_grow_revenue_and_still_lose_profit(scenarios):
    """Units elasticity -3 at a 30% margin: 5% off sells about 16% more, revenue rises about 10%,
    but each unit earns 25% of its old price instead of 30%, so profit falls."""
    by_key, _ = scenarios
    cut = by_key[("Electronics", -0.05)]
    assert cut["lift"]["lo"] > 0
    assert cut["profit_lift"]["hi"] < 0
    assert cut["notes"][0].startswith("profit change -") and "at a 30% gross margin" in cut["notes"][0]


def test_price_scenario_settings_are_checked():
    assert price_scenario_settings({}) == ([-0.10, -0.05, 0.05, 0.10], None)
    assert price_scenario_settings({"optimizer": {"margin": 0.4}})[1] == 0.4
    with pytest.raises(ValueError, match="fractions above -1"):
        price_scenario_settings({"price_scenarios": {"changes": [-1.5]}})
    with pytest.raises(ValueError, match="gross margin as a fraction of revenue"):
        price_scenario_settings({"price_scenarios": {"margin": 30}})
