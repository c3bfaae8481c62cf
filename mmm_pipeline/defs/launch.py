"""What ``python -m mmm_pipeline run`` does: the whole graph through Dagster, on the
persistent instance, with one progress line per step.

Two runs, so bad input stops before any model is trained:

1. ``prepare_data`` (ingestion, validation, features). ``feature_table`` syncs the
   ``fold_month`` partitions with the data's walk-forward months.
2. ``train_and_report`` over the partition range first..last fold month: every fold partition
   and everything after it in one run.

With ``fold_workers`` > 1, step 2 is split: ``tuning_study`` first (the folds use its settings),
then the folds in that many worker processes, each a ``walk_forward_folds`` run over a
contiguous block of months, then the rest.

Both appear in the Dagster UI like any other run. The exit code is non-zero when a step or a
blocking check fails, and the error is printed.
"""

import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mmm_pipeline.core.config import PROJECT_ROOT

DAGSTER_YAML = "telemetry:\n  enabled: false\n"
Echo = Callable[[str], None]


def ensure_dagster_home() -> Path:
    """``$DAGSTER_HOME`` (default ``<repo>/.dagster_home``), created with telemetry disabled."""
    home = Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def error_text(error: Any) -> str:
    """The user's error, not Dagster's wrapper: the innermost cause, after the wrapper's first
    line when that adds context (e.g. which input could not be loaded)."""
    outer = error
    while error.cause is not None and (error.cls_name or "").startswith("Dagster"):
        error = error.cause
    inner = error.message.strip()  # already starts with the exception's class name
    if error is outer or "DagsterExecutionStepExecutionError" in (outer.cls_name or ""):
        return inner
    return f"{outer.message.strip().splitlines()[0]} {inner}"


class Progress:
    """Polls the run's event log in a thread and prints one line per step event."""

    def __init__(self, instance: Any, run_id: str, echo: Echo, interval: float = 0.5) -> None:
        self.instance, self.run_id, self.echo, self.interval = instance, run_id, echo, interval
        self._seen = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._started: dict[str, float] = {}
        self.failures: list[str] = []
        self.failed_checks: list[str] = []

    def __enter__(self) -> "Progress":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def poll(self) -> None:
        try:
            entries = self.instance.all_logs(self.run_id)
        except Exception:  # the run may not be stored yet
            return
        for entry in entries[self._seen:]:
            self._show(entry)
        self._seen = len(entries)

    def _show(self, entry: Any) -> None:
        event = entry.dagster_event
        stamp = time.strftime("%H:%M:%S", time.localtime(entry.timestamp))
        if event is None:
            if entry.level >= 20 and entry.step_key:  # INFO and above from an asset
                self.echo(f"{stamp}   {entry.step_key}: {entry.user_message}")
            return
        kind = event.event_type_value
        step = event.step_key or ""
        if kind == "STEP_START":
            self._started[step] = entry.timestamp
            self.echo(f"{stamp} > {step}")
        elif kind == "STEP_SUCCESS":
            took = entry.timestamp - self._started.get(step, entry.timestamp)
            self.echo(f"{stamp} ok {step} ({took:.1f}s)")
        elif kind == "STEP_FAILURE":
            message = f"{step}: {error_text(event.event_specific_data.error)}"
            self.failures.append(message)
            self.echo(f"{stamp} FAILED {message}")
        elif kind == "STEP_SKIPPED":
            self.echo(f"{stamp} skipped {step} (an upstream step failed)")
        elif kind == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            if not data.passed:
                severity = getattr(data.severity, "value", str(data.severity))
                text = f"{data.asset_key.to_user_string()}:{data.check_name} ({severity}): {data.description or ''}"
                if severity == "ERROR":
                    self.failed_checks.append(text)
                self.echo(f"{stamp} check failed {text}")


def _execute_subset(names: list[str], run_config: dict, tags: dict[str, str], instance: Any, executor: str,
                    echo: Echo, exclude: bool = False) -> tuple[bool, Progress]:
    """``train_and_report`` restricted to ``names`` (or to everything but them)."""
    from mmm_pipeline.definitions import defs

    keys = [k for k in defs.resolve_job_def("train_and_report").asset_layer.executable_asset_keys
            if (k.to_user_string() in names) != exclude]
    return _execute("train_and_report", run_config, tags, instance, executor, echo, asset_selection=keys)


def _execute(job_name: str, run_config: dict, tags: dict[str, str], instance: Any, executor: str,
             echo: Echo, asset_selection: list | None = None) -> tuple[bool, Progress]:
    from mmm_pipeline.definitions import defs

    run_id = str(uuid.uuid4())
    progress = Progress(instance, run_id, echo)
    echo(f"run {job_name} ({run_id[:8]}) ...")
    if executor == "in_process":
        job = defs.resolve_job_def(job_name)
        with progress:
            result = job.execute_in_process(run_config=run_config, instance=instance, tags=tags, run_id=run_id,
                                            raise_on_error=False, asset_selection=asset_selection)
        return result.success, progress
    import dagster as dg

    recon = dg.build_reconstructable_job("mmm_pipeline.definitions", "job_named", reconstructable_args=(job_name,))
    config = {**run_config, "execution": {"config": {"multiprocess": {"max_concurrent": os.cpu_count() or 2}}}}
    tagged = {**tags, "mmm/launch": run_id}
    with progress:
        thread_result: dict[str, Any] = {}

        def follow() -> None:  # execute_job picks its own run id; find it by tag
            import dagster as dg

            while "done" not in thread_result:
                records = instance.get_run_records(dg.RunsFilter(tags={"mmm/launch": run_id}), limit=1)
                if records:
                    progress.run_id = records[0].dagster_run.run_id
                    return
                time.sleep(0.2)

        finder = threading.Thread(target=follow, daemon=True)
        finder.start()
        if asset_selection is not None:
            recon = recon.get_subset(asset_selection=set(asset_selection))
        with dg.execute_job(recon, instance=instance, run_config=config, tags=tagged, raise_on_error=False) as result:
            thread_result["done"] = True
            progress.run_id = result.run_id
            success = result.success
    return success, progress


def split_months(months: list[str], workers: int) -> list[list[str]]:
    """Contiguous blocks of months, as even as possible (partition ranges must be contiguous)."""
    workers = max(1, min(workers, len(months)))
    size, extra = divmod(len(months), workers)
    blocks, start = [], 0
    for i in range(workers):
        end = start + size + (1 if i < extra else 0)
        blocks.append(months[start:end])
        start = end
    return [b for b in blocks if b]


def _fold_worker(home: str, run_config: dict, tags: dict[str, str], label: str) -> tuple[bool, list[str]]:
    """One worker process: a ``walk_forward_folds`` run over its block (spawned, so it imports afresh)."""
    os.environ["DAGSTER_HOME"] = home
    import dagster as dg

    def echo(line: str) -> None:
        print(f"[{label}] {line}", flush=True)

    with dg.DagsterInstance.get() as instance:
        ok, progress = _execute("walk_forward_folds", run_config, tags, instance, "in_process", echo)
    return ok, progress.failures + progress.failed_checks


def _parallel_folds(home: Path, months: list[str], workers: int, run_config: dict, tags: dict[str, str],
                    echo: Echo) -> list[str]:
    """Run the folds in ``workers`` processes; returns the failures (empty when all succeeded)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from mmm_pipeline.defs.partitions import range_tags

    blocks = split_months(months, workers)
    echo(f"computing {len(months)} folds in {len(blocks)} worker processes")
    failures: list[str] = []
    with ProcessPoolExecutor(len(blocks), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_fold_worker, str(home), run_config, {**tags, **range_tags(block)},
                               f"folds {block[0]}..{block[-1]}") for block in blocks]
        for future in futures:
            ok, problems = future.result()
            failures += problems if not ok else []
    return failures


def run_pipeline(dataset: str | None, output_root: str | None = None, executor: str = "in_process",
                 echo: Echo = print, fold_workers: int = 1) -> int:
    """Materialize the whole graph for ``dataset``; returns the process exit code."""
    from mmm_pipeline.core.config import ConfigError, load_dataset_config

    home = ensure_dagster_home()
    try:
        config = load_dataset_config(dataset)
    except ConfigError as exc:
        echo(f"error: {exc}")
        return 2
    import dagster as dg

    from mmm_pipeline.defs.partitions import FOLD_PARTITIONS, range_tags
    from mmm_pipeline.defs.resources import dataset_run_config

    ref = dataset or config.config_path
    # the progress lines replace Dagster's per-event console log (still stored in the instance)
    run_config = {**dataset_run_config(ref, output_root), "loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    tags = {"mmm/dataset": config.name, "mmm/trigger": "cli"}
    started = time.perf_counter()
    echo(f"dataset {config.name} ({config.config_path}); Dagster instance {home}")
    with dg.DagsterInstance.get() as instance:
        ok, progress = _execute("prepare_data", run_config, tags, instance, executor, echo)
        if not ok:
            return _failed("data preparation", progress, echo)
        months = list(instance.get_dynamic_partitions(FOLD_PARTITIONS.name))
        if not months:
            echo(f"{config.name}: no walk-forward fold (too short a history for walk_forward.initial_months = "
                 f"{(config.settings.get('walk_forward') or {}).get('initial_months')}); running the rest to "
                 "show what else the data supports")
            ok, progress = _execute_subset(["walk_forward_fold"], run_config, tags, instance, executor, echo,
                                           exclude=True)
        elif fold_workers > 1:
            ok, progress = _execute_subset(["tuning_study"], run_config, tags, instance, executor, echo)
            if not ok:  # the folds use the tuned settings, so tuning runs before them
                return _failed("tuning", progress, echo)
            echo(f"{len(months)} fold partition(s): {months[0]} .. {months[-1]}")
            failures = _parallel_folds(home, months, fold_workers, run_config, tags, echo)
            if failures:
                echo("error: walk-forward folds failed")
                for line in failures:
                    echo(f"  {line}")
                return 1
            ok, progress = _execute_subset(["tuning_study", "walk_forward_fold"], run_config, tags, instance,
                                           executor, echo, exclude=True)
        else:
            echo(f"{len(months)} fold partition(s): {months[0]} .. {months[-1]}")
            ok, progress = _execute("train_and_report", run_config, {**tags, **range_tags(months)}, instance,
                                    executor, echo)
        if not ok:
            return _failed("training and reporting", progress, echo)
        report = instance.get_latest_materialization_event(dg.AssetKey("mmm_report"))
    meta = report.asset_materialization.metadata if report and report.asset_materialization else {}
    echo(f"done in {time.perf_counter() - started:.0f}s")
    if meta:
        echo(f"{meta['decision'].value}")
        echo(f"report: {meta['report'].value}")
    return 0


def _failed(stage: str, progress: Progress, echo: Echo) -> int:
    echo(f"error: {stage} failed")
    for line in progress.failed_checks:
        echo(f"  blocking check failed: {line}")
    for line in progress.failures:
        if progress.failed_checks and "DagsterAssetCheckFailedError" in line:
            continue  # the failed checks above already say what and by how much
        echo(f"  {line}")
    return 1


def rollback(dataset: str | None, output_root: str | None = None, echo: Echo = print) -> int:
    """Reinstall the previous champion's results folder."""
    from mmm_pipeline.core.config import ConfigError
    from mmm_pipeline.core.registry import RegistryError
    from mmm_pipeline.defs.resources import DatasetResource

    fields = {"dataset": dataset} if dataset else {}
    if output_root:
        fields["output_root"] = output_root
    resource = DatasetResource(**fields)
    try:
        registry = resource.registry()
        before = registry.champion_version
        record = registry.rollback()
    except (ConfigError, RegistryError) as exc:
        echo(f"error: {exc}")
        return 1
    echo(f"rolled back {resource.name}: champion {before} -> {record.version} ({registry.root})")
    return 0


if __name__ == "__main__":  # pragma: no cover - convenience for debugging
    sys.exit(run_pipeline(sys.argv[1] if len(sys.argv) > 1 else None))
