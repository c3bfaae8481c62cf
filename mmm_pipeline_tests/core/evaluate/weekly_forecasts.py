"""Helpers, not tests: walk-forward results of a forecaster with known error, on weekly data.

A weekly sales series (trend, yearly season, media flights, noise) and monthly walk-forward
folds after the first year, whose "model" predictions are whatever the test passes in: the
true signal plus noise of a chosen size (a good model), a constant, a shuffle. The gate is then
judged on forecasts whose quality is known by construction, without fitting anything.
"""

import numpy as np
import pandas as pd

from mmm_pipeline.core.features.model_data import FeatureSpec, ModelData
from mmm_pipeline.core.train import walk_forward as wf


def weekly_history(years: int = 5, seed: int = 0, noise: float = 4.0) -> tuple[ModelData, np.ndarray]:
    """(data, signal): weekly revenue = signal + Gaussian noise of sd ``noise``; the signal has
    a trend, a yearly season and on/off media flights, so last year's week is an imperfect guess."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2020-01-06", periods=52 * years, freq="7D")
    t = np.arange(len(dates))
    flights = np.repeat(rng.random(len(dates) // 4 + 1) < 0.5, 4)[: len(dates)] * rng.uniform(5, 15, len(dates))
    signal = 100.0 + 0.05 * t + 10.0 * np.sin(2 * np.pi * t / 52) + flights
    y = signal + rng.normal(0.0, noise, len(dates))
    spec = FeatureSpec("flights", "linear", "temporal")
    data = ModelData(dates=dates, nodes=["total"], node_category=["total"], X=flights[:, None, None],
                     y=y[:, None], features=[spec], frequency="weekly", target_name="revenue")
    return data, signal


def monthly_results(data: ModelData, predicted: np.ndarray, initial_months: int = 12,
                    unseen: dict[str, list[str]] | None = None) -> list[wf.FoldResult]:
    """One ok fold per month after ``initial_months``: expanding training window, the test
    month's predictions taken from ``predicted`` ([T]); ``unseen`` flags folds by month."""
    months = np.asarray(data.dates.strftime("%Y-%m"), dtype=object)
    results = []
    for month in list(dict.fromkeys(months))[initial_months:]:
        test, train = months == month, months < month
        fold = wf.Fold(month=month, train_mask=train, test_mask=test, window="expanding")
        frame = wf.prediction_table(data, np.flatnonzero(test), predicted[test][:, None], month)
        train_dates, test_dates = data.dates[train], data.dates[test]
        results.append(wf.FoldResult(
            month=month, status="ok", reason="", window="expanding",
            train_start=str(train_dates.min().date()), train_end=str(train_dates.max().date()),
            test_start=str(test_dates.min().date()), test_end=str(test_dates.max().date()),
            n_train=fold.n_train, n_test=fold.n_test, train_digest=fold.train_digest, test_digest=fold.test_digest,
            predictions=frame, metrics=wf.fold_metrics(data, fold, frame), unseen=(unseen or {}).get(month, []),
        ))
    return results


def weekly_summary(predicted: np.ndarray, data: ModelData, **kwargs) -> wf.WalkForwardSummary:
    """The walk-forward summary of ``predicted`` on ``data``, with the naive forecast attached."""
    return wf.aggregate_folds(monthly_results(data, predicted, **kwargs), data)
