"""The information bound: exact for linear models, infinite where the data cannot see a channel,
prior-dominated where the assumptions decide, and intervals never narrower than it allows."""

import numpy as np
import pandas as pd
import pytest
import torch

from mmm_pipeline.core.config import deep_merge, load_defaults
from mmm_pipeline.core.data.simulator import simulate_weekly
from mmm_pipeline.core.features.model_data import FeatureSpec, ModelData
from mmm_pipeline.core.features.simulated import weekly_simulation_model_data
from mmm_pipeline.core.infer.information import (
    ChannelInformation,
    channel_information,
    output_jacobian,
    jacobian_rank,
    quadratic_forms,
    residual_variance,
)
from mmm_pipeline.core.infer.intervals import Interval, at_least
from mmm_pipeline.core.infer.returns import channel_results, information_verdict
from mmm_pipeline.core.train.trainer import fit_nam

torch.set_num_threads(1)
FAST = {"training": {"epochs": 200}}


def _linear_data(seed: int = 0, n: int = 120) -> ModelData:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)) + np.array([0.0, 1.0])
    y = 10.0 + x @ np.array([1.5, -0.8]) + rng.normal(scale=0.7, size=n)
    feats = [FeatureSpec("a", "linear", "temporal"), FeatureSpec("b", "linear", "temporal")]
    return ModelData(dates=pd.date_range("2020-01-06", periods=n, freq="7D"), nodes=["total"],
                     node_category=["total"], X=x[:, None, :], y=y[:, None], features=feats, frequency="weekly",
                     target_name="y")


def test_for_a_model_linear_in_its_parameters_the_information_se_is_the_ols_se():
    data = _linear_data()
    settings = deep_merge(load_defaults(), {"model": {"time_terms": "none", "trend": False}, **FAST})
    fitted = fit_nam(data, settings)
    model = fitted.model
    inputs = fitted.inputs(data)
    theta = model.flat.detach()[0].clone()
    jac = output_jacobian(model, inputs, theta, np.arange(len(data.dates))).numpy()
    design = jac[:, np.abs(jac).sum(0) > 0]  # bias and the two slopes (in the model's scaled units)
    assert design.shape[1] == 3
    y = inputs.y_scaled.double().numpy()[:, 0]
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ beta
    sigma2 = residual_variance(resid, jacobian_rank(design.T @ design))
    assert sigma2 == pytest.approx(resid @ resid / (len(y) - 3))
    ols_se = np.sqrt(np.diag(sigma2 * np.linalg.inv(design.T @ design)))
    info_se = np.sqrt(quadratic_forms(design.T @ design / sigma2, np.eye(3)))
    np.testing.assert_allclose(info_se, ols_se, rtol=1e-6)


def test_a_function_the_information_cannot_see_has_an_infinite_variance():
    info = np.diag([4.0, 1.0, 0.0])
    var = quadratic_forms(info, np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0]]))
    assert var[0] == pytest.approx(0.25)
    assert np.isinf(var[1])
    assert var[2] == 0.0


@pytest.fixture(scope="module")
def twin_channel():
    """Weekly data where 'twin' is a fixed multiple of TV: its return has no own variation."""
    sim = simulate_weekly(seed=2, n_weeks=104)
    data = weekly_simulation_model_data(sim)
    at = len(data.channel_names)
    twin = 0.5 * data.X[:, :, data.channel_names.index("tv")]
    data.X = np.insert(data.X, at, twin, axis=2)
    data.features = [*data.features[:at], FeatureSpec("twin", "media", "marketing"), *data.features[at:]]
    settings = deep_merge(load_defaults(), FAST)
    fitted = fit_nam(data, settings)
    mask = np.ones(len(data.dates), dtype=bool)
    return data, settings, fitted, channel_information(fitted, data, mask, settings)


def test_a_channel_with_no_own_variation_is_never_identified(twin_channel):
    data, settings, fitted, info = twin_channel
    for ch in ("tv", "twin"):
        assert info[ch].rel_se_data > 1.0 or not np.isfinite(info[ch].rel_se_data), (ch, info[ch])
    current = data.spend[-13:].mean(0)
    channels = channel_results(fitted, data, settings, current, information=info)
    assert not channels["twin"]["identified"] and not channels["tv"]["identified"]
    assert channels["twin"]["roas"]["width"] is None or channels["twin"]["roas"]["width"] > channels["social"]["roas"]["width"]


def test_channels_the_data_do_pin_down_keep_a_finite_information_bound(twin_channel):
    _, _, _, info = twin_channel
    assert 0.0 < info["social"].rel_se_data < 0.5
    assert info["social"].prior_share < 0.5


def test_a_strong_regulariser_makes_channels_prior_dominated():
    """Robyn's spend-share pull at full weight decides the split of effect between channels."""
    data = weekly_simulation_model_data(simulate_weekly(seed=2, n_weeks=104))
    base = deep_merge(load_defaults(), FAST)
    pulled = deep_merge(base, {"loss": {"spend_share": 1.0}})
    mask = np.ones(len(data.dates), dtype=bool)
    free = channel_information(fit_nam(data, base), data, mask, base)["tv"]
    held = channel_information(fit_nam(data, pulled), data, mask, pulled)["tv"]
    assert free.prior_share < 0.5 < held.prior_share
    assert np.isfinite(held.rel_se_data) and "assumptions" in information_verdict(held, 0.5)
    assert information_verdict(free, 0.5) == ""


def test_intervals_are_widened_to_the_information_bound_and_never_narrowed():
    narrow = Interval(2.0, 1.9, 2.1)
    wide = at_least(narrow, rel_se=0.2)
    assert wide.lo == pytest.approx(2.0 - 1.959964 * 0.4, rel=1e-5) and wide.hi == pytest.approx(2.0 + 1.959964 * 0.4, rel=1e-5)
    already = Interval(2.0, 0.5, 4.0)
    assert at_least(already, rel_se=0.05) == already
    assert at_least(narrow, rel_se=2.0).lo == 0.0
    assert at_least(narrow, rel_se=float("inf")).hi == float("inf")


def test_prior_share_reads_from_the_two_standard_errors():
    assert ChannelInformation(2.0, 0.2, 0.1).prior_share == pytest.approx(0.75)
    assert ChannelInformation(2.0, float("inf"), 0.1).prior_share == 1.0
    assert ChannelInformation(2.0, 0.2, 0.2).prior_share == 0.0


def test_lift_tests_add_information_and_are_named_as_the_evidence():
    """Weak always-on data: the sales history cannot pin a channel down, one go-dark test can."""
    from dataclasses import replace

    from mmm_pipeline.core.data.experiments import LiftTests
    from mmm_pipeline.core.data.simulator_experiments import LiftTestDesign, simulate_lift_tests
    from mmm_pipeline.core.infer.returns import evidence_source

    sim = simulate_weekly(4, design="weak")
    data = weekly_simulation_model_data(sim)
    designs = [LiftTestDesign(c, str(sim.dates[60].date()), 8, 0.0) for c in data.channel_names]
    frame = simulate_lift_tests(sim.true_model, sim.spend, sim.dates, "weekly", designs, 0.10, seed=1)
    n = len(frame)
    tests = LiftTests(tuple(frame["channel"]), (None,) * n, pd.DatetimeIndex(frame["start"]),
                      pd.DatetimeIndex(frame["end"]), frame["lift"].to_numpy(float), frame["lift_se"].to_numpy(float),
                      frame["spend_multiplier"].to_numpy(float), np.zeros(n), tuple(frame["channel"]))
    settings = deep_merge(load_defaults(), FAST)
    mask = np.ones(len(data.dates), dtype=bool)
    calibrated = replace(data, experiments=tests)
    info = channel_information(fit_nam(calibrated, settings), calibrated, mask, settings)
    gained = [ch for ch, v in info.items() if v.rel_se_data < 0.5 * v.rel_se_sales]
    assert gained, {ch: (v.rel_se_sales, v.rel_se_data) for ch, v in info.items()}
    ch = gained[0]
    assert evidence_source(True, info[ch], 1.96, 0.5) == ("lift tests" if 1.96 * info[ch].rel_se_sales > 0.5
                                                         else "sales history")
    assert evidence_source(False, info[ch], 1.96, 0.5) == "none"


def test_a_channel_a_lift_test_pins_down_is_not_refused_for_its_spend_history(twin_channel):
    """The twin channel has no own variation in the history; a (hypothetical) test settling it wins."""
    data, settings, fitted, info = twin_channel
    settled = {**info, "twin": ChannelInformation(info["twin"].roas, 0.05, 0.05, rel_se_sales=float("inf"))}
    current = data.spend[-13:].mean(0)
    channels = channel_results(fitted, data, settings, current, information=settled)
    assert channels["twin"]["identified"] and channels["twin"]["evidence"] == "lift tests"
    assert "lift tests" in channels["twin"]["reason"]
    assert not channel_results(fitted, data, settings, current, information=info)["twin"]["identified"]
