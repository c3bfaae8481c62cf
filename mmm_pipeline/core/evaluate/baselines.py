"""Reference models scored on exactly the walk-forward folds of the NAM.

A NAM that cannot beat a ridge regression on the same months has not earned its complexity,
so every baseline receives the same :class:`~mmm_pipeline.core.train.walk_forward.Fold`
objects (same train and test masks) and the same ModelData features:

* media spend is adstocked with one *fixed* geometric decay for every channel, set by a
  half-life in days (``baselines.adstock_half_life_days``, default 7: decay 0.5 per week,
  0.906 per day, 0.05 per month). Baselines get no fitted carry-over: fitting it is what the
  NAM adds. The recursion a_t = x_t + decay * a_{t-1} only looks back, so computing it over the
  whole series leaks nothing into a fold.
* every other feature enters as is, per node, rows are (period, node) pairs, and a node
  one-hot gives each node its own level when there is more than one node.

Models: ``ols`` (least squares), ``ridge`` (alpha chosen by TimeSeriesSplit over the fold's
training periods), ``spline_gam`` (cubic B-splines per continuous feature, held constant
outside the training range, plus the raw columns as linear terms, then ridge with the same CV)
and ``gbt`` (sklearn HistGradientBoosting).

The ridge CV is :class:`RidgePathCV`: the answer of a grid search over ``alphas`` from one
feature transform and one Gram matrix per CV split instead of one per split and alpha.
"""

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import TimeSeriesSplit
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import SplineTransformer, StandardScaler

from mmm_pipeline.core.evaluate import metrics
from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.train.walk_forward import Fold, fold_metrics
from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

BASELINE_MODELS: tuple[str, ...] = ("ols", "ridge", "spline_gam", "gbt")
PERIOD_DAYS = {"daily": 1.0, "weekly": 7.0, "monthly": 365.25 / 12.0}


@dataclass(frozen=True)
class BaselineSettings:
    models: tuple[str, ...] = BASELINE_MODELS
    adstock_half_life_days: float = 7.0
    cv_splits: int = 4
    alphas: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)
    spline_knots: int = 5
    gbt_max_iter: int = 300
    gbt_learning_rate: float = 0.05
    seed: int = 0

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "BaselineSettings":
        """``settings.baselines`` is either a list of model names or a mapping of these fields."""
        raw = settings.get("baselines", {})
        section: dict[str, Any] = {"models": raw} if isinstance(raw, (list, tuple)) else dict(raw or {})
        out = cls(
            models=tuple(section.get("models", cls.models)),
            adstock_half_life_days=float(section.get("adstock_half_life_days", cls.adstock_half_life_days)),
            cv_splits=int(section.get("cv_splits", cls.cv_splits)),
            alphas=tuple(float(a) for a in section.get("alphas", cls.alphas)),
            spline_knots=int(section.get("spline_knots", cls.spline_knots)),
            gbt_max_iter=int(section.get("gbt_max_iter", cls.gbt_max_iter)),
            gbt_learning_rate=float(section.get("gbt_learning_rate", cls.gbt_learning_rate)),
            seed=int(section.get("seed", cls.seed)),
        )
        unknown = [m for m in out.models if m not in BASELINE_MODELS]
        if unknown:
            raise ValueError(f"settings.baselines.models names unknown model(s) {join_names(unknown)}; "
                             f"the models are {join_names(BASELINE_MODELS)}")
        return out


def baseline_decay(frequency: str, half_life_days: float) -> float:
    """Per-period geometric decay whose carry-over halves every ``half_life_days`` days."""
    if frequency not in PERIOD_DAYS:
        raise ValueError(f"unknown frequency '{frequency}'; expected {join_names(sorted(PERIOD_DAYS), 'or')}")
    if half_life_days <= 0:
        return 0.0
    return float(0.5 ** (PERIOD_DAYS[frequency] / half_life_days))


def geometric_adstock(spend: np.ndarray, decay: float) -> np.ndarray:
    """``[T, C]`` carry-over a_t = x_t + decay * a_{t-1}, vectorised over channels."""
    spend = np.asarray(spend, dtype=float)
    out = np.empty_like(spend)
    carry = np.zeros(spend.shape[1:], dtype=float)
    for t in range(spend.shape[0]):  # a recursion over time; channels are one vector op
        carry = spend[t] + decay * carry
        out[t] = carry
    return out


@dataclass(frozen=True)
class Design:
    """Rows are (period, node) pairs in period-major order."""

    X: np.ndarray  # [T*N, P]
    y: np.ndarray  # [T*N]
    period: np.ndarray  # [T*N] period index
    columns: list[str]
    spline_columns: np.ndarray  # indices of continuous columns (splined in the GAM)


def design_matrix(data: ModelData, decay: float) -> Design:
    """Flatten ModelData into a regression table shared by every baseline."""
    t, n, _ = data.X.shape
    blocks: list[np.ndarray] = []
    columns: list[str] = []
    continuous: list[bool] = []
    media = data.media_index
    if media.size:
        stock = geometric_adstock(data.spend, decay)  # [T, C]
        blocks.append(np.repeat(stock[:, None, :], n, axis=1))
        columns += [f"{c}_adstock" for c in data.channel_names]
        continuous += [True] * media.size
    others = [i for i, f in enumerate(data.features) if f.kind != "media"]
    if others:
        blocks.append(data.X[:, :, others].astype(float))
        for i in others:
            values = data.X[:, :, i]
            columns.append(data.features[i].name)
            binary = np.isin(np.unique(values[np.isfinite(values)]), (0.0, 1.0)).all()
            continuous.append(data.features[i].kind != "linear" and not binary)
    if n > 1:
        blocks.append(np.broadcast_to(np.eye(n)[None, :, :], (t, n, n)))
        columns += [f"node={node}" for node in data.nodes]
        continuous += [False] * n
    if not blocks:
        raise ValueError(f"{data.dataset or 'data'}: no features to fit baselines on")
    X = np.concatenate(blocks, axis=2).reshape(t * n, -1)
    if not np.isfinite(X).all():
        bad = sorted({columns[j] for j in np.flatnonzero(~np.isfinite(X).all(axis=0))})
        raise ValueError(f"{data.dataset or 'data'}: non-finite feature values in {join_names(bad)}; impute them in features")
    return Design(
        X=X,
        y=data.y.reshape(-1).astype(float),
        period=np.repeat(np.arange(t), n),
        columns=columns,
        spline_columns=np.flatnonzero(np.asarray(continuous)),
    )


def _time_splits(period: np.ndarray, n_splits: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """TimeSeriesSplit over the distinct training periods, mapped back to (period, node) rows,
    so a validation block never shares a period with its training rows."""
    periods = np.unique(period)
    k = int(min(n_splits, max(2, len(periods) // 4)))
    if len(periods) < 3:
        raise ValueError(f"{len(periods)} training periods are too few for time-series CV")
    splits = []
    for tr, te in TimeSeriesSplit(n_splits=min(k, len(periods) - 1)).split(periods):
        splits.append((np.flatnonzero(np.isin(period, periods[tr])), np.flatnonzero(np.isin(period, periods[te]))))
    return splits


def _estimator(name: str, bs: BaselineSettings, design: Design, period: np.ndarray) -> Any:
    """A fresh, unfitted sklearn model; CV splits are built from the fold's training periods."""
    if name == "ols":
        return make_pipeline(StandardScaler(), LinearRegression())
    if name == "gbt":
        return HistGradientBoostingRegressor(
            max_iter=bs.gbt_max_iter, learning_rate=bs.gbt_learning_rate, early_stopping=False, random_state=bs.seed
        )
    if name == "ridge":
        features = Pipeline([("scale", StandardScaler())])
    elif name == "spline_gam":
        # Splines are held constant outside the training range (a fitted cubic's boundary slope
        # extrapolates wildly into a test month); the raw columns stay in as linear terms, so a
        # trend or a spend level beyond the training range still moves the prediction linearly.
        splines = ColumnTransformer(
            [
                ("spline", SplineTransformer(n_knots=bs.spline_knots, degree=3, extrapolation="constant"),
                 design.spline_columns),
                ("keep", "passthrough", np.arange(design.X.shape[1])),
            ]
        )
        features = Pipeline([("features", splines), ("scale", StandardScaler())])
    else:
        raise ValueError(f"unknown baseline '{name}'")
    return RidgePathCV(features, bs.alphas, _time_splits(period, bs.cv_splits))


class RidgePathCV:
    """``features`` then ridge, alpha chosen by the lowest mean squared error over ``cv``.

    The same choice and the same final model as ``GridSearchCV(features + Ridge, alphas)``,
    for a fraction of the work: the features do not depend on alpha, so each split transforms
    once, and sklearn's Ridge solves every alpha from one Gram matrix when given one target
    column per alpha. (The grid search refitted the transform and the Gram matrix for each of
    the splits x alphas: 25 fits per fold and model instead of 5.)
    """

    def __init__(self, features: Pipeline, alphas: Sequence[float], cv: list[tuple[np.ndarray, np.ndarray]]) -> None:
        self.features, self.alphas, self.cv = features, [float(a) for a in alphas], cv

    def fit(self, X: np.ndarray, y: np.ndarray) -> "RidgePathCV":
        errors = np.array([self._split_errors(X[train], y[train], X[val], y[val]) for train, val in self.cv])
        best = self.alphas[int(np.argmin(errors.mean(axis=0)))]  # the first of equal scores, as a grid search
        self.best_params_ = {"ridge__alpha": best}
        self.model_ = Pipeline([*clone(self.features).steps, ("ridge", Ridge(alpha=best))]).fit(X, y)
        return self

    def _split_errors(self, X: np.ndarray, y: np.ndarray, X_val: np.ndarray, y_val: np.ndarray) -> np.ndarray:
        """Validation mean squared error of every alpha on one split."""
        transform = clone(self.features)
        path = Ridge(alpha=np.asarray(self.alphas)).fit(transform.fit_transform(X, y),
                                                        np.repeat(y[:, None], len(self.alphas), axis=1))
        predicted = path.predict(transform.transform(X_val))  # [rows, alphas]
        return ((predicted - y_val[:, None]) ** 2).mean(axis=0)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict(X)


@dataclass
class BaselineRun:
    predictions: pd.DataFrame  # model, fold, date, node, category, actual, predicted
    folds: pd.DataFrame  # model, fold, n_train, n_test, train/test digests and dates, metrics, seconds


def run_baseline_folds(data: ModelData, folds: Sequence[Fold], settings: Mapping[str, Any]) -> BaselineRun:
    """Fit every configured baseline on every fold's training rows and predict its test rows."""
    bs = BaselineSettings.from_settings(settings)
    design = design_matrix(data, baseline_decay(data.frequency, bs.adstock_half_life_days))
    n_nodes = len(data.nodes)
    preds: list[pd.DataFrame] = []
    rows: list[dict[str, Any]] = []
    for fold in folds:
        if len(fold.train_mask) != len(data.dates):
            raise ValueError(f"fold {fold.month} has masks for {len(fold.train_mask)} periods, data has {len(data.dates)}")
        train_rows = np.repeat(fold.train_mask, n_nodes)
        test_rows = np.repeat(fold.test_mask, n_nodes)
        for name in bs.models:
            model = _estimator(name, bs, design, design.period[train_rows])
            started = time.perf_counter()
            model.fit(design.X[train_rows], design.y[train_rows])
            seconds = time.perf_counter() - started
            predicted = model.predict(design.X[test_rows])
            frame = _frame(data, fold, predicted).assign(model=name)
            preds.append(frame)
            rows.append(
                {
                    "model": name,
                    "fold": fold.month,
                    "n_train": fold.n_train,
                    "n_test": fold.n_test,
                    "train_digest": fold.train_digest,
                    "test_digest": fold.test_digest,
                    "train_start": data.dates[fold.train_mask].min(),
                    "train_end": data.dates[fold.train_mask].max(),
                    **fold_metrics(data, fold, frame),
                    "train_seconds": seconds,
                    "alpha": _chosen_alpha(model),
                }
            )
        log.debug("baselines fold %s done", fold.month)
    predictions = pd.concat(preds, ignore_index=True) if preds else pd.DataFrame(columns=["model", *_FRAME])
    return BaselineRun(predictions=predictions[["model", *_FRAME]], folds=pd.DataFrame(rows))


_FRAME = ["fold", "date", "node", "category", "actual", "predicted"]


def _frame(data: ModelData, fold: Fold, predicted: np.ndarray) -> pd.DataFrame:
    dates = data.dates[fold.test_mask]
    n = len(data.nodes)
    return pd.DataFrame(
        {
            "fold": fold.month,
            "date": np.repeat(dates.values, n),
            "node": np.tile(np.asarray(data.nodes, dtype=object), len(dates)),
            "category": np.tile(np.asarray(data.node_category, dtype=object), len(dates)),
            "actual": data.y[fold.test_mask].reshape(-1).astype(float),
            "predicted": np.asarray(predicted, dtype=float),
        }
    )


def _chosen_alpha(model: Any) -> float:
    best = getattr(model, "best_params_", None)
    return float(best["ridge__alpha"]) if best else float("nan")


def summarise_baselines(run: BaselineRun) -> pd.DataFrame:
    """One row per model: pooled out-of-sample metrics over all folds, fold-R² spread, seconds."""
    rows = []
    for name, part in run.predictions.groupby("model", sort=False):
        fold_part = run.folds[run.folds["model"] == name]
        rows.append(
            {
                "model": name,
                **metrics.score_frame(part),
                "r2_total": metrics.score_frame(metrics.total_level(part))["r2"],
                "fold_r2_mean": float(fold_part["r2"].mean()),
                "fold_r2_std": float(fold_part["r2"].std(ddof=1)) if len(fold_part) > 1 else float("nan"),
                "train_seconds": float(fold_part["train_seconds"].sum()),
                "n_folds": int(len(fold_part)),
            }
        )
    columns = ["model", *metrics.METRIC_KEYS, "r2_total", "fold_r2_mean", "fold_r2_std", "train_seconds", "n_folds"]
    return pd.DataFrame(rows, columns=columns)


def run_baselines(data: ModelData, folds: Sequence[Fold], settings: Mapping[str, Any]) -> pd.DataFrame:
    """Pooled out-of-sample metrics of every baseline on ``folds`` (see :func:`summarise_baselines`)."""
    return summarise_baselines(run_baseline_folds(data, folds, settings))


def baselines_for_summary(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The ``baselines`` list of summary.json: [{model, r2, mape, rmse, train_seconds}]."""
    out = []
    for _, row in table.iterrows():
        out.append({k: (row[k] if k == "model" else _finite(row[k])) for k in ("model", "r2", "mape", "rmse", "train_seconds")})
    return out


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
