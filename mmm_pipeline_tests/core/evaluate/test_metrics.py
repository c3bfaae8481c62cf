"""Metrics against hand computations on tiny series."""

import math

import numpy as np
import pandas as pd
import pytest

from mmm_pipeline.core.evaluate import metrics


def test_r2_rmse_mape_smape_match_hand_computation():
    a = np.array([10.0, 12.0, 8.0, 10.0])
    p = np.array([11.0, 12.0, 6.0, 9.0])
    # errors 1, 0, -2, -1 -> SSE 6; mean 10 -> SST 0 + 4 + 4 + 0 = 8
    assert metrics.r2(a, p) == pytest.approx(1 - 6 / 8)
    assert metrics.rmse(a, p) == pytest.approx(math.sqrt(6 / 4))
    assert metrics.mape(a, p) == pytest.approx((1 / 10 + 0 + 2 / 8 + 1 / 10) / 4)
    assert metrics.smape(a, p) == pytest.approx((2 / 21 + 0 + 4 / 14 + 2 / 19) / 4)
    assert metrics.nrmse(a, p) == pytest.approx(math.sqrt(1.5) / 10)


def test_directional_accuracy_counts_matching_moves_and_skips_flat_steps():
    a = np.array([1.0, 2.0, 2.0, 1.0, 3.0])  # moves: +, 0 (skipped), -, +
    p = np.array([1.0, 1.5, 3.0, 2.0, 1.0])  # moves: +, +,           -, -
    assert metrics.directional_accuracy(a, p) == pytest.approx(2 / 3)


def test_r2_with_reference_mean_and_against_variance():
    a = np.array([3.0, 5.0])
    p = np.array([4.0, 4.0])
    assert metrics.r2(a, p, reference_mean=2.0) == pytest.approx(1 - 2 / (1 + 9))
    assert metrics.r2_against_variance(a, p, variance=4.0) == pytest.approx(1 - 1 / 4)
    assert math.isnan(metrics.r2(np.ones(3), np.ones(3)))  # constant series: R² undefined


def test_mape_ignores_zero_actuals_and_misaligned_input_is_rejected():
    assert metrics.mape([0.0, 2.0], [5.0, 1.0]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="must align"):
        metrics.rmse([1.0, 2.0], [1.0])


def _panel() -> pd.DataFrame:
    dates = pd.date_range("2024-01-01", periods=3, freq="D")
    return pd.DataFrame(
        {
            "date": np.repeat(dates, 2),
            "node": ["a", "b"] * 3,
            "actual": [1.0, 10.0, 2.0, 12.0, 3.0, 11.0],
            "predicted": [1.0, 11.0, 3.0, 11.0, 2.0, 12.0],
        }
    )


def test_panel_directional_accuracy_differences_each_node_separately():
    # node a: actual +,+ predicted +,- -> 1/2; node b: actual +,- predicted 0,+ -> 0/2
    assert metrics.panel_directional_accuracy(_panel()) == pytest.approx(1 / 4)


def test_by_level_scores_nodes_categories_and_total():
    frame = pd.concat([_panel(), _panel().assign(node=lambda d: d["node"] + "2")], ignore_index=True)
    table = metrics.by_level(frame, {"a": "x", "b": "y", "a2": "x", "b2": "y"})
    assert set(table["level"]) == {"node", "category", "total"}
    total = table[table["level"] == "total"].iloc[0]
    summed_actual = np.array([22.0, 28.0, 28.0])
    summed_pred = np.array([24.0, 28.0, 28.0])
    assert total["rmse"] == pytest.approx(metrics.rmse(summed_actual, summed_pred))
    cat_x = table[(table["level"] == "category") & (table["name"] == "x")].iloc[0]
    assert cat_x["rmse"] == pytest.approx(metrics.rmse([2.0, 4.0, 6.0], [2.0, 6.0, 4.0]))
