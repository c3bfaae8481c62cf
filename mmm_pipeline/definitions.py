"""The Dagster code location: one ``Definitions`` with every asset, check, job, schedule,
sensor and resource of the pipeline.

The graph is the same for every dataset; which dataset a run reads is the ``dataset``
resource's config (see :mod:`mmm_pipeline.defs.resources`). Load it with
``dagster dev -w workspace.yaml`` or ``dagster definitions validate -m mmm_pipeline.definitions``.
"""

import dagster as dg

from mmm_pipeline.defs import automation
from mmm_pipeline.defs.evaluation.assets import (
    baseline_comparison,
    holdout_evaluation,
    residual_diagnostics,
    walk_forward_ensemble,
)
from mmm_pipeline.defs.features.assets import feature_table
from mmm_pipeline.defs.inference.assets import bootstrap_ensemble, channel_returns, elasticities, interval_coverage
from mmm_pipeline.defs.ingest.modeling_table import modeling_table
from mmm_pipeline.defs.ingest.raw import raw_assets
from mmm_pipeline.defs.planning.assets import budget_plan, scenario_outcomes
from mmm_pipeline.defs.planning.experiment_plan import experiment_plan
from mmm_pipeline.defs.reporting.assets import mmm_report
from mmm_pipeline.defs.resources import RESOURCES, mmm_executor
from mmm_pipeline.defs.training.assets import nam_model, tuning_study, walk_forward_fold, walk_forward_summary

ASSETS = [
    *raw_assets,  # ingestion
    modeling_table,  # validation
    feature_table,  # features
    tuning_study, walk_forward_fold, walk_forward_summary, nam_model,  # training
    baseline_comparison, residual_diagnostics, holdout_evaluation, walk_forward_ensemble,  # evaluation
    bootstrap_ensemble, channel_returns, elasticities, interval_coverage,  # elasticity
    budget_plan, scenario_outcomes, experiment_plan,  # optimization
    mmm_report,  # report
]

defs = dg.Definitions(
    assets=ASSETS,
    jobs=automation.jobs,
    schedules=automation.schedules,
    sensors=automation.sensors,
    resources=RESOURCES,
    executor=mmm_executor,
)


def job_named(name: str) -> dg.JobDefinition:
    """A job of ``defs`` by name (the reconstructor used for multiprocess execution)."""
    return defs.resolve_job_def(name)
