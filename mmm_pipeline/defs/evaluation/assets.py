"""Evaluation group: baselines on the same folds, residual diagnostics, the final hold-out,
and business sanity checks (warnings: a model can fit and still say something implausible)."""

from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from mmm_pipeline.core.evaluate import metrics
from mmm_pipeline.core.evaluate.baselines import baselines_for_summary, run_baselines
from mmm_pipeline.core.evaluate.diagnostics import residual_diagnostics as diagnose_residuals
from mmm_pipeline.core.evaluate.diagnostics import residual_plot
from mmm_pipeline.core.evaluate.sanity import SanityResult, sanity_checks
from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.train.fold_ensemble import build_fold_ensemble, ensemble_frame, ensemble_settings
from mmm_pipeline.core.train.walk_forward import make_folds, prediction_table
from mmm_pipeline.defs.charts import png_markdown
from mmm_pipeline.defs.metadata import frame_metadata, json_value, plain, readable, table
from mmm_pipeline.defs.resources import DatasetResource
from mmm_pipeline.defs.runtime import limit_threads
from mmm_pipeline.defs.training.assets import TrainedModel

#: fixed check names; each groups the core's per-feature / per-channel sanity results
SANITY_CHECKS = {
    "sanity_price_elasticity": "price_elasticity:",
    "sanity_media_share": "media_share",
    "sanity_diminishing_returns": "diminishing_returns:",
}


def prediction_frame(fitted: Any, data: ModelData, rows: np.ndarray, fold: str = "") -> pd.DataFrame:
    """Long (date, node) table of member-mean predictions for the periods ``rows`` (bool [T])."""
    predicted = np.asarray(fitted.predict(data), dtype=float).mean(axis=0)[rows]  # [t, N]
    return prediction_table(data, rows, predicted, fold)


@dg.asset(group_name="evaluation",
          description="OLS / ridge / spline GAM / gradient boosting scored on exactly the NAM's walk-forward folds.")
def baseline_comparison(context: dg.AssetExecutionContext, dataset: DatasetResource, feature_table: ModelData,
                        walk_forward_fold: dict):
    settings = dataset.load().settings
    limit_threads(settings)
    ok = sorted(m for m, r in walk_forward_fold.items() if r.ok)
    if not ok:
        raise ValueError("no walk-forward fold produced predictions, so there is nothing to compare baselines with")
    table_ = run_baselines(feature_table, make_folds(feature_table, settings, ok), settings)
    pooled = pd.concat([walk_forward_fold[m].predictions for m in ok], ignore_index=True)
    nam = {"model": "nam", **metrics.score_frame(pooled),
           "train_seconds": float(sum(walk_forward_fold[m].train_seconds for m in ok)), "n_folds": len(ok)}
    comparison = pd.concat([pd.DataFrame([nam]), table_], ignore_index=True)
    best = table_.sort_values("rmse").iloc[0] if len(table_) else None
    beats = bool(best is None or nam["rmse"] <= best["rmse"])
    verdict = ("NAM beats every baseline on pooled RMSE" if beats else
               f"NAM does not beat {best['model']} (RMSE {nam['rmse']:.4g} vs {best['rmse']:.4g})")
    context.log.info(verdict)
    return dg.MaterializeResult(value=table_, metadata={
        "comparison": table(comparison),
        "nam_beats_baselines": beats,
        "verdict": verdict,
        "folds": json_value(ok),
        "summary_rows": json_value(baselines_for_summary(table_)),
    })


@dataclass
class ResidualOutcome:
    diagnostics: Any  # ResidualDiagnostics
    in_sample: pd.DataFrame  # date, node, category, actual, predicted over the training periods
    plot: bytes


@dg.asset(group_name="evaluation",
          description="Durbin-Watson, Breusch-Pagan, Jarque-Bera and ACF of the final model's in-sample residuals.")
def residual_diagnostics(context: dg.AssetExecutionContext, feature_table: ModelData, nam_model: TrainedModel):
    limit_threads(nam_model.settings)
    in_sample = prediction_frame(nam_model.fitted, feature_table, nam_model.train_mask)
    result = diagnose_residuals(in_sample)
    plot = residual_plot(in_sample, "in-sample residuals of the final model")
    for note in result.notes:
        context.log.warning(note)
    return dg.MaterializeResult(value=ResidualOutcome(result, in_sample, plot), metadata={
        "durbin_watson": readable(result.durbin_watson),
        "breusch_pagan_p": readable(result.breusch_pagan_p),
        "normality_p": readable(result.normality_p),
        "acf": json_value(result.acf[:10]),
        "notes": dg.MetadataValue.md("\n".join(f"- {n}" for n in result.notes) or "_none_"),
        "residual_plot": dg.MetadataValue.md(png_markdown(plot, "residuals")),
    })


@dataclass
class HoldoutOutcome:
    metrics: dict[str, float]
    predictions: pd.DataFrame  # date, node, category, actual, predicted, fold="holdout"
    sanity: dict[str, SanityResult]


def _sanity_result(name: str, prefix: str, results: dict[str, SanityResult]) -> dg.AssetCheckResult:
    mine = {k: r for k, r in results.items() if k.startswith(prefix)}
    if not mine:
        return dg.AssetCheckResult(check_name=name, passed=True, severity=dg.AssetCheckSeverity.WARN,
                                   description="not applicable to this dataset")
    failed = {k: r for k, r in mine.items() if not r.passed}
    text = "; ".join(r.message for r in (failed or mine).values())
    return dg.AssetCheckResult(check_name=name, passed=not failed, severity=dg.AssetCheckSeverity.WARN,
                               description=text[:4000],
                               metadata={"details": json_value({k: r.metadata for k, r in mine.items()})})


@dg.asset(
    group_name="evaluation",
    check_specs=[dg.AssetCheckSpec(name, asset="holdout_evaluation", description=f"business sanity: {prefix.strip(':')}")
                 for name, prefix in SANITY_CHECKS.items()],
    description="The final model on the hold-out periods it never saw, plus business sanity checks "
    "(price elasticity in range, media share plausible, diminishing returns).",
)
def holdout_evaluation(context: dg.AssetExecutionContext, dataset: DatasetResource, feature_table: ModelData,
                       nam_model: TrainedModel):
    config = dataset.load()
    limit_threads(nam_model.settings)
    rows = ~nam_model.train_mask
    if rows.any():
        frame = prediction_frame(nam_model.fitted, feature_table, rows, fold="holdout")
        scores = metrics.score_frame(frame)
    else:
        frame = pd.DataFrame(columns=["date", "node", "category", "actual", "predicted", "fold"])
        scores = {}
        context.log.warning("%s has no hold-out (holdout.periods = 0): the walk-forward folds are the only "
                            "out-of-sample evidence", config.name)
    sanity = sanity_checks(nam_model.fitted, feature_table, nam_model.settings)
    checks = [_sanity_result(name, prefix, sanity) for name, prefix in SANITY_CHECKS.items()]
    metadata: dict[str, Any] = {"holdout_periods": int(rows.sum()), "metrics": json_value(scores)}
    if len(frame):
        metadata.update(frame_metadata(frame))
    return dg.MaterializeResult(value=HoldoutOutcome(scores, frame, sanity), metadata=metadata, check_results=checks)


@dataclass
class EnsembleOutcome:
    """The walk-forward ensemble and its hold-out score beside the final model's."""

    enabled: bool
    reason: str
    ensemble: Any = None  # FoldEnsemble
    metrics: dict[str, float] = field(default_factory=dict)
    final_model_metrics: dict[str, float] = field(default_factory=dict)
    predictions: pd.DataFrame | None = None

    @property
    def beats_final_model(self) -> bool:
        """Lower hold-out RMSE than the final model (False when it was not scored)."""
        return bool(self.metrics) and self.metrics["rmse"] < self.final_model_metrics.get("rmse", np.inf)

    def to_summary(self) -> dict[str, Any]:
        """summary.json's ``walk_forward_ensemble`` block (docs/outputs.md)."""
        months = list(self.ensemble.months) if self.ensemble is not None else []
        return {"enabled": self.enabled, "members": len(months), "fold_months": months,
                "holdout_metrics": {k: plain(v) for k, v in self.metrics.items()},
                "beats_final_model": self.beats_final_model, "reason": self.reason}


@dg.asset(group_name="evaluation",
          description="The walk-forward fold models averaged (settings.walk_forward.ensemble), scored on the final "
          "hold-out beside the final NAM.")
def walk_forward_ensemble(context: dg.AssetExecutionContext, dataset: DatasetResource, feature_table: ModelData,
                          walk_forward_fold: dict, holdout_evaluation: HoldoutOutcome, nam_model: TrainedModel):
    options = ensemble_settings(nam_model.settings)
    if not options["enabled"]:
        outcome = EnsembleOutcome(False, "disabled (settings.walk_forward.ensemble.enabled is false)")
        return dg.MaterializeResult(value=outcome, metadata={"enabled": False, "reason": outcome.reason})
    limit_threads(nam_model.settings)
    holdout = ~nam_model.train_mask
    start = feature_table.dates[holdout].min() if holdout.any() else None
    try:
        ensemble = build_fold_ensemble(list(walk_forward_fold.values()), start, options["last_folds"])
    except ValueError as exc:  # an optional comparison: say why there is none, never fail the run
        context.log.warning("walk-forward ensemble not built: %s", exc)
        outcome = EnsembleOutcome(True, f"not built: {exc}")
        return dg.MaterializeResult(value=outcome, metadata={"members": 0, "reason": outcome.reason})
    if not holdout.any():
        outcome = EnsembleOutcome(True, f"{len(ensemble.months)} fold models; no hold-out to score them on", ensemble)
        return dg.MaterializeResult(value=outcome, metadata={"members": len(ensemble.months), "reason": outcome.reason})
    frame = ensemble_frame(ensemble, feature_table, holdout)
    outcome = EnsembleOutcome(True, "", ensemble, metrics.score_frame(frame), dict(holdout_evaluation.metrics), frame)
    scores, final = outcome.metrics, outcome.final_model_metrics
    outcome.reason = (f"{len(ensemble.months)} fold models ({ensemble.months[0]} .. {ensemble.months[-1]}): hold-out "
                      f"RMSE {scores['rmse']:.4g} vs the final model's {final.get('rmse', float('nan')):.4g} "
                      f"({'better' if outcome.beats_final_model else 'not better'})")
    context.log.info("walk-forward ensemble: %s", outcome.reason)
    comparison = pd.DataFrame([{"model": "final NAM", **final}, {"model": "walk-forward ensemble", **scores}])
    return dg.MaterializeResult(value=outcome, metadata={
        "members": len(ensemble.months), "member_months": json_value(ensemble.months),
        "comparison": table(comparison), "ensemble_beats_final_model": outcome.beats_final_model,
        "verdict": outcome.reason,
    })
