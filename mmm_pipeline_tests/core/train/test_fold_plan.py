"""Fold plans: the initial window and fold length adapt to the history, and say what they chose."""

import numpy as np
import pandas as pd
import pytest

from mmm_pipeline.core.config import deep_merge, load_defaults
from mmm_pipeline.core.evaluate.gate import evaluate_gate
from mmm_pipeline.core.model.synthetic import synthetic_model_data
from mmm_pipeline.core.train import walk_forward as wf
from mmm_pipeline.core.train.fold_plan import key_mask, plan_folds

DEFAULTS = load_defaults()


def daily(days: int, start: str = "2021-01-01") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=days, freq="D")


def test_three_years_keep_twelve_initial_months_and_monthly_folds():
    plan = plan_folds(daily(3 * 365), DEFAULTS)
    assert (plan.unit, plan.initial, len(plan.keys)) == ("month", 12, 24)
    assert plan.keys[0] == "2022-01"


def test_one_year_of_daily_data_gets_a_third_as_initial_window_and_says_so():
    plan = plan_folds(daily(365), DEFAULTS)
    assert (plan.unit, plan.initial) == ("month", 4)
    assert plan.keys == [f"2021-{m:02d}" for m in range(5, 13)]
    assert "8 monthly test folds" in plan.describe() and "a third of the 12 months" in plan.describe()


def test_the_model_minimum_lengthens_the_initial_window():
    plan = plan_folds(daily(365), DEFAULTS, min_train_periods=140)  # January to April is 120 days
    assert (plan.unit, plan.initial) == ("month", 5) and "the 140 periods the model needs" in plan.reason


def test_too_few_months_fall_back_to_weekly_folds_named_by_their_monday():
    dates = daily(150, "2021-01-04")  # six calendar months: monthly folds would be four
    plan = plan_folds(dates, DEFAULTS)
    assert plan.unit == "week" and len(plan.keys) >= DEFAULTS["walk_forward"]["min_folds"]
    assert all(pd.Timestamp(k).weekday() == 0 for k in plan.keys)
    assert "weekly folds because monthly ones would give only 4" in plan.describe()
    data, _ = synthetic_model_data(0, n_periods=150, frequency="daily", n_channels=1)
    for fold in wf.make_folds(data, DEFAULTS):
        assert data.dates[fold.train_mask].max() < data.dates[fold.test_mask].min()
        assert fold.n_test == 7 or fold.month == plan.keys[-1]


def test_monthly_data_never_gets_weekly_folds():
    dates = pd.date_range("2021-01-01", periods=8, freq="MS")
    assert plan_folds(dates, DEFAULTS).unit == "month"
    with pytest.raises(ValueError, match="fewer than one period a week"):
        plan_folds(dates, deep_merge(DEFAULTS, {"walk_forward": {"fold_length": "week"}}))


def test_an_explicit_initial_window_is_kept():
    plan = plan_folds(daily(365), deep_merge(DEFAULTS, {"walk_forward": {"initial_months": 10}}))
    assert (plan.unit, plan.initial, plan.keys) == ("month", 10, ["2021-11", "2021-12"])
    assert "walk_forward.initial_months = 10" in plan.describe()


def test_a_new_month_appends_one_fold():
    before = plan_folds(daily(3 * 365), DEFAULTS).keys
    after = plan_folds(daily(3 * 365 + 31), DEFAULTS).keys
    assert after[: len(before)] == before and len(after) == len(before) + 1


def test_default_run_path_on_one_year_of_daily_data_completes():
    """The default settings on one year of daily data: folds exist, every fold fits, the gate
    evaluates (whether it passes is the data's business, not this test's)."""
    data, _ = synthetic_model_data(1, n_periods=365, frequency="daily", n_channels=2, l_max=7)
    fast = deep_merge(DEFAULTS, {"training": {"epochs": 20, "min_epochs": 5, "threads": 1}})
    months = wf.data_fold_plan(data, fast).keys
    assert len(months) == 8
    results = wf.run_folds(data, fast, months)
    assert all(r.ok for r in results) and [r.month for r in results] == months
    summary = wf.aggregate_folds(results)
    gate = evaluate_gate(summary, None, fast)
    assert np.isfinite(summary.overall["r2"]) and gate.checks


def test_key_mask_reads_month_and_week_keys():
    dates = daily(20, "2021-02-22")  # a Monday; 1 March is the following Monday
    assert key_mask(dates, "2021-03").sum() == 13 and key_mask(dates, "2021-03-01").sum() == 7
    assert not key_mask(dates, "2021-03-01")[:7].any()
