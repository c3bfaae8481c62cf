"""Optuna search over NAM settings, scored by walk-forward out-of-sample error.

The objective is the pooled out-of-sample error (``tuning.objective``, default NRMSE) of the
*tuning folds* only (:func:`~mmm_pipeline.core.train.walk_forward.tuning_fold_months`), which
never touch the final hold-out, so the hold-out stays an honest check of the tuned model.
TPE proposes settings; after each fold the running error is reported so the median pruner can
stop a trial that is already worse than the median of earlier trials at the same fold.

The search space is data, not code: ``tuning.space`` maps a settings path
("training.learning_rate") to ``{low, high, log}``, ``{low, high, int}`` or ``{choices}``;
``relative: true`` multiplies low/high by the configured value (``l_max`` is in periods, so
its range depends on the frequency). Dropout is not searched: the NAM has none, and it would
break the by-construction monotone shape networks (they contain no dropout or batch norm).

The best trial comes back as a nested settings override (``best_settings_override``) that the
model asset deep-merges into the dataset's settings when ``tuning.enabled`` is true.
"""

import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from mmm_pipeline.core.config import PROJECT_ROOT, deep_merge
from mmm_pipeline.core.evaluate import metrics
from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.train.errors import periods_needed
from mmm_pipeline.core.train.walk_forward import make_folds, run_fold, tuning_fold_months
from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

OBJECTIVES = ("nrmse", "rmse", "mape", "smape")


@dataclass
class StudyResult:
    study_name: str
    storage_url: str | None
    objective: str
    months: list[str]  # tuning folds scored by every trial
    best_value: float
    best_params: dict[str, Any]  # flat: settings path -> value
    best_settings_override: dict[str, Any]  # nested, deep-merge into config.settings
    trials: pd.DataFrame
    importances: dict[str, float]
    importance_note: str
    n_complete: int
    n_pruned: int
    n_failed: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary (the trials table as records)."""
        trials = self.trials.copy()
        for col in trials.columns:
            if pd.api.types.is_datetime64_any_dtype(trials[col]):
                trials[col] = trials[col].astype(str)
            elif pd.api.types.is_timedelta64_dtype(trials[col]):
                trials[col] = trials[col].dt.total_seconds()
        records = json.loads(trials.to_json(orient="records"))
        return {
            "study_name": self.study_name,
            "storage_url": self.storage_url,
            "objective": self.objective,
            "months": list(self.months),
            "best_value": self.best_value if math.isfinite(self.best_value) else None,
            "best_params": self.best_params,
            "best_settings_override": self.best_settings_override,
            "trials": records,
            "importances": self.importances,
            "importance_note": self.importance_note,
            "n_complete": self.n_complete,
            "n_pruned": self.n_pruned,
            "n_failed": self.n_failed,
            "seconds": self.seconds,
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------------------------
# settings paths and search space
# --------------------------------------------------------------------------------------------


def get_path(settings: Mapping[str, Any], path: str) -> Any:
    node: Any = settings
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(f"settings have no '{path}' (missing '{part}'); fix tuning.space")
        node = node[part]
    return node


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """{"a.b": 1, "a.c": 2} -> {"a": {"b": 1, "c": 2}}."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        node = out
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def apply_override(settings: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Settings with a tuning override deep-merged in (siblings of tuned keys are kept)."""
    return deep_merge(dict(settings), dict(override))


def suggest(trial: optuna.Trial, space: Mapping[str, Mapping[str, Any]], settings: Mapping[str, Any]) -> dict[str, Any]:
    """One value per search-space entry; returns the flat {path: value} of this trial."""
    chosen: dict[str, Any] = {}
    for path, spec in space.items():
        current = get_path(settings, path)
        if "choices" in spec:
            chosen[path] = trial.suggest_categorical(path, list(spec["choices"]))
            continue
        low, high = float(spec["low"]), float(spec["high"])
        if spec.get("relative"):
            low, high = low * float(current), high * float(current)
        if spec.get("int") or (isinstance(current, int) and not isinstance(current, bool)):
            lo, hi = max(1, int(round(low))), max(1, int(round(high)))
            chosen[path] = trial.suggest_int(path, min(lo, hi), max(lo, hi), log=bool(spec.get("log")))
        else:
            chosen[path] = trial.suggest_float(path, low, high, log=bool(spec.get("log")))
    return chosen


def _validate_space(space: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
    if not space:
        raise ValueError("settings.tuning.space is empty: nothing to tune")
    for path, spec in space.items():
        get_path(settings, path)
        if not isinstance(spec, Mapping) or not ("choices" in spec or {"low", "high"} <= set(spec)):
            raise ValueError(f"tuning.space['{path}'] needs `choices` or `low` and `high`, got {spec!r}")
        if "dropout" in path:
            raise ValueError(f"tuning.space['{path}']: the NAM has no dropout (it would break monotone nets)")


# --------------------------------------------------------------------------------------------
# storage
# --------------------------------------------------------------------------------------------


def resolve_storage(url: str | None) -> str | None:
    """A relative SQLite path is anchored at the project root and its folder created;
    ``None``/"memory" keeps the study in memory; other SQLAlchemy URLs pass through."""
    if url is None or url in ("", "memory", ":memory:"):
        return None
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        path = Path(url[len(prefix):])
        path = path if path.is_absolute() else PROJECT_ROOT / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return prefix + str(path)
    if url.startswith(prefix + "/"):
        Path(url[len(prefix):]).parent.mkdir(parents=True, exist_ok=True)
    return url


# --------------------------------------------------------------------------------------------
# study
# --------------------------------------------------------------------------------------------


def _pooled_error(frames: Sequence[pd.DataFrame], objective: str) -> float:
    pooled = pd.concat(frames, ignore_index=True)
    return float(getattr(metrics, objective)(pooled["actual"].to_numpy(float), pooled["predicted"].to_numpy(float)))


def make_objective(
    data: ModelData, settings: Mapping[str, Any], months: Sequence[str], space: Mapping[str, Any], objective: str
):
    """The Optuna objective: tuned settings -> pooled OOS error over ``months``, reported per fold."""
    from mmm_pipeline.core.train.errors import InsufficientDataError

    folds = make_folds(data, settings, months)
    seed = int((settings.get("training") or {}).get("seed", 0))
    epochs = (settings.get("tuning") or {}).get("epochs")

    def run(trial: optuna.Trial) -> float:
        flat = suggest(trial, space, settings)
        trial_settings = apply_override(settings, nest(flat))
        if epochs:
            trial_settings = apply_override(trial_settings, {"training": {"epochs": int(epochs)}})
        frames = []
        value = float("nan")
        for step, fold in enumerate(folds):
            try:
                result = run_fold(data, fold.month, trial_settings, fold=fold, seed=seed)
            except InsufficientDataError as exc:  # e.g. an l_max the data cannot support
                raise optuna.TrialPruned(f"fold {fold.month}: {exc}") from exc
            if not result.ok:
                raise optuna.TrialPruned(f"fold {fold.month} skipped: {result.reason}")
            frames.append(result.predictions)
            value = _pooled_error(frames, objective)
            if not math.isfinite(value):
                raise optuna.TrialPruned(f"fold {fold.month}: non-finite {objective}")
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after fold {fold.month} ({objective} {value:.4g})")
        return value

    return run


def _importances(study: optuna.Study) -> tuple[dict[str, float], str]:
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if len(complete) < 2:
        return {}, f"{len(complete)} completed trial(s): at least 2 are needed for parameter importances"
    try:
        values = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError, ZeroDivisionError) as exc:
        return {}, f"parameter importances could not be computed from {len(complete)} trials: {exc}"
    return {k: float(v) for k, v in values.items()}, f"fANOVA over {len(complete)} completed trials"


def run_study(
    data: ModelData,
    settings: Mapping[str, Any],
    storage_url: str | None = None,
    study_name: str | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    *,
    holdout_periods: int | None = None,
    months: Sequence[str] | None = None,
) -> StudyResult:
    """Tune the NAM on the walk-forward tuning folds and return the best settings override.

    ``storage_url``: any SQLAlchemy URL (default ``settings.tuning.storage``; "memory" for none);
    a study of the same name in that storage is resumed. ``holdout_periods`` defaults to
    ``data.meta["holdout_periods"]`` (0 if absent); pass ``config.holdout.periods``.
    ``months`` overrides the tuning folds (they must still be walk-forward months).
    """
    tuning = dict(settings.get("tuning") or {})
    objective = str(tuning.get("objective", "nrmse"))
    if objective not in OBJECTIVES:
        raise ValueError(f"settings.tuning.objective is '{objective}'; use {join_names(OBJECTIVES, 'or')}")
    space = dict(tuning.get("space") or {})
    _validate_space(space, settings)
    holdout = int(data.meta.get("holdout_periods", 0) if holdout_periods is None else holdout_periods)
    chosen = list(months) if months is not None else tuning_fold_months(
        data.dates, settings, holdout, max_folds=tuning.get("max_folds"),
        min_train_periods=periods_needed(data, settings),
    )
    if not chosen:
        raise ValueError(
            f"{data.dataset or 'data'}: no walk-forward fold is free of the {holdout}-period hold-out; "
            "lower walk_forward.initial_months or add data"
        )
    name = study_name or tuning.get("study_name") or f"mmm_{data.dataset or 'dataset'}"
    url = resolve_storage(storage_url if storage_url is not None else tuning.get("storage"))
    pruner_cfg = dict(tuning.get("pruner") or {})
    seed = int((settings.get("training") or {}).get("seed", 0))
    study = optuna.create_study(
        study_name=name,
        storage=url,
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=int(pruner_cfg.get("n_startup_trials", 3)),
            n_warmup_steps=int(pruner_cfg.get("n_warmup_steps", 1)),
        ),
        load_if_exists=True,
    )
    log.info("tuning %s on folds %s (%s, %s trials)", name, chosen, objective, n_trials or tuning.get("n_trials"))
    started = time.perf_counter()
    study.optimize(
        make_objective(data, settings, chosen, space, objective),
        n_trials=int(n_trials if n_trials is not None else tuning.get("n_trials", 20)),
        timeout=timeout if timeout is not None else tuning.get("timeout_s"),
        gc_after_trial=True,
    )
    seconds = time.perf_counter() - started
    return _result(study, url, objective, chosen, seconds)


def _result(study: optuna.Study, url: str | None, objective: str, months: list[str], seconds: float) -> StudyResult:
    states = [t.state for t in study.trials]
    complete = states.count(optuna.trial.TrialState.COMPLETE)
    notes: list[str] = []
    if complete:
        best = study.best_trial
        best_value, best_params = float(best.value), dict(best.params)
    else:
        best_value, best_params = float("nan"), {}
        notes.append("no trial completed: keep the configured settings")
    importances, note = _importances(study)
    return StudyResult(
        study_name=study.study_name,
        storage_url=url,
        objective=objective,
        months=months,
        best_value=best_value,
        best_params=best_params,
        best_settings_override=nest(best_params),
        trials=study.trials_dataframe(),
        importances=importances,
        importance_note=note,
        n_complete=complete,
        n_pruned=states.count(optuna.trial.TrialState.PRUNED),
        n_failed=states.count(optuna.trial.TrialState.FAIL),
        seconds=seconds,
        notes=notes,
    )


def best_override_from_storage(storage_url: str, study_name: str) -> dict[str, Any]:
    """The best settings override of a stored study (empty when it has no completed trial)."""
    study = optuna.load_study(study_name=study_name, storage=resolve_storage(storage_url))
    if not any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials):
        return {}
    return nest(study.best_trial.params)


__all__ = [
    "StudyResult",
    "apply_override",
    "best_override_from_storage",
    "make_objective",
    "nest",
    "resolve_storage",
    "run_study",
    "suggest",
]
