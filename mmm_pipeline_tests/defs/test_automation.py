"""The raw-file sensor and the monthly schedule, evaluated with Dagster's test contexts."""

import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from mmm_pipeline.definitions import defs
from mmm_pipeline.core.train.walk_forward import fold_data_digests
from mmm_pipeline.defs.automation import current_model_data, raw_data_sensor, scan_files
from mmm_pipeline.defs.partitions import FOLD_PARTITIONS, months_to_run, plan_partitions
from mmm_pipeline.defs.resources import DatasetResource, asset_storage_dir, dataset_run_config, fingerprints

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def _age(path: Path, seconds: float = 3600) -> None:
    """Pretend the file was last written ``seconds`` ago (settled)."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def _tick(instance, dataset: Path, cursor: str | None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                      resources={"dataset": DatasetResource(dataset=str(dataset))})
    return raw_data_sensor.evaluate_tick(context)


def _added(result) -> list[str]:
    return [k for r in result.dynamic_partitions_requests if isinstance(r, dg.AddDynamicPartitionsRequest)
            for k in r.partition_keys]


def _append_week(csv: Path, date: str) -> None:
    frame = pd.read_csv(csv)
    row = frame.iloc[-1].copy()
    row["date_week"] = date
    pd.concat([frame, row.to_frame().T], ignore_index=True).to_csv(csv, index=False)


def test_new_file_starts_one_run_and_the_same_file_none(tiny_dataset):
    csv = tiny_dataset.parent / "data" / "mmm_example.csv"
    _age(csv)
    with dg.instance_for_test() as instance:
        first = _tick(instance, tiny_dataset, None)
        assert len(first.run_requests) == 1
        request = first.run_requests[0]
        assert request.job_name == "monthly_refresh"
        assert "mmm_example.csv@" in request.run_key
        assert _added(first) == ["2021-07", "2021-08"]
        assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("2021-07", "2021-08")
        assert request.run_config["resources"]["dataset"]["config"]["dataset"] == str(tiny_dataset)

        again = _tick(instance, tiny_dataset, first.cursor)
        assert again.run_requests == []

        restarted = _tick(instance, tiny_dataset, json.loads(json.dumps(first.cursor)))
        assert restarted.run_requests == [], "the cursor survives a restart as plain JSON"

        _age(csv, 7200)  # touched but identical content: still the same file version
        assert _tick(instance, tiny_dataset, first.cursor).run_requests == []


def test_files_the_pipeline_already_ingested_start_no_run_when_the_sensor_is_switched_on(tiny_dataset):
    csv = tiny_dataset.parent / "data" / "mmm_example.csv"
    _age(csv)
    with dg.instance_for_test() as instance:
        prepared = defs.resolve_job_def("prepare_data").execute_in_process(
            instance=instance, run_config=dataset_run_config(str(tiny_dataset)))
        assert prepared.success
        first = _tick(instance, tiny_dataset, None)
        assert first.run_requests == [], "the champion already saw these files"
        _append_week(csv, "2021-09-06")
        _age(csv)
        assert len(_tick(instance, tiny_dataset, first.cursor).run_requests) == 1


def test_new_month_of_data_adds_exactly_one_partition(tiny_dataset):
    csv = tiny_dataset.parent / "data" / "mmm_example.csv"
    _age(csv)
    with dg.instance_for_test() as instance:
        first = _tick(instance, tiny_dataset, None)
        instance.add_dynamic_partitions(FOLD_PARTITIONS.name, _added(first))  # what the daemon does
        _append_week(csv, "2021-09-06")
        _age(csv)
        second = _tick(instance, tiny_dataset, first.cursor)
        assert len(second.run_requests) == 1
        assert second.run_requests[0].run_key != first.run_requests[0].run_key
        assert _added(second) == ["2021-09"]
        assert not [r for r in second.dynamic_partitions_requests if isinstance(r, dg.DeleteDynamicPartitionsRequest)]


def test_file_still_being_written_is_not_picked_up(tiny_dataset):
    csv = tiny_dataset.parent / "data" / "mmm_example.csv"
    _age(csv)
    with dg.instance_for_test() as instance:
        cursor = _tick(instance, tiny_dataset, None).cursor
        partial = csv.parent / "mmm_example_2021_09.csv"
        partial.write_text(csv.read_text()[:500])  # fresh mtime: younger than settle_seconds
        assert _tick(instance, tiny_dataset, cursor).run_requests == []
        cursor = _tick(instance, tiny_dataset, cursor).cursor
        with partial.open("a") as fh:  # still growing, and now old enough: the size change holds it back
            fh.write("2021-09-06,1,2,3,0,0,1,1\n")
        _age(partial)
        growing = _tick(instance, tiny_dataset, cursor)
        assert growing.run_requests == []
        settled = _tick(instance, tiny_dataset, growing.cursor)  # same size as last tick, old mtime
        assert len(settled.run_requests) == 1
        assert "mmm_example_2021_09.csv@" in settled.run_requests[0].run_key


def test_scan_hashes_only_changed_files(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("x\n1\n")
    _age(path)
    first = scan_files([path], None, settle_seconds=10)
    assert list(first.ready) == [str(path)]
    second = scan_files([path], first.cursor, settle_seconds=10)
    assert second.ready == {} and second.cursor == first.cursor


def test_schedule_requests_the_new_months_and_adds_their_partitions(tiny_dataset):
    schedule = defs.resolve_schedule_def("monthly_refresh_schedule")
    resources = {"dataset": DatasetResource(dataset=str(tiny_dataset))}
    with dg.instance_for_test() as instance:
        when = datetime(2021, 10, 1, 3, tzinfo=timezone.utc)
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when, resources=resources)
        first = schedule.evaluate_tick(context).run_requests
        assert len(first) == 1 and first[0].job_name == "monthly_refresh"
        assert (first[0].tags[RANGE_START], first[0].tags[RANGE_END]) == ("2021-07", "2021-08")
        assert list(instance.get_dynamic_partitions(FOLD_PARTITIONS.name)) == ["2021-07", "2021-08"]
        # once both folds are stored by this code with these settings from this data, only the
        # newest month is redone
        config = resources["dataset"].load()
        digests = fold_data_digests(current_model_data(config), config.settings, ["2021-07", "2021-08"])
        folder = asset_storage_dir(instance.storage_directory(), "tiny", dg.AssetKey("walk_forward_fold"))
        folder.mkdir(parents=True)
        for month in ("2021-07", "2021-08"):
            (folder / f"{month}.pkl").write_bytes(b"stored")
            (folder / f"{month}.meta.json").write_text(json.dumps({**fingerprints(config), "data": digests[month]}))

        def next_range():
            context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when, resources=resources)
            request = schedule.evaluate_tick(context).run_requests[0]
            return request.tags[RANGE_START], request.tags[RANGE_END]

        assert next_range() == ("2021-08", "2021-08")
        # a fold computed with other settings (or other code) is stale and computed again
        (folder / "2021-07.meta.json").write_text(json.dumps({**fingerprints(config), "settings": "older",
                                                              "data": digests["2021-07"]}))
        assert next_range() == ("2021-07", "2021-08")
        # so is one computed from other data (a past month revised since)
        (folder / "2021-07.meta.json").write_text(json.dumps({**fingerprints(config), "data": "revised"}))
        assert next_range() == ("2021-07", "2021-08")


def test_schedule_skips_with_the_reason_when_data_is_bad(tiny_dataset):
    csv = tiny_dataset.parent / "data" / "mmm_example.csv"
    csv.write_text(csv.read_text().replace("date_week", "week", 1))
    schedule = defs.resolve_schedule_def("monthly_refresh_schedule")
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance, resources={"dataset": DatasetResource(
            dataset=str(tiny_dataset))}, scheduled_execution_time=datetime(2021, 10, 1, tzinfo=timezone.utc))
        result = schedule.evaluate_tick(context)
        assert result.run_requests == [] or result.run_requests is None
        assert "date_week" in result.skip_message


@pytest.mark.parametrize(("existing", "wanted", "add", "delete"), [
    ([], ["2021-07", "2021-08"], ["2021-07", "2021-08"], []),
    (["2021-07"], ["2021-07", "2021-08"], ["2021-08"], []),
    (["2021-07", "2021-08"], ["2021-07", "2021-08"], [], []),
    (["2020-01"], ["2021-07"], ["2021-07"], ["2020-01"]),  # another dataset's months: rebuilt
])
def test_partition_plan_appends_or_rebuilds_in_time_order(existing, wanted, add, delete):
    plan = plan_partitions(existing, wanted)
    assert (plan.add, plan.delete) == (add, delete)


def test_incremental_runs_start_at_the_first_missing_month():
    months = ["2021-06", "2021-07", "2021-08"]
    assert months_to_run(months, set()) == months
    assert months_to_run(months, {"2021-06"}) == ["2021-07", "2021-08"]
    assert months_to_run(months, set(months)) == ["2021-08"]
