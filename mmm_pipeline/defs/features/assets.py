"""``feature_table`` (features group): the :class:`ModelData` every later stage reads.

Materializing it also syncs the ``fold_month`` partitions with the data's walk-forward months,
so a new month of data adds exactly one fold partition. Two warning checks ride along:
multicollinearity (which features the data cannot tell apart) and drift of the newest month
against the training window.
"""

import dagster as dg
import pandas as pd

from mmm_pipeline.core.data.experiments import with_lift_tests
from mmm_pipeline.core.features.build import build_feature_frame, to_model_data
from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.features.multicollinearity import collinearity_report
from mmm_pipeline.core.train.walk_forward import data_fold_plan
from mmm_pipeline.core.wording import join_names
from mmm_pipeline.defs.features.drift import feature_drift
from mmm_pipeline.defs.metadata import frame_metadata, json_value, table
from mmm_pipeline.defs.partitions import sync_fold_partitions
from mmm_pipeline.defs.resources import DatasetResource


def feature_specs_frame(data: ModelData) -> pd.DataFrame:
    return pd.DataFrame(
        [{"feature": f.name, "kind": f.kind, "block": f.block, "national": f.national,
          "elasticity_bounds": "" if f.elasticity_bounds is None else f"{f.elasticity_bounds[0]}..{f.elasticity_bounds[1]}"}
         for f in data.features]
    )


def _collinearity_check(data: ModelData, settings: dict) -> dg.AssetCheckResult:
    report = collinearity_report(data, settings=settings)
    summary = report.summary
    flagged = list(dict.fromkeys(summary["features_over_vif_threshold"] + summary["perfectly_collinear"]))
    passed = not flagged and summary["correlated_pairs"] == 0
    if passed:
        text = f"no feature above VIF {summary['vif_threshold']:g}, no pair above |r| {summary['correlation_threshold']:g}"
    else:
        text = (f"VIF above {summary['vif_threshold']:g}: {', '.join(flagged) or 'none'}; "
                f"{summary['correlated_pairs']} pair(s) above |r| {summary['correlation_threshold']:g}: "
                f"{'; '.join(summary['pairs'][:5])}")
    return dg.AssetCheckResult(
        check_name="multicollinearity", passed=passed, severity=dg.AssetCheckSeverity.WARN, description=text,
        metadata={"vif": table(report.vif), "summary": json_value(summary)},
    )


def _drift_check(data: ModelData, alpha: float) -> dg.AssetCheckResult:
    report = feature_drift(data, alpha=alpha)
    rows = pd.DataFrame([vars(f) for f in report.features]) if report.features else pd.DataFrame()
    return dg.AssetCheckResult(
        check_name="feature_drift", passed=not report.drifted, severity=dg.AssetCheckSeverity.WARN,
        description=report.message[:4000],
        metadata={
            "month": report.month,
            "reference_window": report.reference,
            "alpha": report.alpha,
            "drifting_features": json_value([f.feature for f in report.drifted]),
            "tests": table(rows) if not rows.empty else dg.MetadataValue.text("no feature compared"),
        },
    )


@dg.asset(
    group_name="features",
    description="Model features as ModelData (X [T, N, F], y [T, N]); syncs the fold_month partitions.",
    check_specs=[
        dg.AssetCheckSpec("multicollinearity", asset="feature_table",
                          description="VIF and highly correlated pairs (warning: credit between them is arbitrary)"),
        dg.AssetCheckSpec("feature_drift", asset="feature_table",
                          description="newest month vs training window: two-sample KS per feature (warning)"),
    ],
    kinds={"pandas", "numpy"},
)
def feature_table(context: dg.AssetExecutionContext, dataset: DatasetResource,
                  modeling_table: pd.DataFrame):
    config = dataset.load()
    frame = build_feature_frame(modeling_table, config)
    data = with_lift_tests(to_model_data(frame, config), config)
    fold_plan = data_fold_plan(data, config.settings)
    months = fold_plan.keys
    context.log.info("walk-forward: %s", fold_plan.describe())
    plan = sync_fold_partitions(context.instance, months)
    if plan.changed:
        context.log.info("fold_month partitions: %d added (last %s), %d removed", len(plan.add),
                         join_names(plan.add[-3:]) or "none", len(plan.delete))
    alpha = float((config.settings.get("automation") or {}).get("drift_alpha", 0.01))
    t, n, f = data.X.shape
    metadata = {
        **frame_metadata(frame.frame),
        "periods": dg.MetadataValue.int(t),
        "nodes": json_value(data.nodes),
        "n_features": dg.MetadataValue.int(f),
        "features": table(feature_specs_frame(data)),
        "dropped_features": json_value(frame.dropped),
        "reporting_columns": json_value(frame.reporting),
        "fold_months": json_value(months),
        "n_folds": dg.MetadataValue.int(len(months)),
        "fold_plan": dg.MetadataValue.text(fold_plan.describe()),
        "holdout_periods": dg.MetadataValue.int(config.holdout.periods),
        "experiments": json_value(list(data.experiments.label) if data.experiments is not None else []),
    }
    context.log.info("%s: %d periods x %d nodes x %d features; %d walk-forward folds", config.name, t, n, f, len(months))
    return dg.MaterializeResult(
        value=data, metadata=metadata,
        check_results=[_collinearity_check(data, config.settings), _drift_check(data, alpha)],
    )
