"""Roles of controls and brand items: brand health is a mediator unless declared otherwise, a
declared mediator changes the reported total effect and not the fit, and a control that media
drive is called out."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from mmm_pipeline.core.config import deep_merge, load_defaults
from mmm_pipeline.core.data.simulator import simulate_weekly
from mmm_pipeline.core.features.model_data import FeatureSpec, ModelData
from mmm_pipeline.core.features.roles import assign_roles, media_drive, media_view
from mmm_pipeline.core.features.simulated import weekly_simulation_model_data
from mmm_pipeline.core.train.trainer import fit_nam

torch.set_num_threads(1)
SETTINGS = load_defaults()


def _with_item(data: ModelData, name: str, values: np.ndarray, kind: str = "free") -> ModelData:
    x = np.concatenate([data.X, values[:, None, None]], axis=2)
    return dataclasses.replace(data, X=x, features=[*data.features, FeatureSpec(name, kind, "brand")])  # type: ignore[arg-type]


def _stock(spend: np.ndarray, decay: float = 0.7) -> np.ndarray:
    out = spend.astype(float).copy()
    for t in range(1, len(out)):
        out[t] += decay * out[t - 1]
    return out


@pytest.fixture(scope="module")
def weekly() -> ModelData:
    return weekly_simulation_model_data(simulate_weekly(seed=4))


def test_undeclared_brand_health_is_a_mediator_and_controls_are_confounders_or_precision(weekly):
    rng = np.random.default_rng(0)
    spend = weekly.spend.sum(1)
    data = _with_item(weekly, "awareness", 30 + _stock(spend) / spend.mean() + rng.normal(0, 0.3, len(spend)))
    data = _with_item(data, "market_demand", spend / spend.mean() + rng.normal(0, 0.2, len(spend)))
    roles = assign_roles(data, {"awareness": ("brand", None), "market_demand": ("controls", None),
                                "competitor_sales": ("controls", None)}, SETTINGS)
    assert roles["awareness"].role == "mediator" and not roles["awareness"].declared
    assert "total effects" in roles["awareness"].sentence()
    assert roles["market_demand"].role == "confounder"
    assert roles["competitor_sales"].role in ("precision", "confounder")
    assert roles["awareness"].features == ("awareness",)


def test_a_declared_role_wins_and_is_said_to_be_declared(weekly):
    roles = assign_roles(weekly, {"competitor_sales": ("controls", "mediator")}, SETTINGS)
    assert roles["competitor_sales"].role == "mediator" and roles["competitor_sales"].declared
    assert "declared" in roles["competitor_sales"].sentence()


def test_a_control_that_media_drive_is_called_out(weekly):
    rng = np.random.default_rng(1)
    spend = weekly.spend.sum(1)
    driven = _stock(spend, 0.8) / spend.mean() + rng.normal(0, 0.2, len(spend))
    data = _with_item(weekly, "search_interest", driven)
    verdict = assign_roles(data, {"search_interest": ("controls", None)}, SETTINGS)["search_interest"]
    assert verdict.role != "mediator" and verdict.looks_mediated
    assert "declare `role: mediator`" in verdict.sentence()
    noise = _with_item(weekly, "weather", rng.normal(size=len(spend)))
    assert not assign_roles(noise, {"weather": ("controls", None)}, SETTINGS)["weather"].looks_mediated


def test_media_drive_sees_media_leading_a_mediator_and_not_an_item_that_leads_spend():
    rng = np.random.default_rng(2)
    dates = pd.date_range("2021-01-04", periods=156, freq="7D")
    demand = np.zeros(156)
    for t in range(1, 156):
        demand[t] = 0.9 * demand[t - 1] + rng.normal()
    spend = np.exp(0.5 * np.r_[0.0, demand[:-1]] + rng.normal(0, 0.1, 156))  # the budget follows last week's demand
    led = media_drive(pd.Series(demand, dates), pd.Series(spend, dates), "weekly")
    assert led["chase_p"] < 0.01
    spend_m = np.exp(rng.normal(0, 0.5, 156))
    drives = media_drive(pd.Series(_stock(spend_m, 0.6) + rng.normal(0, 0.1, 156), dates), pd.Series(spend_m, dates),
                         "weekly")
    assert drives["media_p"] < 0.01 and drives["media_share"] > 0.1
    assert drives["chase_p"] > 0.01


def test_a_declared_mediator_changes_the_total_effect_and_not_the_fit():
    sim = simulate_weekly(seed=2, design="mediated")
    base = weekly_simulation_model_data(sim)
    frame = sim.tables["weekly.csv"]
    brand = [c for c in frame.columns if "aware" in c][0]
    data = _with_item(base, brand, frame[brand].to_numpy(float))
    settings = deep_merge(SETTINGS, {"training": {"epochs": 250}})
    as_mediator = dataclasses.replace(data, meta={"roles": {brand: assign_roles(
        data, {brand: ("brand", "mediator")}, settings)[brand].to_dict()}})
    as_confounder = dataclasses.replace(data, meta={"roles": {brand: assign_roles(
        data, {brand: ("brand", "confounder")}, settings)[brand].to_dict()}})
    fit_a, fit_b = fit_nam(as_mediator, settings), fit_nam(as_confounder, settings)
    np.testing.assert_array_equal(fit_a.predict(as_mediator), fit_b.predict(as_confounder))
    assert media_view(as_confounder) is as_confounder
    total_data = media_view(as_mediator)
    assert brand not in total_data.feature_names and total_data.meta["left_out_mediators"] == [brand]
    direct = fit_a.channel_summary(as_mediator).set_index("channel")["roas"]
    total = fit_nam(total_data, settings).channel_summary(total_data).set_index("channel")["roas"]
    truth = np.array([sim.truth["media"][ch]["total_roas"] for ch in data.channel_names])
    err_total = np.abs(total[data.channel_names].to_numpy() / truth - 1).mean()
    err_direct = np.abs(direct[data.channel_names].to_numpy() / truth - 1).mean()
    assert total.sum() > direct.sum()
    assert err_total < err_direct


def test_brand_health_that_media_do_not_move_is_not_treated_as_a_mediator(weekly):
    rng = np.random.default_rng(3)
    survey = np.zeros(len(weekly.dates))
    for t in range(1, len(survey)):
        survey[t] = 0.8 * survey[t - 1] + rng.normal()
    data = _with_item(weekly, "nps", 50 + survey)
    verdict = assign_roles(data, {"nps": ("brand", None)}, SETTINGS)["nps"]
    assert verdict.media_share < 0.01
    assert verdict.role != "mediator" and verdict.brand_unmoved
    assert "media do not build it" in verdict.sentence() and "declare `role: mediator`" in verdict.sentence().lower()
