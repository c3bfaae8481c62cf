"""The whole graph, in process, on a tiny dataset: every asset and partition materializes, the
results folder and champion appear, and failures (gate, bad input) stop the run without
touching earlier materializations or the champion."""

import json
from types import SimpleNamespace

import dagster as dg
import pandas as pd
import pytest

from mmm_pipeline.core.registry import ModelRegistry
from mmm_pipeline.definitions import defs
from mmm_pipeline.defs.partitions import FOLD_PARTITIONS, range_tags
from mmm_pipeline.defs.resources import dataset_run_config
from tiny_dataset import write_tiny_dataset

ASSETS = [key for key in defs.resolve_asset_graph().get_all_asset_keys()]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    yaml_path = write_tiny_dataset(root / "good")
    outputs = root / "outputs"
    run_config = dataset_run_config(str(yaml_path), str(outputs))
    with dg.instance_for_test() as instance:
        prepare = defs.resolve_job_def("prepare_data").execute_in_process(
            instance=instance, run_config=run_config, raise_on_error=False)
        months = list(instance.get_dynamic_partitions(FOLD_PARTITIONS.name))
        train = defs.resolve_job_def("train_and_report").execute_in_process(
            instance=instance, run_config=run_config, tags=range_tags(months), raise_on_error=False)
        yield SimpleNamespace(instance=instance, root=root, outputs=outputs / "tiny", prepare=prepare, train=train,
                              months=months, run_config=run_config)


def _latest(instance, key: str):
    return instance.get_latest_materialization_event(dg.AssetKey(key))


def test_every_asset_and_fold_partition_materializes(pipeline):
    assert pipeline.prepare.success and pipeline.train.success
    assert pipeline.months == ["2021-07", "2021-08"], "a new month of data is one new partition"
    missing = [k.to_user_string() for k in ASSETS if _latest(pipeline.instance, k.to_user_string()) is None]
    assert missing == []
    done = pipeline.instance.get_materialized_partitions(dg.AssetKey("walk_forward_fold"))
    assert done == set(pipeline.months)


def test_every_asset_attaches_metadata(pipeline):
    for key in ASSETS:
        meta = _latest(pipeline.instance, key.to_user_string()).asset_materialization.metadata
        assert meta, f"{key.to_user_string()} has no metadata"
    table_meta = _latest(pipeline.instance, "modeling_table").asset_materialization.metadata
    assert table_meta["dagster/row_count"].value == 179
    assert table_meta["date_range"].value == "2018-04-02 .. 2021-08-30"
    assert "main/preview" in _latest(pipeline.instance, "raw_sales").asset_materialization.metadata
    report = _latest(pipeline.instance, "mmm_report").asset_materialization.metadata
    assert report["report"].value.endswith("report.html")
    assert "promoted" in report["summary"].value


def test_results_folder_is_written_and_first_passing_model_becomes_champion(pipeline):
    summary = json.loads((pipeline.outputs / "summary.json").read_text())
    assert (pipeline.outputs / "report.html").stat().st_size > 1000
    assert summary["champion"]["promoted"] is True
    assert [f["month"] for f in summary["walk_forward"]["folds"]] == pipeline.months
    registry = ModelRegistry(pipeline.outputs)
    champion = registry.champion()
    assert champion.version == summary["champion"]["version"]
    assert champion.model_dir == f"models/{summary['model_version']}"
    assert (registry.root / champion.model_dir / "model.pt").is_file()


def test_checks_run_with_their_assets(pipeline):
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e
                   for r in (pipeline.prepare, pipeline.train) for e in r.get_asset_check_evaluations()}
    for key in [("raw_sales", "schema"), ("modeling_table", "date_continuity"), ("modeling_table", "duplicates"),
                ("walk_forward_summary", "min_oos_r2"), ("channel_returns", "decomposition_sums_to_prediction")]:
        assert evaluations[key].passed, f"{key}: {evaluations[key].description}"
    assert ("feature_table", "feature_drift") in evaluations
    assert ("holdout_evaluation", "sanity_media_share") in evaluations


def test_failed_gate_blocks_the_report_and_says_by_how_much(pipeline):
    strict = write_tiny_dataset(pipeline.root / "strict", gate={"min_oos_r2": 0.9999})
    run_config = dataset_run_config(str(strict), str(pipeline.outputs.parent))
    live_before = (pipeline.outputs / "summary.json").read_text()
    selection = [dg.AssetKey(k) for k in ("walk_forward_summary", "bootstrap_ensemble", "channel_returns",
                                          "elasticities", "budget_plan", "scenario_outcomes", "mmm_report")]
    result = defs.resolve_job_def("train_and_report").execute_in_process(
        instance=pipeline.instance, run_config=run_config, asset_selection=selection, raise_on_error=False)
    assert not result.success
    gate = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not gate["min_oos_r2"].passed
    assert "is below the minimum 0.9999 by" in gate["min_oos_r2"].description
    assert result.asset_materializations_for_node("mmm_report") == []
    assert result.asset_materializations_for_node("bootstrap_ensemble") == []
    assert (pipeline.outputs / "summary.json").read_text() == live_before


def test_model_rejected_by_a_warning_gate_is_filed_as_challenger(pipeline):
    lenient = write_tiny_dataset(pipeline.root / "lenient", gate={"min_oos_r2": 0.9999},
                                 automation={"gate_blocking": False})
    run_config = dataset_run_config(str(lenient), str(pipeline.outputs.parent))
    live_before = (pipeline.outputs / "summary.json").read_text()
    champion_before = ModelRegistry(pipeline.outputs).champion_version
    selection = [dg.AssetKey(k) for k in ("walk_forward_summary", "bootstrap_ensemble", "channel_returns",
                                          "elasticities", "budget_plan", "scenario_outcomes", "mmm_report")]
    result = defs.resolve_job_def("train_and_report").execute_in_process(
        instance=pipeline.instance, run_config=run_config, asset_selection=selection, raise_on_error=False)
    assert result.success, "a warning gate lets the run finish"
    report = result.output_for_node("mmm_report")
    assert not report["promoted"] and "below the minimum 0.9999" in report["reason"]
    filed = json.loads((pipeline.outputs / "challengers" / report["version"] / "summary.json").read_text())
    assert filed["champion"]["promoted"] is False and filed["gate"]["passed"] is False
    assert (pipeline.outputs / "summary.json").read_text() == live_before
    assert ModelRegistry(pipeline.outputs).champion_version == champion_before


def test_bad_input_fails_validation_and_keeps_earlier_results(pipeline):
    bad = write_tiny_dataset(pipeline.root / "bad")
    csv = bad.parent / "data" / "mmm_example.csv"
    frame = pd.read_csv(csv)
    frame.loc[[10, 11], "x1"] = -1.0  # negative spend on CSV lines 12 and 13
    frame.to_csv(csv, index=False)
    features_before = _latest(pipeline.instance, "feature_table").run_id
    champion_before = ModelRegistry(pipeline.outputs).champion_version
    result = defs.resolve_job_def("prepare_data").execute_in_process(
        instance=pipeline.instance, run_config=dataset_run_config(str(bad), str(pipeline.outputs.parent)),
        raise_on_error=False)
    assert not result.success
    schema = {e.check_name: e for e in result.get_asset_check_evaluations()
              if e.asset_key == dg.AssetKey("raw_sales")}["schema"]
    assert not schema.passed
    assert "x1" in schema.description and "12, 13" in schema.description
    assert result.asset_materializations_for_node("modeling_table") == []
    assert _latest(pipeline.instance, "feature_table").run_id == features_before
    assert ModelRegistry(pipeline.outputs).champion_version == champion_before


def test_each_fold_partition_has_its_own_value_and_metadata(pipeline):
    """One run fits its fold months together, yet every partition stores and describes its own month."""
    import pickle

    from mmm_pipeline.defs.resources import asset_storage_dir

    key = dg.AssetKey("walk_forward_fold")
    folder = asset_storage_dir(pipeline.instance.storage_directory(), "tiny", key)
    for month in pipeline.months:
        records = pipeline.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[month]), limit=1).records
        meta = records[0].asset_materialization.metadata
        with (folder / f"{month}.pkl").open("rb") as fh:
            stored = pickle.load(fh)
        assert stored.month == month and stored.ok
        assert meta["test_window"].value == f"{stored.test_start} .. {stored.test_end}"
        assert meta["metrics"].value["r2"] == pytest.approx(stored.metrics["r2"], abs=1e-3)


def test_a_refresh_reuses_every_stored_fold_but_the_newest(pipeline):
    """The fingerprints stored with each fold (code, settings, the data it saw) match what the
    schedule and the sensor compute from the raw files, so only the newest month is redone."""
    from mmm_pipeline.core.config import load_dataset_config
    from mmm_pipeline.defs.automation import plan_refresh

    config = load_dataset_config(pipeline.run_config["resources"]["dataset"]["config"]["dataset"])
    assert plan_refresh(pipeline.instance, config).months == pipeline.months[-1:]
