"""Out-of-sample accuracy metrics shared by walk-forward, baselines, hold-out and the gate.

All functions take plain arrays (any shape; they are flattened) so that the NAM, every
baseline and the final hold-out are scored by literally the same code. Percent-type metrics
are returned as fractions (0.05 means 5%) because the gate and the results schema compare
them as numbers, not strings.
"""

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

#: the metric keys written into summary.json (``holdout_metrics`` and ``walk_forward.overall``)
METRIC_KEYS: tuple[str, ...] = ("r2", "mape", "smape", "rmse", "nrmse", "directional_accuracy")


def _pair(actual: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(actual, dtype=float).ravel()
    p = np.asarray(predicted, dtype=float).ravel()
    if a.shape != p.shape:
        raise ValueError(f"actual has {a.size} values but predicted has {p.size}; they must align")
    keep = np.isfinite(a) & np.isfinite(p)
    if not keep.all():
        log.warning("dropping %d non-finite actual/predicted pairs before scoring", int((~keep).sum()))
    return a[keep], p[keep]


def r2(actual: np.ndarray, predicted: np.ndarray, reference_mean: float | None = None) -> float:
    """Coefficient of determination 1 - SSE/SST.

    ``reference_mean`` replaces the sample mean in SST (out-of-sample R² against a known level);
    NaN when SST is zero, because R² of a constant series says nothing.
    """
    a, p = _pair(actual, predicted)
    if a.size == 0:
        return float("nan")
    centre = a.mean() if reference_mean is None else float(reference_mean)
    sst = float(np.sum((a - centre) ** 2))
    if sst <= 0.0:
        return float("nan")
    return 1.0 - float(np.sum((a - p) ** 2)) / sst


def r2_against_variance(actual: np.ndarray, predicted: np.ndarray, variance: float) -> float:
    """1 - MSE / ``variance``: R² of a short test window scaled by a longer window's variance.

    A monthly fold of weekly data has four or five points, so an R² against its own mean is
    noise; scoring its mean squared error against the variance of the series the fold can
    see (training + test periods) keeps folds comparable and defined even for one period.
    """
    a, p = _pair(actual, predicted)
    if a.size == 0 or not np.isfinite(variance) or variance <= 0.0:
        return float("nan")
    return 1.0 - float(np.mean((a - p) ** 2)) / float(variance)


def mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute percentage error, as a fraction, over periods whose actual is non-zero."""
    a, p = _pair(actual, predicted)
    nz = a != 0.0
    if not nz.any():
        return float("nan")
    return float(np.mean(np.abs((a[nz] - p[nz]) / a[nz])))


def smape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Symmetric MAPE, 2|a-p|/(|a|+|p|), as a fraction in [0, 2]; pairs that are both 0 skipped."""
    a, p = _pair(actual, predicted)
    denom = np.abs(a) + np.abs(p)
    nz = denom > 0.0
    if not nz.any():
        return float("nan")
    return float(np.mean(2.0 * np.abs(a[nz] - p[nz]) / denom[nz]))


def rmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    a, p = _pair(actual, predicted)
    if a.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean((a - p) ** 2)))


def nrmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    """RMSE divided by the mean absolute actual, so datasets of any currency compare."""
    a, p = _pair(actual, predicted)
    scale = float(np.mean(np.abs(a))) if a.size else 0.0
    if scale <= 0.0:
        return float("nan")
    return rmse(a, p) / scale


def directional_accuracy(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Share of consecutive periods where the prediction moves the same way as the actual.

    Inputs are one time series each (in time order). Steps where the actual does not move are
    skipped: there is no direction to get right. An MMM explains movements from drivers, so we
    compare the sign of the predicted change with the sign of the actual change.
    """
    a, p = _pair(actual, predicted)
    if a.size < 2:
        return float("nan")
    da, dp = np.diff(a), np.diff(p)
    moving = da != 0.0
    if not moving.any():
        return float("nan")
    return float(np.mean(np.sign(da[moving]) == np.sign(dp[moving])))


def panel_directional_accuracy(frame: pd.DataFrame) -> float:
    """Directional accuracy pooled over nodes: each node's series is differenced on its own.

    ``frame`` has columns date, node, actual, predicted. Pooling the steps (not averaging the
    per-node ratios) weights every period equally.
    """
    hits = 0
    steps = 0
    for _, group in frame.sort_values("date").groupby("node", sort=False):
        da = np.diff(group["actual"].to_numpy(float))
        dp = np.diff(group["predicted"].to_numpy(float))
        moving = (da != 0.0) & np.isfinite(da) & np.isfinite(dp)
        hits += int(np.sum(np.sign(da[moving]) == np.sign(dp[moving])))
        steps += int(moving.sum())
    return hits / steps if steps else float("nan")


def score(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Every metric in :data:`METRIC_KEYS` for one series (directional accuracy in array order)."""
    return {
        "r2": r2(actual, predicted),
        "mape": mape(actual, predicted),
        "smape": smape(actual, predicted),
        "rmse": rmse(actual, predicted),
        "nrmse": nrmse(actual, predicted),
        "directional_accuracy": directional_accuracy(actual, predicted),
    }


def score_frame(frame: pd.DataFrame) -> dict[str, float]:
    """Every metric for a long prediction table (date, node, actual, predicted).

    Level metrics pool all rows; directional accuracy differences each node over time.
    """
    _require(frame, ("date", "node", "actual", "predicted"), "prediction table")
    out = score(frame["actual"].to_numpy(float), frame["predicted"].to_numpy(float))
    out["directional_accuracy"] = panel_directional_accuracy(frame)
    return out


def total_level(frame: pd.DataFrame) -> pd.DataFrame:
    """Sum actual and predicted over nodes per date: the business's top line."""
    _require(frame, ("date", "actual", "predicted"), "prediction table")
    total = frame.groupby("date", sort=True)[["actual", "predicted"]].sum().reset_index()
    total["node"] = "total"
    return total[["date", "node", "actual", "predicted"]]


def by_level(frame: pd.DataFrame, node_category: dict[str, str] | None = None) -> pd.DataFrame:
    """Metrics at every hierarchy level: each node, each category (summed nodes) and the total.

    Returns one row per (level, name) with the :data:`METRIC_KEYS` columns and ``n`` rows
    scored. Categories appear only when some category holds more than one node (otherwise the
    category level repeats the node level).
    """
    rows: list[dict] = []

    def add(level: str, name: str, part: pd.DataFrame) -> None:
        rows.append({"level": level, "name": name, "n": len(part), **score_frame(part)})

    for node, part in frame.groupby("node", sort=False):
        add("node", str(node), part)
    if node_category and len(set(node_category.values())) < len(node_category):
        cats = frame.assign(category=frame["node"].map(node_category))
        if cats["category"].isna().any():
            missing = sorted(cats.loc[cats["category"].isna(), "node"].unique())
            raise ValueError(f"node(s) {join_names(missing)} have no category in node_category")
        for cat, part in cats.groupby("category", sort=False):
            summed = part.groupby("date", sort=True)[["actual", "predicted"]].sum().reset_index()
            add("category", str(cat), summed.assign(node=str(cat)))
    if frame["node"].nunique() > 1:
        add("total", "total", total_level(frame))
    return pd.DataFrame(rows, columns=["level", "name", "n", *METRIC_KEYS])


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {join_names(missing)}; it has {join_names(frame.columns)}")
