"""Assemble the results-folder payload and the champion decision from the stage outputs.

No Dagster here: these functions take the values the assets produced, so the report asset
stays a thin sequence of calls and the assembly can be tested alone.
"""

from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from mmm_pipeline.core.config import DatasetConfig
from mmm_pipeline.core.evaluate.baselines import baselines_for_summary
from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.infer.evidence import evidence_summary
from mmm_pipeline.core.registry import ModelRegistry, PromotionDecision, decide_promotion
from mmm_pipeline.core.results import HOLDOUT_COLUMNS, ResultsPayload
from mmm_pipeline.core.train.fold_plan import key_mask
from mmm_pipeline.core.train.walk_forward import data_fold_plan
from mmm_pipeline.core.wording import join_names

METRIC_KEYS = ("r2", "mape", "smape", "rmse", "nrmse", "directional_accuracy")


def latest_fold(outcome: Any) -> tuple[str | None, float | None, dict[str, float]]:
    """The newest walk-forward month with predictions, its RMSE, and every ok fold's RMSE."""
    folds = outcome.summary.folds
    ok = folds[folds["status"] == "ok"].sort_values("month")
    rmse = {str(r.month): float(r.rmse) for r in ok.itertuples() if np.isfinite(r.rmse)}
    if ok.empty:
        return None, None, rmse
    month = str(ok["month"].iloc[-1])
    return month, rmse.get(month), rmse


def score_champion(registry: ModelRegistry, data: ModelData, month: str) -> tuple[float | None, str]:
    """The champion's RMSE on ``month``, and why it is missing when it is.

    Its recorded walk-forward RMSE for that month when it has one (recipe against recipe);
    otherwise its checkpoint predicts the month from the current data, which is out of sample
    only when the month starts after the champion's training window ended.
    """
    from mmm_pipeline.core.evaluate import metrics
    from mmm_pipeline.core.model.fitted import FittedNAM

    record = registry.champion()
    if record is None:
        return None, "no champion"
    if month in record.fold_rmse:
        return record.fold_rmse[month], ""
    rows = key_mask(data.dates, month)  # a fold key: a month, or a week for short histories
    if not rows.any():
        return None, f"the data has no month {month}"
    if record.training_end and pd.Timestamp(record.training_end) >= data.dates[rows].min():
        return None, f"it was trained on data up to {record.training_end}, which includes {month}"
    checkpoint = registry.root / record.model_dir / "model.pt"
    try:
        model = FittedNAM.load(checkpoint)
        end = int(np.flatnonzero(rows)[-1]) + 1
        window = data.slice_time(np.arange(len(data.dates)) < end)
        predicted = np.asarray(model.predict(window), dtype=float).mean(axis=0)[rows[:end]]
    except (OSError, ValueError, KeyError, IndexError, RuntimeError) as exc:
        return None, f"its checkpoint cannot predict the current data ({exc})"
    return float(metrics.rmse(data.y[rows].reshape(-1), predicted.reshape(-1))), ""


def promotion_decision(registry: ModelRegistry, data: ModelData, version: str, outcome: Any, margin: float,
                       allow: bool = True) -> PromotionDecision:
    """Apply the champion rule (:func:`mmm_pipeline.core.registry.decide_promotion`)."""
    month, candidate, _ = latest_fold(outcome)
    champion = registry.champion_version
    champion_rmse, why = (None, "")
    if champion is not None and month is not None:
        champion_rmse, why = score_champion(registry, data, month)
    decision = decide_promotion(version, gate_passed=bool(outcome.gate.passed), gate_message=outcome.gate.message,
                                champion=champion, month=month, candidate_rmse=candidate,
                                champion_rmse=champion_rmse, margin=margin, champion_unscored_reason=why)
    if decision.promoted and not allow:
        return PromotionDecision(False, "not promoted: promotion disabled for this run (allow_promotion: false); "
                                 f"it would have been {decision.reason}", **{k: v for k, v in decision.to_dict().items()
                                                                             if k not in ("promoted", "reason")})
    return decision


def _holdout_metrics(scores: dict[str, float]) -> dict[str, float | None]:
    return {k: scores.get(k) for k in METRIC_KEYS}


def _notes(outcome: Any, holdout: Any, returns: Any, data: ModelData, extra: list[str]) -> list[str]:
    notes = list(extra)
    if not outcome.gate.passed:
        notes.append(outcome.gate.message)
    for month, reason in outcome.summary.skipped.items():
        notes.append(f"walk-forward fold {month} skipped: {reason}")
    for name, result in holdout.sanity.items():
        if not result.passed:
            notes.append(f"sanity check {name}: {result.message}")
    dropped = data.meta.get("dropped_features") or {}
    for feature, why in dropped.items():
        notes.append(f"feature {feature} left out: {why}")
    for role in (data.meta.get("roles") or {}).values():
        if role["role"] == "mediator" or role["looks_mediated"]:
            notes.append(role["sentence"])
    if returns.not_identified:
        notes.append(f"not identified (no ROAS claim made): {join_names(returns.not_identified)}")
    return notes


def build_payload(*, config: DatasetConfig, data: ModelData, model: Any, outcome: Any, baselines: pd.DataFrame,
                  residuals: Any, holdout: Any, returns: Any, elasticities: Any, plan: Any,
                  scenarios: list[dict[str, Any]], decision: PromotionDecision,
                  notes: list[str] | None = None, ensemble: Any = None,
                  coverage: dict[str, Any] | None = None) -> ResultsPayload:
    """Every file of the results folder from the stage outputs (schema: docs/outputs.md)."""
    fitted = model.fitted
    summary = {
        "dataset": config.name,
        "title": config.title,
        "simulated": bool(config.simulated),
        "model_version": model.version,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "frequency": config.frequency,
        "target": config.target.name,
        "training_window": {"start": fitted.meta.get("train_start"), "end": fitted.meta.get("train_end")},
        "holdout_metrics": _holdout_metrics(holdout.metrics),
        "holdout_periods": int(config.holdout.periods),
        "walk_forward": {**outcome.summary.to_dict(), "fold_plan": data_fold_plan(data, config.settings).to_dict()},
        "walk_forward_ensemble": ensemble.to_summary() if ensemble is not None else {"enabled": False},
        "baselines": baselines_for_summary(baselines),
        "gate": outcome.gate.to_dict(),
        "champion": decision.to_dict(),
        "diagnostics": residuals.diagnostics.to_dict(),
        "not_identified": list(returns.not_identified),
        "roles": data.meta.get("roles") or {},
        "interval_level": float(config.settings["bootstrap"]["level"]),
        "interval_coverage": coverage or {"enabled": False},
        "price_elasticity": elasticities.price,
        "evidence": evidence_summary(fitted, data, config.settings, model.train_mask),
        "price_elasticity_units": elasticities.price_units,
        "price_source": elasticities.price_source,
        "sanity": {name: {"passed": bool(r.passed), "message": r.message} for name, r in holdout.sanity.items()},
        "notes": _notes(outcome, holdout, returns, data, notes or []),
    }
    predictions = outcome.summary.predictions
    holdout_predictions = predictions[[c for c in HOLDOUT_COLUMNS if c in predictions.columns]
                                      + [c for c in predictions.columns if c not in HOLDOUT_COLUMNS]]
    return ResultsPayload(
        summary=summary,
        channels=returns.channels,
        decomposition=returns.decomposition,
        response_curves=plan.response_curves,
        elasticities=elasticities.by_feature,
        optimal_allocation=plan.allocation,
        scenarios=list(scenarios),
        holdout_predictions=holdout_predictions,
    )
