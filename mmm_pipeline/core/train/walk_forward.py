"""Monthly walk-forward validation: one fold per test month, never trained on the future.

A fold is named by its test month ("YYYY-MM"). Its model is trained on every period of the
months before it (expanding window) or of the ``rolling_months`` months before it (rolling
window) and predicts the periods of the test month. A period belongs to the month of its start
date, so a week that starts on 30 April is an April week. Folds start once
``initial_months`` months of training exist, so a new month of data adds exactly one fold
(the Dagster layer builds its partitions from :func:`fold_months`).

The final hold-out (``config.holdout.periods``) is part of the walk-forward months, because the
partition set must only ever grow by appending; :func:`tuning_fold_months` is the list Optuna
may use, and it never contains a month that touches the hold-out.
"""

import hashlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from mmm_pipeline.core.evaluate import metrics, time_blocks
from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.train.errors import periods_needed
from mmm_pipeline.core.train.fold_plan import (  # noqa: F401  (re-exported: the fold-key helpers)
    FoldPlan,
    WalkForwardSettings,
    data_months,
    period_keys,
    period_months,
    plan_folds,
    unit_start,
)
from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

#: feature kinds whose elasticity is recorded per fold. Events and Fourier terms (``linear``)
#: are 0/1 or signed waves, where d log y / d log x has no meaning.
ELASTICITY_KINDS: tuple[str, ...] = ("media", "decreasing", "increasing", "concave", "free")


# --------------------------------------------------------------------------------------------
# settings and months
# --------------------------------------------------------------------------------------------


def fold_months(
    dates: pd.DatetimeIndex | Sequence, settings: Mapping[str, Any], min_train_periods: int = 0
) -> list[str]:
    """Test keys of every fold (months, or weeks for short histories; see :mod:`.fold_plan`).

    This is the partition list of the walk-forward asset. Appending one month (or week) of data
    appends exactly one key here and leaves the others unchanged, as long as the plan's fold
    length and initial window stay the same.
    """
    return plan_folds(dates, settings, min_train_periods).keys


def data_fold_plan(data: ModelData, settings: Mapping[str, Any]) -> FoldPlan:
    """The fold plan of ``data``: its first fold trains on at least the periods the model needs."""
    return plan_folds(data.dates, settings, periods_needed(data, settings))


def holdout_mask(n_periods: int, holdout_periods: int) -> np.ndarray:
    """``[T]`` bool, true for the final ``holdout_periods`` periods."""
    if holdout_periods < 0 or holdout_periods > n_periods:
        raise ValueError(f"holdout of {holdout_periods} periods does not fit {n_periods} periods of data")
    mask = np.zeros(n_periods, dtype=bool)
    if holdout_periods:
        mask[-holdout_periods:] = True
    return mask


def tuning_fold_months(
    dates: pd.DatetimeIndex | Sequence,
    settings: Mapping[str, Any],
    holdout_periods: int = 0,
    max_folds: int | None = None,
    min_train_periods: int = 0,
) -> list[str]:
    """Fold months Optuna may score: none touches the final hold-out.

    ``walk_forward.tuning_folds`` > 0 keeps only the first N folds (the later ones are the
    final check); ``max_folds`` then keeps the most recent of those, which have the most
    training data and resemble the deployment situation most.
    """
    wf = WalkForwardSettings.from_settings(settings)
    idx = pd.DatetimeIndex(dates)
    plan = plan_folds(idx, settings, min_train_periods)
    held = set(period_keys(idx, plan.unit)[holdout_mask(len(idx), holdout_periods)])
    candidates = plan.keys
    if wf.tuning_folds:
        candidates = candidates[: wf.tuning_folds]
    chosen = [m for m in candidates if m not in held]
    if max_folds is not None and max_folds > 0:
        chosen = chosen[-max_folds:]
    return chosen


# --------------------------------------------------------------------------------------------
# folds
# --------------------------------------------------------------------------------------------


def _digest(mask: np.ndarray) -> str:
    return hashlib.sha1(np.packbits(np.asarray(mask, dtype=bool)).tobytes() + str(len(mask)).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Fold:
    """Boolean masks over ``data.dates`` for one test month.

    ``end`` is the number of periods up to the end of the test month: the model sees
    ``data`` sliced to ``[:end]`` so adstock can carry over into the test month, and no period
    after the test month exists for it.
    """

    month: str
    train_mask: np.ndarray
    test_mask: np.ndarray
    window: str

    @property
    def end(self) -> int:
        return int(np.flatnonzero(self.test_mask)[-1]) + 1

    @property
    def n_train(self) -> int:
        return int(self.train_mask.sum())

    @property
    def n_test(self) -> int:
        return int(self.test_mask.sum())

    @property
    def train_digest(self) -> str:
        """Short hash of the training mask, so two runs can prove they used the same periods."""
        return _digest(self.train_mask)

    @property
    def test_digest(self) -> str:
        return _digest(self.test_mask)


def make_fold(data: ModelData, month: str, settings: Mapping[str, Any]) -> Fold:
    """The fold whose test month is ``month`` ("YYYY-MM"), which must be one of :func:`fold_months`."""
    return make_folds(data, settings, [month])[0]


def make_folds(data: ModelData, settings: Mapping[str, Any], months: Sequence[str] | None = None) -> list[Fold]:
    """Folds for ``months`` (fold keys; default: every fold of :func:`data_fold_plan`), in the order given."""
    wf = WalkForwardSettings.from_settings(settings)
    plan = data_fold_plan(data, settings)
    valid = plan.keys
    chosen = valid if months is None else list(months)
    of_period = period_keys(data.dates, plan.unit)
    folds = []
    for month in chosen:
        if month not in valid:
            span = f"{valid[0]}..{valid[-1]}" if valid else "none"
            raise ValueError(
                f"{data.dataset or 'data'}: '{month}' is not a walk-forward test {plan.unit}; valid ones are {span} "
                f"({plan.describe()})"
            )
        position = plan.units.index(month)
        test_mask = of_period == month
        train_mask = np.isin(of_period, plan.units[:position])
        if wf.window == "rolling":
            train_mask &= data.dates >= unit_start(month) - pd.DateOffset(months=wf.rolling_months)
        fold = Fold(month=month, train_mask=train_mask, test_mask=test_mask, window=wf.window)
        _check_no_leak(data.dates, fold)
        folds.append(fold)
    return folds


def _check_no_leak(dates: pd.DatetimeIndex, fold: Fold) -> None:
    """Guard the one property walk-forward exists for: every training date precedes every test date."""
    if fold.n_train == 0 or fold.n_test == 0:
        raise ValueError(f"fold {fold.month}: {fold.n_train} training and {fold.n_test} test periods")
    if dates[fold.train_mask].max() >= dates[fold.test_mask].min():
        raise AssertionError(f"fold {fold.month} would train on periods at or after its test month")


# --------------------------------------------------------------------------------------------
# one fold
# --------------------------------------------------------------------------------------------


@dataclass
class FoldResult:
    """What one walk-forward partition stores: out-of-sample predictions and the fold model's
    parameters. Plain data (pandas + dicts), picklable; :meth:`to_dict` is JSON-safe."""

    month: str
    status: str  # "ok" | "skipped" (the model refused to fit, see ``reason``)
    reason: str
    window: str
    train_start: str
    train_end: str
    test_start: str
    test_end: str
    n_train: int
    n_test: int
    train_digest: str
    test_digest: str
    predictions: pd.DataFrame  # date, node, category, actual, predicted, fold
    metrics: dict[str, float] = field(default_factory=dict)
    elasticities: dict[str, float] = field(default_factory=dict)  # node-average, member mean
    elasticities_by_node: dict[str, dict[str, float]] = field(default_factory=dict)
    roas: dict[str, float] = field(default_factory=dict)
    decay: dict[str, float] = field(default_factory=dict)
    constraint_violations: dict[str, float] = field(default_factory=dict)
    feature_kinds: dict[str, str] = field(default_factory=dict)  # feature name -> kind
    unseen: list[str] = field(default_factory=list)  # features constant in training, moving in the test month
    train_seconds: float = 0.0
    data_digest: str = ""  # of the data the fold saw (fold_data_digest): a stored fold is reused only while it matches
    model: Any = None  # the FittedNAM when run with keep_model=True (not serialised)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        preds = self.predictions.copy()
        if "date" in preds:
            preds["date"] = pd.to_datetime(preds["date"]).dt.strftime("%Y-%m-%d")
        return {
            "month": self.month,
            "status": self.status,
            "reason": self.reason,
            "window": self.window,
            "train_start": self.train_start,
            "train_end": self.train_end,
            "test_start": self.test_start,
            "test_end": self.test_end,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "train_digest": self.train_digest,
            "test_digest": self.test_digest,
            "predictions": preds.to_dict(orient="records"),
            "metrics": _clean(self.metrics),
            "elasticities": _clean(self.elasticities),
            "elasticities_by_node": {k: _clean(v) for k, v in self.elasticities_by_node.items()},
            "roas": _clean(self.roas),
            "decay": _clean(self.decay),
            "constraint_violations": _clean(self.constraint_violations),
            "feature_kinds": dict(self.feature_kinds),
            "unseen": list(self.unseen),
            "train_seconds": float(self.train_seconds),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "FoldResult":
        values = dict(raw)
        preds = pd.DataFrame(values.pop("predictions"), columns=PREDICTION_COLUMNS)
        preds["date"] = pd.to_datetime(preds["date"])
        for key in ("metrics", "elasticities", "roas", "decay", "constraint_violations"):
            values[key] = _floats(values.get(key) or {})
        values["elasticities_by_node"] = {k: _floats(v) for k, v in (values.get("elasticities_by_node") or {}).items()}
        return cls(predictions=preds, **values)


PREDICTION_COLUMNS = ["date", "node", "category", "actual", "predicted", "fold"]


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """Floats with NaN as None, so the dict survives json.dumps without invalid tokens."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, (float, np.floating)):
            out[str(key)] = None if not np.isfinite(value) else float(value)
        elif isinstance(value, (int, np.integer)):
            out[str(key)] = int(value)
        else:
            out[str(key)] = value
    return out


def _floats(values: Mapping[str, Any]) -> dict[str, float]:
    """Inverse of :func:`_clean` for numeric dicts: None back to NaN."""
    return {str(k): float("nan") if v is None else float(v) for k, v in values.items()}


def prediction_table(data: ModelData, rows: np.ndarray, predicted: np.ndarray, fold: str) -> pd.DataFrame:
    """Long (date, node) table of the periods ``rows`` (bool mask or indices); ``predicted`` is
    ``[len(rows), N]``. The one layout of every out-of-sample prediction the pipeline stores."""
    dates = data.dates[rows]
    n_nodes = len(data.nodes)
    return pd.DataFrame(
        {
            "date": np.repeat(dates.values, n_nodes),
            "node": np.tile(np.asarray(data.nodes, dtype=object), len(dates)),
            "category": np.tile(np.asarray(data.node_category, dtype=object), len(dates)),
            "actual": data.y[rows].reshape(-1).astype(float),
            "predicted": np.asarray(predicted, dtype=float).reshape(-1),
            "fold": fold,
        },
        columns=PREDICTION_COLUMNS,
    )


def fold_metrics(data: ModelData, fold: Fold, frame: pd.DataFrame) -> dict[str, float]:
    """Metrics of one fold's test rows.

    ``r2`` is 1 - MSE_test / Var(actual over the fold's training and test periods): defined for
    a one-period fold and comparable across folds (see :func:`metrics.r2_against_variance`);
    ``r2_local`` is the textbook R² against the test month's own mean, NaN for < 3 rows.
    """
    seen = data.y[fold.train_mask | fold.test_mask].astype(float)
    out = metrics.score_frame(frame)
    out["r2_local"] = out.pop("r2") if len(frame) >= 3 else float("nan")
    out["r2"] = metrics.r2_against_variance(frame["actual"], frame["predicted"], float(np.var(seen)))
    return out


def _base(fold: Fold, data: ModelData, status: str, reason: str) -> dict[str, Any]:
    train_dates = data.dates[fold.train_mask]
    test_dates = data.dates[fold.test_mask]
    return {
        "month": fold.month,
        "status": status,
        "reason": reason,
        "window": fold.window,
        "train_start": str(train_dates.min().date()),
        "train_end": str(train_dates.max().date()),
        "test_start": str(test_dates.min().date()),
        "test_end": str(test_dates.max().date()),
        "n_train": fold.n_train,
        "n_test": fold.n_test,
        "train_digest": fold.train_digest,
        "test_digest": fold.test_digest,
        "feature_kinds": {f.name: f.kind for f in data.features},
        "unseen": unseen_features(data, fold),
        "data_digest": fold_data_digest(data, fold.end),
    }


def fold_data_digest(data: ModelData, end: int) -> str:
    """Hash of everything a fold ending at period ``end`` reads: dates, features, target, spend,
    nodes and lift tests up to then. A new month appended leaves it unchanged; a revised past
    month changes it for every fold that saw that month, so those are recomputed."""
    digest = hashlib.sha256()
    for array in (data.dates[:end].asi8, data.X[:end], data.y[:end], data.spend[:end]):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(repr([(f.name, f.kind) for f in data.features] + list(data.nodes) + list(data.node_category)).encode())
    if data.experiments is not None:  # field by field: pickle bytes change with pandas' internal caches
        for value in vars(data.experiments).values():
            raw = value.asi8 if isinstance(value, pd.DatetimeIndex) else value
            digest.update(np.ascontiguousarray(raw).tobytes() if isinstance(raw, np.ndarray) else repr(raw).encode())
    return digest.hexdigest()[:16]


def fold_data_digests(data: ModelData, settings: Mapping[str, Any], months: Sequence[str]) -> dict[str, str]:
    """``{month: fold_data_digest}`` of the folds of ``months`` on ``data``."""
    return {f.month: fold_data_digest(data, f.end) for f in make_folds(data, settings, months)}


def unseen_features(data: ModelData, fold: Fold) -> list[str]:
    """Features that are constant over the training periods but take other values in the test
    month (a one-off event, a channel launched that month). Their effect cannot have been
    learned, so a poor fold with such a feature is explained by the data, not the model."""
    train = data.X[fold.train_mask]  # [Tr, N, F]
    test = data.X[fold.test_mask]
    flat_train = np.ptp(train, axis=(0, 1)) == 0
    moved = np.any(test != train[:1], axis=(0, 1))
    return [data.features[i].name for i in np.flatnonzero(flat_train & moved)]


def run_fold(
    data: ModelData,
    month: str,
    settings: Mapping[str, Any],
    *,
    fold: Fold | None = None,
    seed: int | None = None,
    keep_model: bool = False,
) -> FoldResult:
    """Fit the NAM on the fold's training periods and score it on its test month.

    The model is given ``data`` up to the end of the test month (adstock needs the history)
    and ``train_mask``, so the test month contributes inputs but never a loss term. A dataset
    the model refuses (``InsufficientDataError``) gives a ``skipped`` result with the reason
    instead of an exception, so the other partitions still aggregate.
    """
    # Imported here: building partitions (fold_months) must not pay torch's import time.
    from mmm_pipeline.core.train.errors import InsufficientDataError
    from mmm_pipeline.core.train.trainer import fit_nam

    fold = fold if fold is not None else make_fold(data, month, settings)
    if fold.month != month:
        raise ValueError(f"fold is for {fold.month} but month {month} was asked for")
    window = data.slice_time(np.arange(len(data.dates)) < fold.end)
    train_mask = fold.train_mask[: fold.end]
    started = time.perf_counter()
    try:
        fitted = fit_nam(window, dict(settings), train_mask=train_mask, seed=seed)
    except InsufficientDataError as exc:
        return _skipped(data, fold, exc)
    seconds = time.perf_counter() - started
    result = fold_result_from_model(data, fold, fitted, member=None, train_seconds=seconds)
    if keep_model:
        result.model = fitted
    log.info("fold %s: r2 %.3f, mape %.3f (%d train periods, %.1fs)", month,
             result.metrics["r2"], result.metrics["mape"], fold.n_train, seconds)
    return result


def _skipped(data: ModelData, fold: Fold, reason: Exception) -> FoldResult:
    """The result of a fold the model refused to fit: no predictions, the reason kept."""
    log.warning("fold %s skipped: %s", fold.month, reason)
    empty = pd.DataFrame(columns=PREDICTION_COLUMNS)
    return FoldResult(predictions=empty, **_base(fold, data, "skipped", str(reason)))


def fold_result_from_model(
    data: ModelData, fold: Fold, fitted: Any, *, member: int | None, train_seconds: float
) -> FoldResult:
    """Score a fitted model on ``fold`` and read its parameters off the training periods.

    ``member`` selects one member of a K-batched fit (one fold per member); ``None`` averages
    over all members (an ensemble fitted on this fold alone).
    """
    model = fitted.member(member) if member is not None else fitted
    window = data.slice_time(np.arange(len(data.dates)) < fold.end)
    test_rows = np.flatnonzero(fold.test_mask)
    predicted = np.asarray(model.predict(window)).mean(axis=0)[test_rows]
    frame = prediction_table(data, test_rows, predicted, fold.month)
    train_data = window.slice_time(fold.train_mask[: fold.end])
    elasticities, by_node = _elasticities(model, train_data)
    roas, decay = _channel_parameters(model, train_data)
    violations = {str(k): float(v) for k, v in dict(model.constraint_violation_rates(window)).items()}
    return FoldResult(
        predictions=frame,
        metrics=fold_metrics(data, fold, frame),
        elasticities=elasticities,
        elasticities_by_node=by_node,
        roas=roas,
        decay=decay,
        constraint_violations=violations,
        train_seconds=float(train_seconds),
        **_base(fold, data, "ok", ""),
    )


def _elasticities(model: Any, data: ModelData) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Member-mean elasticity per feature: node average and per node."""
    overall: dict[str, float] = {}
    by_node: dict[str, dict[str, float]] = {}
    for spec in data.features:
        if spec.kind not in ELASTICITY_KINDS:
            continue
        values = np.asarray(model.elasticity(spec.name, data), dtype=float).mean(axis=0)  # [N]
        by_node[spec.name] = {node: float(v) for node, v in zip(data.nodes, values)}
        overall[spec.name] = float(np.mean(values))
    return overall, by_node


def _channel_parameters(model: Any, data: ModelData) -> tuple[dict[str, float], dict[str, float]]:
    """Member-mean ROAS and adstock decay per channel over the training periods."""
    if len(data.channel_names) == 0:
        return {}, {}
    table = model.channel_summary(data)
    table = table.reset_index() if "channel" not in table.columns else table
    grouped = table.groupby("channel", sort=False)
    roas = {str(c): float(v) for c, v in grouped["roas"].mean().items()}
    decay = {str(c): float(v) for c, v in grouped["decay"].mean().items()} if "decay" in table else {}
    return roas, decay


def run_folds(
    data: ModelData,
    settings: Mapping[str, Any],
    months: Sequence[str] | None = None,
    *,
    seed: int | None = None,
) -> list[FoldResult]:
    """Every fold in sequence (the Dagster layer runs them as partitions instead)."""
    chosen = fold_months(data.dates, settings) if months is None else list(months)
    return [run_fold(data, m, settings, seed=seed) for m in chosen]


def batched_folds(settings: Mapping[str, Any]) -> bool:
    """``walk_forward.batched``: whether a run of several fold months fits them in one batch."""
    return bool((settings.get("walk_forward") or {}).get("batched", True))


def run_fold_range(
    data: ModelData, months: Sequence[str], settings: Mapping[str, Any], *, keep_model: bool = False
) -> dict[str, FoldResult]:
    """The folds of ``months``, each with its own result: one K-batched fit when
    ``walk_forward.batched`` is on and there are several months (see :func:`run_folds_batched`
    for what that approximates), else one fit per month. A single month, the usual monthly
    refresh, is always fitted on its own with early stopping, as :func:`run_fold`.
    """
    if batched_folds(settings) and len(months) > 1:
        return {r.month: r for r in run_folds_batched(data, settings, months, keep_model=keep_model)}
    return {m: run_fold(data, m, settings, keep_model=keep_model) for m in months}


def run_folds_batched(
    data: ModelData,
    settings: Mapping[str, Any],
    months: Sequence[str] | None = None,
    *,
    seed: int | None = None,
    keep_model: bool = False,
) -> list[FoldResult]:
    """All folds as the K members of one fit, member k weighted by fold k's training mask.

    One batched optimisation replaces K sequential ones, but it is an approximation of them,
    not a copy: the trainer fits one set of scalers (target mean, knot ranges) on the union of
    the training periods, so early folds' scalers see later months' *levels*; and the trainer's
    early-stopping slice is the last periods of that union, which would be the future for early
    folds, so it is switched off here (``validation_fraction = 0``: every member trains for the
    full ``training.epochs``). The sequential :func:`run_fold` is the reference; the benchmark
    reports how far the two differ. Lift tests: only those that ended inside the earliest fold's
    training periods, so no fold learns from a test run after its month (later folds lose their
    newer tests, on the cautious side). A fold too short for the model (judged on its own
    training periods, as :func:`run_fold` does) is ``skipped`` and left out of the batch.
    """
    from mmm_pipeline.core.train.errors import InsufficientDataError, require_enough_periods
    from mmm_pipeline.core.train.trainer import fit_nam

    folds, skipped = [], {}
    for fold in make_folds(data, settings, months):
        try:
            require_enough_periods(data.slice_time(fold.train_mask), settings)
            folds.append(fold)
        except InsufficientDataError as exc:
            skipped[fold.month] = _skipped(data, fold, exc)
    if not folds:
        return list(skipped.values())
    end = max(f.end for f in folds)
    window = data.slice_time(np.arange(len(data.dates)) < end)
    if window.experiments is not None:
        # one fit shares one set of lift tests: only those every fold could have known (ended
        # within the earliest fold's training periods), so no fold learns from a later test
        first = min(folds, key=lambda f: f.end)
        keep = window.experiments.end <= data.dates[np.flatnonzero(first.train_mask)[-1]]
        window = replace(window, experiments=window.experiments.select(keep) if keep.any() else None)
    weights = np.stack([f.train_mask[:end] for f in folds]).astype(float)
    union = weights.sum(axis=0) > 0
    batched_settings = dict(settings)
    batched_settings["training"] = {**dict(settings.get("training") or {}), "validation_fraction": 0.0}
    started = time.perf_counter()
    fitted = fit_nam(window, batched_settings, train_mask=union, sample_weights=weights, seed=seed)
    seconds = (time.perf_counter() - started) / len(folds)
    log.info("%d folds (%s .. %s) in one batched fit: %.1fs", len(folds), folds[0].month, folds[-1].month,
             seconds * len(folds))
    results = dict(skipped)
    for k, fold in enumerate(folds):
        results[fold.month] = fold_result_from_model(data, fold, fitted, member=k, train_seconds=seconds)
        if keep_model:
            results[fold.month].model = fitted.member(k)
    return [results[m] for m in sorted(results)]


# --------------------------------------------------------------------------------------------
# aggregation
# --------------------------------------------------------------------------------------------


@dataclass
class WalkForwardSummary:
    """Pooled out-of-sample accuracy and fold-to-fold stability of a walk-forward run."""

    overall: dict[str, float]  # node level, pooled over folds
    overall_total: dict[str, float]  # summed over nodes per date
    folds: pd.DataFrame  # one row per fold: month, status, r2, mape, rmse, ..., n_train, n_test
    fold_r2: dict[str, float]  # mean, std, min, max, range
    stability: dict[str, float]  # coefficient of variation across folds
    parameters: pd.DataFrame  # one row per ok fold: elasticity / roas / decay values
    predictions: pd.DataFrame  # pooled out-of-sample predictions with their fold
    by_level: pd.DataFrame  # metrics per node, category and total
    skipped: dict[str, str]  # month -> reason
    feature_kinds: dict[str, str] = field(default_factory=dict)

    def elasticity_cv(self) -> dict[str, float]:
        return {k: v for k, v in self.stability.items() if not k.startswith("roas:")}

    def to_dict(self) -> dict[str, Any]:
        """The ``walk_forward`` block of summary.json (plus total-level and by-level extras)."""
        folds = [
            {
                "month": row["month"],
                "r2": _num(row["r2"]),
                "mape": _num(row["mape"]),
                "rmse": _num(row["rmse"]),
                "n_train": int(row["n_train"]),
                "n_test": int(row["n_test"]),
                "unseen": [u for u in str(row["unseen"]).split(", ") if u],
            }
            for _, row in self.folds[self.folds["status"] == "ok"].iterrows()
        ]
        return {
            "overall": _clean(self.overall),
            "overall_total": _clean(self.overall_total),
            "folds": folds,
            "fold_r2": _clean(self.fold_r2),
            "stability": _clean(self.stability),
            "by_level": [_clean(r) for r in self.by_level.to_dict(orient="records")],
            "skipped": dict(self.skipped),
        }


def _num(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def coefficient_of_variation(values: Sequence[float]) -> float:
    """Sample std (ddof=1) over |mean|: inf when the mean is 0 but values move, NaN below 2 values."""
    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if x.size < 2:
        return float("nan")
    sd = float(np.std(x, ddof=1))
    centre = abs(float(np.mean(x)))
    if centre == 0.0:
        return 0.0 if sd == 0.0 else float("inf")
    return sd / centre


def aggregate_folds(results: Sequence[FoldResult], history: ModelData | None = None,
                    min_history_share: float = 0.5) -> WalkForwardSummary:
    """Pool the folds' out-of-sample predictions and measure how much the folds disagree.

    ``history``: the data the folds ran on; with it the pooled table gains a ``naive`` column
    (last year's same period, see :func:`time_blocks.naive_forecast`), the yardstick of the
    gate's skill check, which cannot be computed without it. Fold-to-fold stability (the CVs of
    elasticities and ROAS) uses only folds trained on at least ``min_history_share`` of the
    longest fold's history: the first folds of an expanding window know a fraction of what the
    final model knows, and their spread measures that, not an unstable answer.
    """
    months = [r.month for r in results]
    if len(set(months)) != len(months):
        dupes = sorted({m for m in months if months.count(m) > 1})
        raise ValueError(f"fold results repeat month(s) {join_names(dupes)}; each test month must appear once")
    ordered = sorted(results, key=lambda r: r.month)
    ok = [r for r in ordered if r.ok]
    skipped = {r.month: r.reason for r in ordered if not r.ok}
    if not ok:
        reasons = "; ".join(f"{month}: {reason}" for month, reason in skipped.items())
        raise ValueError(f"no fold produced predictions ({len(results)} results; skipped {reasons})")
    pooled = pd.concat([r.predictions for r in ok], ignore_index=True)
    pooled["date"] = pd.to_datetime(pooled["date"])
    pooled = pooled.sort_values(["date", "node"], kind="stable").reset_index(drop=True)
    if history is not None:
        pooled["naive"] = time_blocks.naive_forecast(pooled, history)
    node_category = dict(zip(pooled["node"], pooled["category"]))
    fold_rows = [
        {"month": r.month, "status": r.status, **{k: r.metrics.get(k, np.nan) for k in FOLD_METRICS},
         "n_train": r.n_train, "n_test": r.n_test, "train_seconds": r.train_seconds, "unseen": ", ".join(r.unseen)}
        for r in ordered
    ]
    folds = pd.DataFrame(
        fold_rows, columns=["month", "status", *FOLD_METRICS, "n_train", "n_test", "train_seconds", "unseen"]
    )
    fold_r2 = _spread(folds.loc[folds["status"] == "ok", "r2"].to_numpy(float))
    parameters = _parameter_table(ok)
    longest = max(r.n_train for r in ok)
    informed = parameters["month"].isin([r.month for r in ok if r.n_train >= min_history_share * longest])
    stability = {
        name: coefficient_of_variation(parameters.loc[informed, col].to_numpy(float))
        for col, name in _stability_columns(parameters).items()
    }
    return WalkForwardSummary(
        overall=metrics.score_frame(pooled),
        overall_total=metrics.score_frame(metrics.total_level(pooled)),
        folds=folds,
        fold_r2=fold_r2,
        stability=stability,
        parameters=parameters,
        predictions=pooled,
        by_level=metrics.by_level(pooled, node_category),
        skipped=skipped,
        feature_kinds=dict(ok[0].feature_kinds),
    )


FOLD_METRICS = ["r2", "r2_local", "mape", "smape", "rmse", "nrmse", "directional_accuracy"]


def _spread(values: np.ndarray) -> dict[str, float]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {k: float("nan") for k in ("mean", "std", "min", "max", "range")}
    return {
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if values.size > 1 else float("nan"),
        "min": float(values.min()),
        "max": float(values.max()),
        "range": float(values.max() - values.min()),
    }


def _parameter_table(ok: Sequence[FoldResult]) -> pd.DataFrame:
    rows = []
    for r in ok:
        row: dict[str, Any] = {"month": r.month}
        row.update({f"elasticity:{k}": v for k, v in r.elasticities.items()})
        row.update({f"roas:{k}": v for k, v in r.roas.items()})
        row.update({f"decay:{k}": v for k, v in r.decay.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def _stability_columns(parameters: pd.DataFrame) -> dict[str, str]:
    """Parameter-table column -> stability key: elasticities by feature name, ROAS as ``roas:<ch>``."""
    out = {}
    for col in parameters.columns:
        if col.startswith("elasticity:"):
            out[col] = col.removeprefix("elasticity:")
        elif col.startswith("roas:"):
            out[col] = col
    return out


# --------------------------------------------------------------------------------------------
# chart
# --------------------------------------------------------------------------------------------


def fold_chart(summary: WalkForwardSummary, min_r2: float | None = None) -> bytes:
    """PNG: pooled out-of-sample actual vs predicted (total level) over the fold months, and
    the R² of each fold with the gate's threshold, so a bad month is visible at a glance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    total = metrics.total_level(summary.predictions)
    ok = summary.folds[summary.folds["status"] == "ok"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6.5), gridspec_kw={"height_ratios": [3, 2]})
    try:
        top.plot(total["date"], total["actual"], color="#222222", lw=1.2, label="actual")
        top.plot(total["date"], total["predicted"], color="#d9480f", lw=1.2, label="out-of-sample prediction")
        starts = summary.predictions.groupby("fold")["date"].min().sort_values()
        for i, start in enumerate(starts):
            if i % 2 == 0:
                end = starts.iloc[i + 1] if i + 1 < len(starts) else total["date"].max()
                top.axvspan(start, end, color="#f1f3f5", zorder=0)
        top.set_title(f"Walk-forward: {len(ok)} folds, pooled R² {summary.overall['r2']:.3f}")
        top.legend(loc="upper left", frameon=False)
        top.set_ylabel("target (total)")
        colors = ["#2b8a3e" if (min_r2 is None or v >= min_r2) else "#c92a2a" for v in ok["r2"]]
        bottom.bar(range(len(ok)), ok["r2"].to_numpy(float), color=colors)
        if min_r2 is not None:
            bottom.axhline(min_r2, color="#495057", ls="--", lw=1, label=f"gate {min_r2:.2f}")
            bottom.legend(loc="lower left", frameon=False)
        step = max(1, len(ok) // 12)
        bottom.set_xticks(range(0, len(ok), step))
        bottom.set_xticklabels(list(ok["month"])[::step], rotation=45, ha="right", fontsize=8)
        bottom.set_ylabel("fold R²")
        fig.tight_layout()
        from io import BytesIO

        buffer = BytesIO()
        fig.savefig(buffer, format="png", dpi=110)
        return buffer.getvalue()
    finally:
        plt.close(fig)
