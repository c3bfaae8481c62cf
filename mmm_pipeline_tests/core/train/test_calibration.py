"""Calibration with lift tests: the predicted lift is the model's own counterfactual, a test at
the truth pulls the estimate toward the truth, a test with a huge standard error changes
nothing, and a fit never uses a test that ended after its training window."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from mmm_pipeline.core.config import deep_merge, load_defaults
from mmm_pipeline.core.data.experiments import LiftTests
from mmm_pipeline.core.data.simulator import simulate_weekly
from mmm_pipeline.core.data.simulator_experiments import LiftTestDesign, simulate_lift_tests
from mmm_pipeline.core.features.simulated import weekly_simulation_model_data
from mmm_pipeline.core.train.experiments import period_overlap, predicted_lift, prepare_experiments
from mmm_pipeline.core.train.trainer import fit_nam

torch.set_num_threads(1)


def lift_tests(frame: pd.DataFrame, se: np.ndarray | None = None) -> LiftTests:
    n = len(frame)
    return LiftTests(tuple(frame["channel"]), (None,) * n, pd.DatetimeIndex(frame["start"]),
                     pd.DatetimeIndex(frame["end"]), frame["lift"].to_numpy(float),
                     frame["lift_se"].to_numpy(float) if se is None else se,
                     frame["spend_multiplier"].to_numpy(float), np.zeros(n), tuple(frame["channel"]))


@pytest.fixture(scope="module")
def weak():
    """Three years of always-on channels moving together: today not identified; one go-dark
    test of eight weeks per channel, standard error 15% of the true lift."""
    sim = simulate_weekly(4, design="weak")
    data = weekly_simulation_model_data(sim)
    designs = [LiftTestDesign(c, str(sim.dates[60].date()), 8, 0.0) for c in data.channel_names]
    frame = simulate_lift_tests(sim.true_model, sim.spend, sim.dates, "weekly", designs, 0.15, seed=1)
    return data, frame, sim.true_model.roas


def fit(data, tests: LiftTests | None):
    return fit_nam(replace(data, experiments=tests), load_defaults())


def roas(data, tests: LiftTests | None) -> pd.Series:
    return fit(data, tests).channel_summary(data).set_index("channel")["roas"]


def lifts(fitted, data, tests: LiftTests) -> np.ndarray:
    """``[E]`` the fitted model's predicted lift of each test."""
    scalers = fitted.model.scalers
    prepared = prepare_experiments(tests, data, np.ones(len(data.dates), bool), scalers.media_scale,
                                   scalers.target_mean, fitted.model.cfg.l_max, 1)
    with torch.no_grad():
        return predicted_lift(fitted.model, fitted.model.flat, fitted.inputs(data), prepared).numpy()[0]


@pytest.mark.parametrize("scale", ["level", "log"])
def test_predicted_lift_is_the_difference_of_two_forward_passes(weak, scale):
    data, _, _ = weak
    settings = deep_merge(load_defaults(), {"model": {"target_scale": scale}, "training": {"epochs": 40}})
    fitted = fit_nam(data, settings, n_models=2)
    tests = LiftTests(("tv", "search"), (None, None), pd.DatetimeIndex(["2023-03-06", "2023-06-05"]),
                      pd.DatetimeIndex(["2023-04-02", "2023-06-25"]), np.zeros(2), np.ones(2),
                      np.array([0.0, np.nan]), np.array([0.0, 5000.0]), ("a", "b"))
    scalers = fitted.model.scalers
    prepared = prepare_experiments(tests, data, np.ones(len(data.dates), bool), scalers.media_scale,
                                   scalers.target_mean, fitted.model.cfg.l_max, 2)
    with torch.no_grad():
        got = predicted_lift(fitted.model, fitted.model.flat, fitted.inputs(data), prepared).numpy()
    base = fitted.predict(data)
    for e, (channel, start, end) in enumerate(zip(tests.channel, tests.start, tests.end)):
        window = (data.dates >= start) & (data.dates <= end)
        varied = data.X.copy()
        c = data.feature_index(channel)
        varied[window, :, c] = varied[window, :, c] * (0.0 if e == 0 else 1.0) + tests.change[e]
        alt = fitted.predict(replace(data, X=varied))
        expected = (alt - base)[:, window].sum(axis=(1, 2))
        np.testing.assert_allclose(got[:, e], expected, rtol=2e-3)


def test_period_overlap_counts_the_share_of_each_period_inside_the_test():
    weeks = pd.date_range("2024-01-01", periods=4, freq="7D")
    share = period_overlap(weeks, "weekly", pd.Timestamp("2024-01-08"), pd.Timestamp("2024-01-17"))
    np.testing.assert_allclose(share, [0.0, 1.0, 3 / 7, 0.0])


def test_a_lift_test_at_the_truth_pulls_the_estimates_toward_the_truth(weak):
    data, frame, truth = weak
    tests = lift_tests(frame.assign(lift=frame["true_lift"]))  # measured exactly at the truth
    without, calibrated = fit(data, None), fit(data, tests)
    lift_error = [np.abs(lifts(f, data, tests) / tests.lift - 1) for f in (without, calibrated)]
    assert (lift_error[1] < lift_error[0]).all() and lift_error[1].max() < 0.1, lift_error
    est = [f.channel_summary(data).set_index("channel")["roas"] for f in (without, calibrated)]
    err = [np.mean([abs(e[c] / truth[c] - 1) for c in data.channel_names]) for e in est]
    assert err[1] < 0.5 * err[0], f"mean relative ROAS error {err[0]:.2f} -> {err[1]:.2f}"


def test_a_lift_test_with_a_huge_standard_error_changes_nothing(weak):
    data, frame, _ = weak
    vague = lift_tests(frame, se=1e6 * frame["lift"].abs().to_numpy())
    np.testing.assert_allclose(roas(data, vague).to_numpy(), roas(data, None).to_numpy(), rtol=1e-3)


def test_a_fit_uses_only_tests_inside_its_training_window(weak):
    data, frame, _ = weak
    tests = lift_tests(frame)
    scalers_args = (np.ones(len(data.channel_names)), np.ones(1), 8, 1)
    last_week = data.dates.searchsorted(tests.end[0]) - 1
    early = np.arange(len(data.dates)) < last_week  # training stops a week before the tests end
    assert prepare_experiments(tests, data, early, *scalers_args) is None
    late = data.dates > tests.start[0]  # training starts after the tests started
    assert prepare_experiments(tests, data, late, *scalers_args) is None
    assert prepare_experiments(tests, data, np.ones(len(data.dates), bool), *scalers_args).n_tests == len(frame)


def test_bootstrap_draws_scatter_each_measured_lift_by_its_standard_error(weak):
    _, frame, _ = weak
    tests = lift_tests(frame)
    drawn = tests.draws(4000, seed=7)
    assert drawn.lift.shape == (4000, len(frame))
    np.testing.assert_allclose(drawn.lift.mean(0), tests.lift, atol=4 * tests.se.max() / np.sqrt(4000))
    np.testing.assert_allclose(drawn.lift.std(0) / tests.se, 1.0, atol=0.05)
    np.testing.assert_array_equal(tests.draws(3, seed=7).lift, tests.draws(3, seed=7).lift)
