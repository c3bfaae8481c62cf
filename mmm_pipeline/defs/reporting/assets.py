"""Report group: the results folder, the HTML/Markdown report and the champion decision.

The folder is written and rendered in ``.staging/<version>/`` first; the registry then either
promotes it (archived under ``champions/`` and installed as ``outputs/<dataset>/``) or files it
under ``challengers/<version>/`` with the reason. A failed or rejected run never touches the
champion's folder.
"""

import json
from pathlib import Path

import dagster as dg
import pandas as pd

from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.plan.test_design import PLAN_FILE
from mmm_pipeline.core.registry import new_version
from mmm_pipeline.core.report.render import render_report
from mmm_pipeline.core.results import to_jsonable, write_results
from mmm_pipeline.core.train.walk_forward import fold_chart
from mmm_pipeline.defs.evaluation.assets import EnsembleOutcome, HoldoutOutcome, ResidualOutcome
from mmm_pipeline.defs.inference.assets import ChannelReturns, Elasticities
from mmm_pipeline.defs.planning.assets import BudgetPlanOutcome
from mmm_pipeline.defs.reporting.payload import build_payload, latest_fold, promotion_decision
from mmm_pipeline.defs.resources import DatasetResource
from mmm_pipeline.defs.training.assets import TrainedModel, WalkForwardOutcome


class ReportConfig(dg.Config):
    """``allow_promotion: false`` files this run as a challenger whatever the rule says (a dry run)."""

    allow_promotion: bool = True


def summary_markdown(payload_summary: dict, decision, where: Path) -> str:
    wf = payload_summary["walk_forward"]["overall"]
    hold = payload_summary["holdout_metrics"]
    gate = payload_summary["gate"]

    def num(value, fmt=".3f"):
        return "n/a" if value is None else format(value, fmt)

    lines = [
        f"### {payload_summary['title']}",
        f"- results version **{decision.version}** (model {payload_summary['model_version']}): "
        f"{'**promoted to champion**' if decision.promoted else '**not promoted**'} - {decision.reason}",
        f"- walk-forward R² {num(wf.get('r2'))}, MAPE {num(wf.get('mape'))} over "
        f"{len(payload_summary['walk_forward']['folds'])} folds; hold-out R² {num(hold.get('r2'))}",
        f"- deployment gate: {'passed' if gate['passed'] else 'FAILED'} - {gate['message']}",
        f"- not identified: {', '.join(payload_summary['not_identified']) or 'none'}",
        f"- results folder: `{where}`",
    ]
    lines += [f"- note: {n}" for n in payload_summary["notes"][:10]]
    return "\n".join(lines)


@dg.asset(group_name="report", kinds={"html"},
          description="Writes the results folder and report.html, and applies the champion/challenger rule: "
          "promoted results replace outputs/<dataset>/, others go to challengers/<version>/.")
def mmm_report(
    context: dg.AssetExecutionContext,
    config: ReportConfig,
    dataset: DatasetResource,
    feature_table: ModelData,
    nam_model: TrainedModel,
    walk_forward_summary: WalkForwardOutcome,
    baseline_comparison: pd.DataFrame,
    residual_diagnostics: ResidualOutcome,
    holdout_evaluation: HoldoutOutcome,
    walk_forward_ensemble: EnsembleOutcome,
    channel_returns: ChannelReturns,
    elasticities: Elasticities,
    budget_plan: BudgetPlanOutcome,
    scenario_outcomes: list,
    experiment_plan: dict,
    interval_coverage: dict,
):
    cfg = dataset.load()
    registry = dataset.registry()
    margin = float((cfg.settings.get("automation") or {}).get("champion_margin", 0.05))
    version = new_version(context.run_id)  # this evaluation; nam_model.version names the checkpoint
    decision = promotion_decision(registry, feature_table, version, walk_forward_summary, margin,
                                  allow=config.allow_promotion)
    payload = build_payload(
        config=cfg, data=feature_table, model=nam_model, outcome=walk_forward_summary, baselines=baseline_comparison,
        residuals=residual_diagnostics, holdout=holdout_evaluation, returns=channel_returns,
        elasticities=elasticities, plan=budget_plan, scenarios=scenario_outcomes, decision=decision,
        ensemble=walk_forward_ensemble, coverage=interval_coverage,
    )
    payload.extra_files[PLAN_FILE] = json.dumps(to_jsonable(experiment_plan), indent=2, allow_nan=False)
    staging = registry.staging_dir(version)
    write_results(staging, payload)
    gate_cfg = cfg.settings.get("gate") or {}
    figures = {
        "walk_forward_folds": fold_chart(walk_forward_summary.summary, gate_cfg.get("min_oos_r2")),
        "residuals_in_sample": residual_diagnostics.plot,
    }
    render_report(staging, figures)
    _, _, fold_rmse = latest_fold(walk_forward_summary)
    where = registry.publish(staging, decision, gate_passed=bool(walk_forward_summary.gate.passed),
                             fold_rmse=fold_rmse, training_end=nam_model.fitted.meta.get("train_end"),
                             model_version=nam_model.version,
                             extra={"run_id": context.run_id, "dataset_config": cfg.config_path})
    (context.log.info if decision.promoted else context.log.warning)("%s: %s", version, decision.reason)
    html = where / "report.html"
    return dg.MaterializeResult(
        value={"results_dir": str(where), "promoted": decision.promoted, "reason": decision.reason,
               "version": version, "model_version": nam_model.version},
        metadata={
            "summary": dg.MetadataValue.md(summary_markdown(payload.summary, decision, where)),
            "report": dg.MetadataValue.path(str(html)),
            "results_dir": dg.MetadataValue.path(str(where)),
            "promoted": bool(decision.promoted),
            "decision": decision.reason,
            "version": version,
            "model_version": nam_model.version,
            "champion": registry.champion_version or "none",
        },
    )
