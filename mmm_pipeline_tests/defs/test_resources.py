"""The dataset resource and the dataset-keyed IO manager."""

import json
import logging

import dagster as dg
import pytest
from tiny_dataset import write_tiny_dataset

from mmm_pipeline.defs.resources import (
    DatasetIOManager,
    DatasetResource,
    asset_storage_dir,
    dataset_run_config,
)

DATASET = DatasetResource.configure_at_launch()
RESOURCES = {"dataset": DATASET, "io_manager": DatasetIOManager(dataset=DATASET)}
MONTHS = dg.DynamicPartitionsDefinition(name="fold_month")


@dg.asset
def upstream(dataset: DatasetResource) -> str:
    return dataset.name


@dg.asset
def downstream(upstream: str) -> str:
    return upstream


@dg.asset(partitions_def=MONTHS)
def per_month(context: dg.AssetExecutionContext) -> str:
    return context.partition_key


@dg.asset
def all_months(per_month: dict) -> list:
    return sorted(per_month.items())


def test_values_are_stored_per_dataset_and_never_cross(tmp_path):
    first = write_tiny_dataset(tmp_path / "a", name="first")
    second = write_tiny_dataset(tmp_path / "b", name="second")
    with dg.instance_for_test() as instance:
        result = dg.materialize([upstream, downstream], instance=instance, resources=RESOURCES,
                                run_config=dataset_run_config(str(first)))
        assert result.output_for_node("downstream") == "first"
        with pytest.raises(FileNotFoundError, match="upstream has not been materialized for dataset 'second'"):
            dg.materialize([upstream, downstream], selection=[downstream], instance=instance, resources=RESOURCES,
                           run_config=dataset_run_config(str(second)))


def test_unpartitioned_reader_gets_every_partition_and_names_missing_ones(tiny_dataset):
    config = dataset_run_config(str(tiny_dataset))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("fold_month", ["2021-07", "2021-08"])
        dg.materialize([per_month], partition_key="2021-07", instance=instance, resources=RESOURCES, run_config=config)
        with pytest.raises(FileNotFoundError, match=r"partition\(s\) 2021-08 of dataset"):
            dg.materialize([per_month, all_months], selection=[all_months], instance=instance, resources=RESOURCES,
                           run_config=config)
        dg.materialize([per_month], partition_key="2021-08", instance=instance, resources=RESOURCES, run_config=config)
        result = dg.materialize([per_month, all_months], selection=[all_months], instance=instance,
                                resources=RESOURCES, run_config=config)
        assert result.output_for_node("all_months") == [("2021-07", "2021-07"), ("2021-08", "2021-08")]


def test_results_dir_follows_output_root_and_dataset_name(tiny_dataset, tmp_path):
    resource = DatasetResource(dataset=str(tiny_dataset), output_root=str(tmp_path / "out"))
    assert resource.name == "tiny"
    assert resource.results_dir() == tmp_path / "out" / "tiny"


def test_value_computed_by_other_code_is_flagged_with_the_fix(tiny_dataset):
    config = dataset_run_config(str(tiny_dataset))
    with dg.instance_for_test() as instance:
        dg.materialize([upstream], instance=instance, resources=RESOURCES, run_config=config)
        meta = asset_storage_dir(instance.storage_directory(), "tiny", dg.AssetKey("upstream")) / "value.meta.json"
        meta.write_text(json.dumps({"code": "0000", "settings": "x"}))
        result = dg.materialize([upstream, downstream], selection=[downstream], instance=instance,
                                resources=RESOURCES, run_config=config)
        warnings = [e.user_message for e in instance.all_logs(result.run_id) if e.level == logging.WARNING]
        assert any("another version of mmm_pipeline" in w and "python -m mmm_pipeline run" in w for w in warnings)
