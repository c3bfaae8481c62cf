"""Training group: Optuna study, walk-forward folds (one partition per test month), their
summary with the deployment gate, and the final NAM.

One run can compute a range of fold months (each stored as its own partition): the CLI and the
automation launch runs with partition-range tags. UI backfills split the months into runs of
at most ``FOLDS_PER_BACKFILL_RUN`` partitions, which the run queue executes in parallel.
"""

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from mmm_pipeline.core.evaluate.gate import GateResult, evaluate_gate
from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.train.fold_ensemble import ensemble_settings
from mmm_pipeline.core.train.walk_forward import (
    FoldResult,
    WalkForwardSummary,
    aggregate_folds,
    data_fold_plan,
    fold_chart,
    holdout_mask,
)
from mmm_pipeline.defs.charts import loss_curves_png, png_markdown
from mmm_pipeline.defs.metadata import json_value, plain, readable, table
from mmm_pipeline.defs.partitions import FOLD_PARTITIONS
from mmm_pipeline.defs.resources import DatasetResource
from mmm_pipeline.defs.runtime import limit_threads

# BackfillPolicy is marked beta in Dagster 1.13 and warns on every import of this module.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

#: the gate thresholds of settings.gate, each a blocking asset check on walk_forward_summary
FOLDS_PER_BACKFILL_RUN = 4
GATE_CHECKS = ("min_oos_r2", "max_block_r2_std", "max_block_r2_range", "min_naive_skill", "max_elasticity_cv",
               "max_constraint_violations")


class TuningConfig(dg.Config):
    """Run-time overrides of ``settings.tuning`` (None keeps the dataset's setting)."""

    enabled: bool | None = None
    n_trials: int | None = None
    timeout_s: float | None = None


@dataclass
class TuningOutcome:
    """The study's verdict: the settings override later assets deep-merge (empty when off)."""

    enabled: bool
    override: dict[str, Any]
    reason: str
    study: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainedModel:
    """The final NAM and where its checkpoint lives in the model store."""

    version: str
    fitted: Any  # FittedNAM
    checkpoint: str
    train_mask: np.ndarray
    settings: dict[str, Any]
    seconds: float


@dataclass
class WalkForwardOutcome:
    summary: WalkForwardSummary
    gate: GateResult
    months: list[str]
    gate_blocking: bool


def effective_settings(settings: dict[str, Any], tuning: TuningOutcome | None) -> dict[str, Any]:
    """Dataset settings with the tuned override applied (when tuning ran)."""
    from mmm_pipeline.core.train.tuning import apply_override

    if tuning is None or not tuning.override:
        return dict(settings)
    return apply_override(settings, tuning.override)


@dg.asset(group_name="training", kinds={"optuna"},
          description="Optuna search over NAM settings on the hold-out-free walk-forward folds; records that it is "
          "disabled unless settings.tuning.enabled (or the run config) turns it on.")
def tuning_study(context: dg.AssetExecutionContext, config: TuningConfig, dataset: DatasetResource,
                 feature_table: ModelData):
    cfg = dataset.load()
    settings = cfg.settings
    tuning = dict(settings.get("tuning") or {})
    enabled = tuning.get("enabled", False) if config.enabled is None else config.enabled
    if not enabled:
        outcome = TuningOutcome(False, {}, "tuning disabled (settings.tuning.enabled is false): the configured "
                                "settings are used as they are")
        context.log.info(outcome.reason)
        return dg.MaterializeResult(value=outcome, metadata={"enabled": False, "reason": outcome.reason})
    from mmm_pipeline.core.train.tuning import run_study

    limit_threads(settings)
    result = run_study(feature_table, settings, n_trials=config.n_trials, timeout=config.timeout_s,
                       holdout_periods=cfg.holdout.periods)
    outcome = TuningOutcome(True, result.best_settings_override,
                            f"best {result.objective} {result.best_value:.4g} after {result.n_complete} completed "
                            f"trial(s)", result.to_dict())
    context.log.info("tuning: %s; best settings: %s", outcome.reason,
                     ", ".join(f"{path} = {readable(value)}" for path, value in result.best_params.items()))
    trials = result.trials.copy()
    for col in trials.columns:
        if not pd.api.types.is_numeric_dtype(trials[col]):
            trials[col] = trials[col].astype(str)
    return dg.MaterializeResult(value=outcome, metadata={
        "enabled": True,
        "study_name": result.study_name,
        "storage": str(result.storage_url),
        "objective": result.objective,
        "best_value": readable(result.best_value),
        "best_settings_override": json_value(result.best_settings_override),
        "tuning_folds": json_value(result.months),
        "trials": table(trials),
        "n_complete": result.n_complete, "n_pruned": result.n_pruned, "n_failed": result.n_failed,
        "importances": json_value(result.importances),
        "seconds": round(result.seconds, 2),
    })


def _fold_row(result: FoldResult) -> dict[str, Any]:
    return {"month": result.month, "status": result.status, "r2": result.metrics.get("r2"),
            "mape": result.metrics.get("mape"), "rmse": result.metrics.get("rmse"), "n_train": result.n_train,
            "n_test": result.n_test, "train_seconds": round(result.train_seconds, 2), "reason": result.reason}


@dg.asset(
    group_name="training",
    partitions_def=FOLD_PARTITIONS,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=FOLDS_PER_BACKFILL_RUN),
    kinds={"pytorch"},
    description="One walk-forward fold per test month: the NAM trained on the months before it, scored on it. "
    "The months of one run are fitted together as the members of one batched fit (walk_forward.batched); each "
    "month is still stored as its own partition with its own metadata.",
)
def walk_forward_fold(context: dg.AssetExecutionContext, dataset: DatasetResource, feature_table: ModelData,
                      tuning_study: TuningOutcome):
    from mmm_pipeline.core.train.walk_forward import run_fold_range

    settings = effective_settings(dataset.load().settings, tuning_study)
    limit_threads(settings)
    months = list(context.partition_keys)
    keep = ensemble_settings(settings)["enabled"]  # the walk-forward ensemble reuses the fold models
    started = time.perf_counter()
    results = run_fold_range(feature_table, months, settings, keep_model=keep)
    context.log.info("%d fold(s) %s .. %s in %.1fs", len(months), months[0], months[-1], time.perf_counter() - started)
    for i, (month, r) in enumerate(results.items(), 1):
        context.log.info("fold %s (%d/%d): %s", month, i, len(months),
                         f"r2 {r.metrics['r2']:.3f}, mape {r.metrics['mape']:.3f}" if r.ok else f"skipped: {r.reason}")
        if len(months) > 1:  # one partition's metadata: with one partition the result below is already its own
            context.add_asset_metadata(_fold_metadata(r), partition_key=month)
    rows = pd.DataFrame([_fold_row(r) for r in results.values()])
    metadata: dict[str, Any] = {"folds": table(rows), "months": json_value(months)}
    if len(months) == 1:
        metadata.update(_fold_metadata(results[months[0]]))
    value: Any = results if len(months) > 1 else results[months[0]]
    return dg.MaterializeResult(value=value, metadata=metadata)


def _fold_metadata(r: FoldResult) -> dict[str, Any]:
    return {"status": r.status, "train_window": f"{r.train_start} .. {r.train_end}",
            "test_window": f"{r.test_start} .. {r.test_end}", "metrics": json_value(r.metrics)}


def _gate_blocking(settings: dict[str, Any]) -> bool:
    return bool((settings.get("automation") or {}).get("gate_blocking", True))


@dg.asset(
    group_name="training",
    check_specs=[dg.AssetCheckSpec(name, asset="walk_forward_summary", blocking=True,
                                   description=f"deployment gate: settings.gate.{name}") for name in GATE_CHECKS],
    description="All walk-forward folds pooled: out-of-sample accuracy, fold-to-fold stability, and the "
    "deployment gate (blocking checks; each says which threshold failed and by how much).",
)
def walk_forward_summary(context: dg.AssetExecutionContext, dataset: DatasetResource, feature_table: ModelData,
                         walk_forward_fold: dict, nam_model: TrainedModel):
    config = dataset.load()
    settings = config.settings
    fold_plan = data_fold_plan(feature_table, settings)
    if not walk_forward_fold:
        raise ValueError(f"{config.name}: no walk-forward fold to summarise: {fold_plan.describe()}. What to do: "
                         "set walk_forward.initial_months to auto or lower it, or supply a longer history")
    context.log.info("walk-forward: %s", fold_plan.describe())
    summary = aggregate_folds(list(walk_forward_fold.values()), feature_table,
                              float(settings["gate"]["stability_min_history_share"]))
    on_air = dict(zip(feature_table.channel_names, (feature_table.spend > 0).mean(axis=0).tolist()))
    gate = evaluate_gate(summary, nam_model.fitted.constraint_violation_rates(feature_table), settings, on_air)
    blocking = _gate_blocking(settings)
    severity = dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN
    by_name = {c.name: c for c in gate.checks}
    checks = []
    for name in GATE_CHECKS:
        c = by_name.get(name)
        if c is None:
            checks.append(dg.AssetCheckResult(check_name=name, passed=True, description="not evaluated by the gate"))
            continue
        checks.append(dg.AssetCheckResult(
            check_name=name, passed=bool(c.passed), severity=severity, description=c.message,
            metadata={"value": readable(c.value), "threshold": readable(c.threshold), "op": c.op, "margin": readable(c.margin)},
        ))
    context.log.info("%s", gate.message)
    gate_cfg = settings.get("gate") or {}
    chart = fold_chart(summary, gate_cfg.get("min_oos_r2"))
    outcome = WalkForwardOutcome(summary, gate, sorted(walk_forward_fold), blocking)
    return dg.MaterializeResult(value=outcome, check_results=checks, metadata={
        "folds": dg.MetadataValue.int(len(walk_forward_fold)),
        "fold_plan": dg.MetadataValue.text(fold_plan.describe()),
        "skipped_folds": json_value(summary.skipped),
        "overall": json_value(summary.overall),
        "overall_total": json_value(summary.overall_total),
        "fold_r2": json_value(summary.fold_r2),
        "block_table": table(gate.blocks),
        "stability_cv": json_value(summary.stability),
        "fold_table": table(summary.folds),
        "gate_passed": bool(gate.passed),
        "gate": dg.MetadataValue.md("\n".join(f"- {'PASS' if c.passed else 'FAIL'}: {c.message}" for c in gate.checks)),
        "fold_chart": dg.MetadataValue.md(png_markdown(chart, "walk-forward folds")),
    })


def _history_table(history: dict) -> pd.DataFrame:
    rows = []
    for name, values in history.items():
        arr = np.asarray(values, dtype=float)
        if arr.ndim == 2 and np.isfinite(arr).any():  # terms never computed (no validation slice) are left out
            rows.append({"term": name, "first": _finite_mean(arr[0]), "last": _finite_mean(arr[-1]),
                         "min": float(np.nanmin(arr))})
    return pd.DataFrame(rows)


def _finite_mean(values: np.ndarray) -> float | None:
    """Mean over members of a term's value in one epoch; None where it was not computed that epoch."""
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else None


def _parameter_table(fitted: Any, data: ModelData) -> pd.DataFrame:
    summary = fitted.channel_summary(data)
    numeric = [c for c in summary.columns if c not in ("member", "channel") and pd.api.types.is_numeric_dtype(summary[c])]
    return summary.groupby("channel", sort=False)[numeric].mean().reset_index()


@dg.asset(group_name="training", kinds={"pytorch"},
          description="The final NAM, trained on every period except the hold-out (tuned settings when tuning "
          "is on); its checkpoint is saved in the model store under a new version.")
def nam_model(context: dg.AssetExecutionContext, dataset: DatasetResource, feature_table: ModelData,
              tuning_study: TuningOutcome):
    from mmm_pipeline.core.registry import new_version
    from mmm_pipeline.core.train.trainer import fit_nam

    config = dataset.load()
    settings = effective_settings(config.settings, tuning_study)
    limit_threads(settings)
    mask = ~holdout_mask(len(feature_table.dates), config.holdout.periods)
    started = time.perf_counter()
    fitted = fit_nam(feature_table, settings, train_mask=mask)
    seconds = time.perf_counter() - started
    version = new_version(context.run_id)
    checkpoint = fitted.save(dataset.registry().model_dir(version) / "model.pt")
    violations = fitted.constraint_violation_rates(feature_table)
    history = fitted.history
    context.log.info("nam_model %s: %d member(s), %d training periods, %.1fs", version, fitted.n_models,
                     int(mask.sum()), seconds)
    metadata = {
        "version": version,
        "checkpoint": dg.MetadataValue.path(str(checkpoint)),
        "members": fitted.n_models,
        "train_window": f"{fitted.meta.get('train_start')} .. {fitted.meta.get('train_end')}",
        "train_periods": int(mask.sum()),
        "holdout_periods": int(config.holdout.periods),
        "epochs_run": int(np.asarray(history.get("epochs_run", 0))),
        "best_epoch": json_value(history.get("best_epoch")),
        "train_seconds": round(seconds, 2),
        "seed": plain(fitted.meta.get("seed")),
        "tuned": bool(tuning_study.override),
        "loss_terms": table(_history_table(history)),
        "loss_curves": dg.MetadataValue.md(png_markdown(loss_curves_png(history), "loss curves")),
        "parameters": table(_parameter_table(fitted, feature_table)),
        "constraint_violation_rates": json_value(violations),
        "max_constraint_violation": readable(max(violations.values(), default=0.0)),
    }
    value = TrainedModel(version, fitted, str(checkpoint), mask, settings, seconds)
    return dg.MaterializeResult(value=value, metadata=metadata)
