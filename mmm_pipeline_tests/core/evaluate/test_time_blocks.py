"""Blocks of consecutive walk-forward folds and the naive forecast they are scored against."""

import numpy as np
import pandas as pd
import pytest

from mmm_pipeline.core.evaluate import metrics
from mmm_pipeline.core.evaluate.time_blocks import fold_blocks, naive_forecast, score_blocks, seasonal_lag_dates
from mmm_pipeline_tests.core.evaluate.weekly_forecasts import weekly_history, weekly_summary


def test_weekly_folds_are_pooled_and_daily_folds_stand_alone():
    months = [f"2024-{m:02d}" for m in range(1, 13)] + ["2025-01"]
    weekly = pd.Series([4, 5, 4, 4, 5, 4, 4, 4, 5, 4, 4, 5, 4], index=months)
    blocks = fold_blocks(weekly, 26)
    assert set(blocks.values()) == {"2024-01..2024-06", "2024-07..2025-01"}  # 26, 26 and 4 left that join the last
    daily = pd.Series([31, 29, 31], index=["2024-01", "2024-02", "2024-03"])
    assert fold_blocks(daily, 26) == {"2024-01": "2024-01", "2024-02": "2024-02", "2024-03": "2024-03"}
    assert set(fold_blocks(weekly.iloc[:11], 26).values()) == {"2024-01..2024-11"}  # 26 + 21: one block


def test_block_r2_is_scored_on_one_yardstick_and_averages_to_the_pooled_r2():
    data, signal = weekly_history(years=4, seed=3)
    forecast = signal + np.random.default_rng(3).normal(0.0, 2.0, signal.size)
    pooled = weekly_summary(forecast, data).predictions
    blocks = score_blocks(pooled, 26)
    assert (blocks["n_periods"] >= 26).all() and blocks["folds"].sum() == pooled["fold"].nunique()
    weighted = float(np.average(blocks["r2"], weights=blocks["n_periods"]))
    assert weighted == pytest.approx(metrics.r2(pooled["actual"], pooled["predicted"]))


def test_naive_forecast_is_last_years_week_or_else_the_mean_before_the_fold():
    data, signal = weekly_history(years=3, seed=1)
    pooled = weekly_summary(signal, data, initial_months=6).predictions
    naive = naive_forecast(pooled, data)
    rows = data.dates.get_indexer(pooled["date"])
    late = rows >= 52
    np.testing.assert_allclose(naive[late], data.y[rows[late] - 52, 0])
    first = pooled.index[~late][0]
    start = data.dates.get_loc(pooled.loc[pooled["fold"] == pooled.loc[first, "fold"], "date"].min())
    assert naive[first] == pytest.approx(data.y[:start, 0].mean())


def test_a_year_earlier_is_52_weeks_for_daily_and_weekly_data_and_a_calendar_year_otherwise():
    daily = seasonal_lag_dates(pd.date_range("2024-03-05", periods=3, freq="D"))
    assert daily[0] == pd.Timestamp("2023-03-07") and daily[0].day_name() == "Tuesday"
    monthly = seasonal_lag_dates(pd.date_range("2024-01-01", periods=3, freq="MS"))
    assert list(monthly) == list(pd.date_range("2023-01-01", periods=3, freq="MS"))


def test_naive_forecast_refuses_a_history_that_is_not_the_folds_data():
    data, signal = weekly_history(years=3, seed=1)
    pooled = weekly_summary(signal, data).predictions
    other, _ = weekly_history(years=3, seed=2)
    with pytest.raises(ValueError, match="not the data the walk-forward folds were run on"):
        naive_forecast(pooled, other)


def test_bad_block_size_is_rejected_with_the_setting_named():
    data, signal = weekly_history(years=2, seed=1)
    with pytest.raises(ValueError, match="settings.gate.min_block_periods is 0"):
        score_blocks(weekly_summary(signal, data).predictions, 0)
