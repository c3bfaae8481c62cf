"""Out-of-sample accuracy by block of consecutive test periods, and skill against a naive forecast.

A monthly fold of weekly data has four or five test periods; an R² of four points is mostly
noise (the mean squared error of n residuals has a relative standard error of sqrt(2 / n): 71%
for n = 4, 28% for n = 26). So stability across time is judged on *blocks*: consecutive folds
pooled until a block holds at least ``min_periods`` test periods (``gate.min_block_periods``: 26,
half a year of weeks). Daily monthly folds (28-31 periods) are blocks on their own; weekly or
monthly folds are pooled.

Every block is scored against the same yardstick, the variance of all pooled out-of-sample
actuals, so block R² values are comparable and their period-weighted mean is the pooled
out-of-sample R² the gate's level check uses. Beside it, each block's *skill* against a naive
forecast, 1 - MSE_model / MSE_naive: positive when the model beats what a planner would get for
free (see :func:`naive_forecast`).
"""

from collections.abc import Collection

import numpy as np
import pandas as pd

from mmm_pipeline.core.features.model_data import ModelData

#: columns of :func:`score_blocks`' table
BLOCK_COLUMNS = ["block", "first_fold", "last_fold", "folds", "n_periods", "r2", "naive_skill"]


def seasonal_lag_dates(dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The date one seasonal cycle before each date: 52 weeks earlier for daily and weekly data
    (same weekday, so weekly and day-of-week patterns line up), one calendar year otherwise."""
    steps = np.diff(dates.values).astype("timedelta64[D]").astype(int)
    if steps.size and np.median(steps) <= 7:
        return dates - pd.Timedelta(days=364)
    return dates - pd.DateOffset(years=1)


def naive_forecast(pooled: pd.DataFrame, history: ModelData) -> np.ndarray:
    """The forecast a planner gets for free, for each row of a pooled out-of-sample table.

    The same period one year earlier (the seasonal naive forecast, the standard benchmark for
    seasonal sales); where the data hold no period a year earlier, the mean of that node's
    periods before the row's fold began (the historical mean, the benchmark of out-of-sample R²).
    Both use only periods before the fold's test window, as a real forecast would.
    """
    dates = pd.DatetimeIndex(pooled["date"])
    rows = history.dates.get_indexer(dates)
    nodes = pd.Index(history.nodes).get_indexer(pooled["node"])
    if (rows < 0).any() or (nodes < 0).any():
        raise ValueError("the history given for naive forecasts lacks dates or nodes of the walk-forward predictions")
    if not np.allclose(history.y[rows, nodes], pooled["actual"].to_numpy(float), equal_nan=True):
        raise ValueError("the history given for naive forecasts is not the data the walk-forward folds were run on")
    origin = history.dates.get_indexer(pd.DatetimeIndex(pooled.groupby("fold")["date"].transform("min")))
    lagged = history.dates.get_indexer(seasonal_lag_dates(dates))
    cumulative = np.vstack([np.zeros((1, history.y.shape[1])), np.cumsum(history.y, axis=0)])
    with np.errstate(invalid="ignore", divide="ignore"):
        earlier_mean = cumulative[origin, nodes] / origin
    seasonal = history.y[np.maximum(lagged, 0), nodes]
    return np.where(lagged >= 0, seasonal, earlier_mean).astype(float)


def fold_blocks(fold_periods: pd.Series, min_periods: int) -> dict[str, str]:
    """Fold key -> block label, pooling consecutive folds until a block has ``min_periods``
    test periods. ``fold_periods`` maps fold key to its number of test periods, in time order.

    Blocks are anchored at the first fold, so adding a month later changes only the last block;
    a short remainder at the end joins the last full block. Labels read "first..last" fold.
    """
    groups: list[list[str]] = []
    current: list[str] = []
    count = 0
    for key, periods in fold_periods.items():
        current.append(str(key))
        count += int(periods)
        if count >= min_periods:
            groups.append(current)
            current, count = [], 0
    if current:
        if groups:
            groups[-1].extend(current)
        else:
            groups.append(current)
    return {key: (g[0] if len(g) == 1 else f"{g[0]}..{g[-1]}") for g in groups for key in g}


def skill(actual: np.ndarray, predicted: np.ndarray, naive: np.ndarray) -> float:
    """1 - MSE(predicted) / MSE(naive): 0 is no better than the naive forecast, 1 is perfect."""
    keep = np.isfinite(actual) & np.isfinite(predicted) & np.isfinite(naive)
    naive_mse = float(np.mean((actual[keep] - naive[keep]) ** 2)) if keep.any() else 0.0
    if naive_mse <= 0.0:
        return float("nan")
    return 1.0 - float(np.mean((actual[keep] - predicted[keep]) ** 2)) / naive_mse


def score_blocks(pooled: pd.DataFrame, min_periods: int, exclude: Collection[str] = ()) -> pd.DataFrame:
    """One row per block of consecutive folds: its R² against the pooled out-of-sample variance
    and, when ``pooled`` has a ``naive`` column, its skill against the naive forecast.

    ``exclude``: fold keys left out before blocks are formed (folds with a first-ever event).
    """
    if min_periods < 1:
        raise ValueError(f"settings.gate.min_block_periods is {min_periods}; it must be >= 1")
    kept = pooled[~pooled["fold"].astype(str).isin(set(exclude))]
    if kept.empty:
        return pd.DataFrame(columns=BLOCK_COLUMNS)
    variance = float(np.var(kept["actual"].to_numpy(float)))
    periods = kept.groupby("fold", sort=True)["date"].nunique()
    labels = kept["fold"].astype(str).map(fold_blocks(periods, min_periods))
    naive = kept["naive"] if "naive" in kept else pd.Series(np.nan, index=kept.index)
    rows = []
    for label, part in kept.groupby(labels, sort=False):
        actual, predicted = part["actual"].to_numpy(float), part["predicted"].to_numpy(float)
        mse = float(np.mean((actual - predicted) ** 2))
        folds = sorted(part["fold"].astype(str).unique())
        rows.append({
            "block": label, "first_fold": folds[0], "last_fold": folds[-1], "folds": len(folds),
            "n_periods": int(part["date"].nunique()),
            "r2": 1.0 - mse / variance if variance > 0.0 else float("nan"),
            "naive_skill": skill(actual, predicted, naive.loc[part.index].to_numpy(float)),
        })
    return pd.DataFrame(rows, columns=BLOCK_COLUMNS)


def pooled_skill(pooled: pd.DataFrame, exclude: Collection[str] = ()) -> float:
    """Skill against the naive forecast over every pooled out-of-sample row (NaN without one)."""
    if "naive" not in pooled:
        return float("nan")
    kept = pooled[~pooled["fold"].astype(str).isin(set(exclude))]
    return skill(kept["actual"].to_numpy(float), kept["predicted"].to_numpy(float), kept["naive"].to_numpy(float))
