"""Jobs, the monthly schedule and the raw-file sensor.

- ``prepare_data``: ingestion, validation and features (syncs the fold partitions);
- ``train_and_report``: everything after the features, over a range of fold partitions;
- ``walk_forward_folds``: only the fold partitions (the CLI's parallel fold workers use it);
- ``monthly_refresh``: the whole graph in one run for the newest fold month(s), which is what
  the schedule and the sensor launch.

The sensor starts exactly one run per version of the watched raw files: the run key holds the
files' content hashes (Dagster never launches a run key twice), a file still being written
(modified less than ``settle_seconds`` ago, or a size that changed since the previous tick) is
left for a later tick, and the JSON cursor that remembers what was seen survives restarts.
"""

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from mmm_pipeline.core.config import PROJECT_ROOT, ConfigError, DatasetConfig, load_defaults
from mmm_pipeline.core.data.loaders import file_sha256
from mmm_pipeline.defs.ingest.raw import ROLES, SOURCE_HASHES
from mmm_pipeline.defs.partitions import (
    FOLD_PARTITIONS,
    months_to_run,
    plan_partitions,
    range_tags,
    stored_fold_months,
)
from mmm_pipeline.defs.resources import DatasetResource, dataset_run_config

PREPARE_GROUPS = ("ingestion", "validation", "features")

prepare_data_job = dg.define_asset_job(
    "prepare_data",
    selection=dg.AssetSelection.groups(*PREPARE_GROUPS),
    description="Read, validate and build features for the configured dataset; syncs fold_month partitions.",
)
train_and_report_job = dg.define_asset_job(
    "train_and_report",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups(*PREPARE_GROUPS),
    partitions_def=FOLD_PARTITIONS,
    description="Walk-forward folds (a partition range), gate, final model, evaluation, intervals, plan, report.",
)
walk_forward_folds_job = dg.define_asset_job(
    "walk_forward_folds",
    selection=dg.AssetSelection.assets("walk_forward_fold"),
    partitions_def=FOLD_PARTITIONS,
    description="Only the walk-forward folds, for a partition or a range (parallel fold runs, backfills).",
)
monthly_refresh_job = dg.define_asset_job(
    "monthly_refresh",
    selection=dg.AssetSelection.all(),
    partitions_def=FOLD_PARTITIONS,
    description="The whole graph for the newest fold month(s): new partition, retraining, report.",
)


# --------------------------------------------------------------------------------------------
# fold months from the data
# --------------------------------------------------------------------------------------------


def current_model_data(config: DatasetConfig):
    """The model data of the current raw files, as ``feature_table`` builds it (reads and
    validates every source)."""
    from mmm_pipeline.core.data.experiments import with_lift_tests
    from mmm_pipeline.core.data.modeling_table import load_dataset
    from mmm_pipeline.core.features.build import build_model_data

    return with_lift_tests(build_model_data(load_dataset(config).table, config), config)


@dataclass
class RefreshPlan:
    """What one automation tick asks for: partition changes and the months to (re)compute."""

    partition_requests: list
    months: list[str]
    note: str = ""


def plan_refresh(instance: dg.DagsterInstance, config: DatasetConfig) -> RefreshPlan:
    """New fold partitions plus the contiguous range of months whose folds need computing: a
    stored fold is reused while its fingerprints of code, settings and data still match."""
    from mmm_pipeline.core.train.walk_forward import data_fold_plan, fold_data_digests

    data = current_model_data(config)
    months = data_fold_plan(data, config.settings).keys
    plan = plan_partitions(list(instance.get_dynamic_partitions(FOLD_PARTITIONS.name)), months)
    stored = stored_fold_months(instance, config, fold_data_digests(data, config.settings, months))
    todo = months_to_run(plan.wanted, stored)
    note = f"{len(plan.add)} new fold partition(s)" if plan.add else "no new fold partition"
    return RefreshPlan(plan.requests(), todo, note)


def apply_partition_requests(instance: dg.DagsterInstance, requests: list) -> None:
    """Carry out a refresh plan's partition changes now (a schedule cannot return them)."""
    for request in requests:
        if isinstance(request, dg.DeleteDynamicPartitionsRequest):
            for key in request.partition_keys:
                instance.delete_dynamic_partition(FOLD_PARTITIONS.name, key)
        else:
            instance.add_dynamic_partitions(FOLD_PARTITIONS.name, list(request.partition_keys))


def refresh_run_request(config: DatasetConfig, dataset_ref: str, months: list[str], run_key: str,
                        trigger: str) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=run_key,
        job_name=monthly_refresh_job.name,
        run_config=dataset_run_config(dataset_ref),
        tags={**range_tags(months), "mmm/dataset": config.name, "mmm/trigger": trigger},
    )


# --------------------------------------------------------------------------------------------
# the schedule
# --------------------------------------------------------------------------------------------


def _automation_defaults() -> dict[str, Any]:
    """Automation settings of the code location's default dataset (defaults.yaml if it fails)."""
    try:
        return dict(DatasetResource().load().settings.get("automation") or {})
    except (ConfigError, OSError):
        return dict(load_defaults().get("automation") or {})


AUTOMATION = _automation_defaults()


@dg.schedule(
    name="monthly_refresh_schedule",
    cron_schedule=str(AUTOMATION.get("schedule_cron", "0 3 1 * *")),
    job=monthly_refresh_job,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Monthly: add the new fold partition, retrain, re-evaluate and report (champion rule applies).",
)
def monthly_refresh_schedule(context: dg.ScheduleEvaluationContext, dataset: DatasetResource):
    config = dataset.load()
    try:
        refresh = plan_refresh(context.instance, config)
    except Exception as exc:  # bad data: say so on the tick instead of launching a doomed run
        return dg.SkipReason(f"{config.name}: cannot compute fold months from the raw data: {exc}")
    if not refresh.months:
        return dg.SkipReason(f"{config.name}: the data has no walk-forward fold month yet")
    apply_partition_requests(context.instance, refresh.partition_requests)
    stamp = context.scheduled_execution_time.strftime("%Y-%m-%d") if context.scheduled_execution_time else "now"
    context.log.info("%s: %s; folds %s..%s", config.name, refresh.note, refresh.months[0], refresh.months[-1])
    return refresh_run_request(config, dataset.dataset, refresh.months, f"schedule:{config.name}:{stamp}", "schedule")


# --------------------------------------------------------------------------------------------
# the raw-file sensor
# --------------------------------------------------------------------------------------------


def watched_files(config: DatasetConfig, automation: dict[str, Any] | None = None) -> list[Path]:
    """The files the sensor watches: ``automation.raw_dir`` if set, else the folders of the
    dataset's configured source files; only names matching ``automation.watch_patterns``."""
    automation = dict(automation if automation is not None else config.settings.get("automation") or {})
    patterns = list(automation.get("watch_patterns") or ["*.csv"])
    raw_dir = automation.get("raw_dir")
    if raw_dir:
        folder = Path(raw_dir)
        folders = [folder if folder.is_absolute() else PROJECT_ROOT / folder]
    else:
        folders = sorted({config.source_path(name).parent for name in config.sources})
    files = {p for folder in folders if folder.is_dir() for pattern in patterns for p in folder.glob(pattern)}
    return sorted(p for p in files if p.is_file())


def ingested_hashes(instance: dg.DagsterInstance) -> dict[str, str]:
    """{resolved path: sha256} of the raw files the latest raw-asset materializations read."""
    hashes: dict[str, str] = {}
    for name in ROLES:
        event = instance.get_latest_materialization_event(dg.AssetKey(name))
        entry = event.asset_materialization.metadata.get(SOURCE_HASHES) if event and event.asset_materialization else None
        if entry is not None:
            hashes.update(entry.value)
    return hashes


def baseline_cursor(paths: Iterable[Path], ingested: dict[str, str]) -> dict[str, Any]:
    """A first cursor that counts files already ingested (same content) as seen.

    Without it, switching the sensor on after the pipeline has run would retrain on data the
    champion already saw. Size and mtime are unknown, so the first tick hashes these files once.
    """
    seen = {str(p): {"size": -1, "mtime_ns": -1, "sha256": ingested[str(p.resolve())]}
            for p in paths if str(p.resolve()) in ingested}
    return {"seen": seen, "pending": {}}


@dataclass
class FileScan:
    """Result of one sensor tick over the watched files."""

    ready: dict[str, str] = field(default_factory=dict)  # path -> sha256 of new/changed settled files
    waiting: list[str] = field(default_factory=list)  # files still being written
    cursor: dict[str, Any] = field(default_factory=dict)


def scan_files(paths: Iterable[Path], cursor: dict[str, Any] | None, settle_seconds: float,
               now: float | None = None) -> FileScan:
    """Which files are new or changed and have stopped changing since the last tick.

    The cursor remembers, per file, the size, modification time and hash last acted on
    (``seen``) and the size observed on the previous tick for files not yet settled
    (``pending``). Unchanged size and mtime skip hashing, so a tick over large files is cheap.
    """
    now = time.time() if now is None else now
    seen: dict[str, dict[str, Any]] = dict((cursor or {}).get("seen") or {})
    pending_before: dict[str, int] = dict((cursor or {}).get("pending") or {})
    pending: dict[str, int] = {}
    scan = FileScan()
    for path in paths:
        key = str(path)
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        known = seen.get(key)
        if known and known["size"] == stat.st_size and known["mtime_ns"] == stat.st_mtime_ns:
            continue
        young = now - stat.st_mtime < settle_seconds
        growing = key in pending_before and pending_before[key] != stat.st_size
        if young or growing:
            pending[key] = stat.st_size
            scan.waiting.append(key)
            continue
        digest = file_sha256(path)
        if not (known and known["sha256"] == digest):
            scan.ready[key] = digest
        seen[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
    scan.cursor = {"seen": seen, "pending": pending}
    return scan


def _run_key(config: DatasetConfig, ready: dict[str, str]) -> str:
    parts = []
    for path, digest in sorted(ready.items()):
        try:
            shown = str(Path(path).resolve().relative_to(PROJECT_ROOT))
        except ValueError:
            shown = path
        parts.append(f"{shown}@{digest[:16]}")
    return f"raw:{config.name}:" + ",".join(parts)


@dg.sensor(
    name="raw_data_sensor",
    jobs=[monthly_refresh_job, prepare_data_job],
    minimum_interval_seconds=int(AUTOMATION.get("sensor_interval_s", 30)),
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="New or changed raw files (settled) -> one monthly_refresh run per file version, plus the new "
    "fold partition.",
)
def raw_data_sensor(context: dg.SensorEvaluationContext, dataset: DatasetResource):
    config = dataset.load()
    automation = dict(config.settings.get("automation") or {})
    files = watched_files(config, automation)
    cursor = json.loads(context.cursor) if context.cursor else baseline_cursor(files, ingested_hashes(context.instance))
    scan = scan_files(files, cursor, float(automation.get("settle_seconds", 10)))
    new_cursor = json.dumps(scan.cursor, sort_keys=True)
    if not scan.ready:
        why = f"{len(scan.waiting)} file(s) still being written" if scan.waiting else "no new or changed raw file"
        return dg.SensorResult(skip_reason=why, cursor=new_cursor)
    changed = ", ".join(sorted(Path(p).name for p in scan.ready))
    try:
        refresh = plan_refresh(context.instance, config)
    except Exception as exc:  # the run itself will fail at ingestion and show the same error in the UI
        context.log.warning("%s: fold months not computable (%s); running data preparation only", config.name, exc)
        request = dg.RunRequest(run_key=_run_key(config, scan.ready), job_name=prepare_data_job.name,
                                run_config=dataset_run_config(dataset.dataset),
                                tags={"mmm/dataset": config.name, "mmm/trigger": "sensor"})
        return dg.SensorResult(run_requests=[request], cursor=new_cursor)
    if not refresh.months:
        return dg.SensorResult(skip_reason=f"{changed} changed, but the data has no fold month yet", cursor=new_cursor)
    context.log.info("%s changed: %s; folds %s..%s", changed, refresh.note, refresh.months[0], refresh.months[-1])
    request = refresh_run_request(config, dataset.dataset, refresh.months, _run_key(config, scan.ready), "sensor")
    return dg.SensorResult(run_requests=[request], cursor=new_cursor,
                           dynamic_partitions_requests=refresh.partition_requests)


jobs = [prepare_data_job, train_and_report_job, walk_forward_folds_job, monthly_refresh_job]
schedules = [monthly_refresh_schedule]
sensors = [raw_data_sensor]
