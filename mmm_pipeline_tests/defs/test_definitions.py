"""The code location loads, and its graph is fixed: same assets, groups and checks for every dataset."""

import dagster as dg

from mmm_pipeline.definitions import defs
from mmm_pipeline.defs.training.assets import GATE_CHECKS

EXPECTED_GROUPS = {
    "raw_sales": "ingestion", "raw_media": "ingestion", "raw_brand": "ingestion", "raw_calendar": "ingestion",
    "raw_reference": "ingestion",
    "modeling_table": "validation",
    "feature_table": "features",
    "tuning_study": "training", "walk_forward_fold": "training", "walk_forward_summary": "training",
    "nam_model": "training",
    "baseline_comparison": "evaluation", "residual_diagnostics": "evaluation", "holdout_evaluation": "evaluation",
    "walk_forward_ensemble": "evaluation",
    "bootstrap_ensemble": "elasticity", "channel_returns": "elasticity", "elasticities": "elasticity",
    "interval_coverage": "elasticity",
    "budget_plan": "optimization", "scenario_outcomes": "optimization", "experiment_plan": "optimization",
    "mmm_report": "report",
}


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)


def test_graph_is_the_expected_fixed_set_of_assets_in_their_groups():
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == EXPECTED_GROUPS


def test_only_the_walk_forward_fold_is_partitioned_by_fold_month():
    graph = defs.resolve_asset_graph()
    partitioned = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).partitions_def}
    assert partitioned == {"walk_forward_fold"}
    assert graph.get(dg.AssetKey("walk_forward_fold")).partitions_def.name == "fold_month"


def test_validation_and_gate_checks_are_blocking():
    graph = defs.resolve_asset_graph()
    specs = {(key.asset_key.to_user_string(), key.name): graph.get_check_spec(key) for key in graph.asset_check_keys}
    for asset in ("raw_sales", "raw_media", "raw_brand", "raw_calendar", "raw_reference"):
        assert specs[(asset, "schema")].blocking
    for name in ("date_continuity", "duplicates", "value_bounds", "missing_values"):
        assert specs[("modeling_table", name)].blocking
    for name in GATE_CHECKS:
        assert specs[("walk_forward_summary", name)].blocking
    assert not specs[("feature_table", "feature_drift")].blocking


def test_jobs_split_preparation_from_training_and_run_in_process_by_default():
    prepare = defs.resolve_job_def("prepare_data")
    train = defs.resolve_job_def("train_and_report")
    assert prepare.partitions_def is None and train.partitions_def.name == "fold_month"
    prepared = {k.to_user_string() for k in prepare.asset_layer.executable_asset_keys}
    assert prepared == {k for k, g in EXPECTED_GROUPS.items() if g in ("ingestion", "validation", "features")}
    assert prepare.executor_def.name == "mmm_executor"
    assert defs.resolve_job_def("monthly_refresh").partitions_def.name == "fold_month"
