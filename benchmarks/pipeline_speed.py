"""Speed and memory of the whole graph: the cold run, the one-new-month refresh, and growth with
the number of hierarchy nodes.

    nice -n 10 .venv/bin/python benchmarks/pipeline_speed.py                          # retail_daily
    nice -n 10 .venv/bin/python benchmarks/pipeline_speed.py --dataset robyn_weekly
    nice -n 10 .venv/bin/python benchmarks/pipeline_speed.py --nodes 16 32            # + scaled copies
    nice -n 10 .venv/bin/python benchmarks/pipeline_speed.py --no-refresh             # cold run only

Each measurement runs in its own work folder with a fresh Dagster instance, so nothing is reused
from an earlier run:

1. **cold run**: ``python -m mmm_pipeline run`` on the dataset's files minus their last month
   (what the instance held before the month arrived), timed as a whole and per step from the
   Dagster run's STEP_START / STEP_SUCCESS events;
2. **refresh**: the full files, then what the schedule and the raw-data sensor do: sync the fold
   partitions with the data, keep the folds whose stored fingerprints are current, and run
   ``monthly_refresh`` over the months left (see :mod:`mmm_pipeline.defs.automation`);
3. **nodes**: ``--nodes 16 32`` copies the dataset's sub-categories (8 -> 16 -> 32 nodes, same
   dates and spend) and times a cold run of the full files for each.

Peak memory is polled from ``/proc`` every 0.2 s as the summed resident set of the run's process
tree (the multiprocess executor and fold workers are separate processes), beside the largest
single process from ``wait4``. Torch runs on one thread (``settings.training.threads``). The load
average is printed with every figure: on the shared 2-core machine it moves timings by 1.5x.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

DAGSTER_YAML = "telemetry:\n  enabled: false\n"


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} (1/5 min)"


# --------------------------------------------------------------------------------------------
# datasets written into a work folder
# --------------------------------------------------------------------------------------------


def source_dates(frame: pd.DataFrame, spec: dict) -> pd.Series:
    """The period start of each row, from a source's ``date`` spec (one column or year + month)."""
    if spec.get("column"):
        return pd.to_datetime(frame[spec["column"]], format=spec.get("format"))
    return pd.to_datetime(dict(year=frame[spec["year_column"]], month=frame[spec["month_column"]], day=1))


def last_month_start(config) -> pd.Timestamp:
    """First day of the last month of the dataset's main (fact) source."""
    main = fact_source(config)
    dates = source_dates(pd.read_csv(config.source_path(main)), config.sources[main].date.model_dump())
    return dates.max().to_period("M").to_timestamp()


def subcategory_column(config) -> str:
    if not (config.hierarchy and config.hierarchy.subcategory):
        raise SystemExit(f"{config.name} has no sub-category column to copy (hierarchy.subcategory): --nodes needs one")
    return config.hierarchy.subcategory


def node_count(config) -> int:
    """Distinct sub-categories of the fact source (the hierarchy's nodes)."""
    column = subcategory_column(config)
    return int(pd.read_csv(config.source_path(fact_source(config)), usecols=[column])[column].nunique())


def fact_source(config) -> str:
    return next(name for name, s in config.sources.items() if s.kind == "fact")


def copy_nodes(frame: pd.DataFrame, column: str, copies: int) -> pd.DataFrame:
    """The rows ``copies`` times, the k-th copy's ``column`` values suffixed " k" (k >= 2)."""
    parts = [frame]
    for k in range(2, copies + 1):
        parts.append(frame.assign(**{column: frame[column].astype(str) + f" {k}"}))
    return pd.concat(parts, ignore_index=True)


def write_dataset(name: str, work: Path, before: pd.Timestamp | None, node_copies: int = 1) -> Path:
    """The dataset's YAML and dated files in ``work`` (rows before ``before`` when given; the
    fact source's sub-categories copied ``node_copies`` times); results go to ``work/outputs``."""
    from mmm_pipeline.core.config import dataset_config_path, load_dataset_config

    config = load_dataset_config(name)
    raw = yaml.safe_load(dataset_config_path(name).read_text())
    folder = work / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    subcategory = subcategory_column(config) if node_copies > 1 else None
    for source, spec in config.sources.items():
        frame = pd.read_csv(config.source_path(source))
        if before is not None and spec.date is not None:
            frame = frame[(source_dates(frame, spec.date.model_dump()) < before).to_numpy()]
        if node_copies > 1 and spec.kind == "fact":
            frame = copy_nodes(frame, subcategory, node_copies)
        path = folder / config.source_path(source).name
        frame.to_csv(path, index=False)
        raw["sources"][source]["path"] = str(path)
    raw["name"] = f"{config.name}_speed"
    raw.pop("truth_file", None)
    settings = raw.setdefault("settings", {})
    settings["outputs"] = {"root": str(work / "outputs")}
    # a failed gate stops the graph before the intervals and the plan; speed needs every step
    settings["automation"] = {**(settings.get("automation") or {}), "gate_blocking": False}
    path = work / f"{raw['name']}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


# --------------------------------------------------------------------------------------------
# measuring a process
# --------------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return [int(c) for t in tasks for c in (t / "children").read_text().split()]
    except OSError:
        return []


def tree_rss_mb(pid: int) -> float:
    """Summed resident memory of ``pid`` and its descendants, in MB."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
        todo += _children(current)
    return total / 1024


@dataclass
class Measured:
    label: str
    seconds: float
    peak_tree_mb: float
    peak_process_mb: float
    cpu_seconds: float
    exit_code: int
    load: str
    steps: dict[str, float] = field(default_factory=dict)


def measure(label: str, command: list[str], env: dict[str, str], log: Path) -> Measured:
    """Run ``command`` to the end, polling its process tree's memory."""
    peak = [0.0]
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
        done = threading.Event()

        def poll() -> None:
            while not done.wait(0.2):
                peak[0] = max(peak[0], tree_rss_mb(proc.pid))

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        poller.join()
    seconds = time.perf_counter() - started
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(label, seconds, peak[0], usage.ru_maxrss / 1024, cpu, proc.returncode, load_note())


def step_seconds(home: Path, since: float) -> dict[str, float]:
    """Seconds per step of the runs the instance at ``home`` started after ``since`` (epoch s),
    from each run's STEP_START and STEP_SUCCESS / STEP_FAILURE events; a step that ran in several
    runs is summed."""
    import dagster as dg

    out: dict[str, float] = {}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for run in instance.get_runs():
            record = instance.get_run_record_by_id(run.run_id)
            if record is None or record.create_timestamp.timestamp() < since:
                continue
            started: dict[str, float] = {}
            for entry in instance.all_logs(run.run_id):
                event = entry.dagster_event
                if event is None or not event.step_key:
                    continue
                if event.event_type_value == "STEP_START":
                    started[event.step_key] = entry.timestamp
                elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in started:
                    took = entry.timestamp - started.pop(event.step_key)
                    out[event.step_key] = out.get(event.step_key, 0.0) + took
    return out


def fresh_home(work: Path) -> Path:
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    return home


def child_env(home: Path) -> dict[str, str]:
    return {**os.environ, "DAGSTER_HOME": str(home), "DISABLE_PANDERA_IMPORT_WARNING": "True"}


def timed(label: str, command: list[str], work: Path, home: Path) -> Measured:
    since = time.time()
    result = measure(label, command, child_env(home), work / f"{label.replace(' ', '_')}.log")
    result.steps = step_seconds(home, since)
    state = "ok" if result.exit_code == 0 else f"FAILED (exit {result.exit_code}, see {work})"
    print(f"  {label}: {result.seconds:.0f} s ({result.cpu_seconds:.0f} s CPU), peak {result.peak_tree_mb:.0f} MB, {result.load}: {state}",
          flush=True)
    return result


def cold_run(label: str, dataset_yaml: Path, work: Path, home: Path) -> Measured:
    command = [sys.executable, "-m", "mmm_pipeline", "run", "--dataset", str(dataset_yaml)]
    return timed(label, command, work, home)


def refresh_run(dataset_yaml: Path, work: Path, home: Path) -> Measured:
    command = [sys.executable, str(Path(__file__).resolve()), "--refresh-step", str(dataset_yaml)]
    return timed("refresh", command, work, home)


def refresh_step(dataset_yaml: str) -> int:
    """In a child process: what the schedule and the sensor launch after new data arrived."""
    import dagster as dg

    from mmm_pipeline.core.config import load_dataset_config
    from mmm_pipeline.definitions import defs
    from mmm_pipeline.defs.automation import apply_partition_requests, plan_refresh, refresh_run_request

    config = load_dataset_config(dataset_yaml)
    with dg.DagsterInstance.get() as instance:
        refresh = plan_refresh(instance, config)
        apply_partition_requests(instance, refresh.partition_requests)
        print(f"refresh: {refresh.note}; computing {len(refresh.months)} fold(s): {', '.join(refresh.months)}",
              flush=True)
        request = refresh_run_request(config, dataset_yaml, refresh.months, "pipeline_speed", "benchmark")
        result = defs.resolve_job_def(request.job_name).execute_in_process(
            run_config=request.run_config, instance=instance, tags=request.tags, raise_on_error=False)
    return 0 if result.success else 1


# --------------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------------


def stage_table(runs: list[Measured]) -> str:
    """Markdown: one row per step (slowest first in the first run), one column per run."""
    steps = sorted({s for r in runs for s in r.steps}, key=lambda s: -runs[0].steps.get(s, 0.0))
    head = "| step | " + " | ".join(f"{r.label} (s)" for r in runs) + " |"
    lines = [head, "|---|" + "---:|" * len(runs)]
    for step in steps:
        lines.append(f"| {step} | " + " | ".join(f"{r.steps[step]:.1f}" if step in r.steps else "-" for r in runs)
                     + " |")
    lines.append("| **sum of steps** | " + " | ".join(f"{sum(r.steps.values()):.1f}" for r in runs) + " |")
    lines.append("| **process wall** | " + " | ".join(f"{r.seconds:.1f}" for r in runs) + " |")
    lines.append("| process CPU (user + system) | " + " | ".join(f"{r.cpu_seconds:.1f}" for r in runs) + " |")
    lines.append("| peak RSS, process tree (MB) | " + " | ".join(f"{r.peak_tree_mb:.0f}" for r in runs) + " |")
    lines.append("| peak RSS, largest process (MB) | " + " | ".join(f"{r.peak_process_mb:.0f}" for r in runs)
                 + " |")
    lines.append("| load at the end | " + " | ".join(r.load for r in runs) + " |")
    return "\n".join(lines)


def nodes_table(rows: list[tuple[int, Measured]]) -> str:
    lines = ["| nodes | seconds | CPU seconds | peak MB (tree) | peak MB (largest process) | load | exit |",
             "|---:|---:|---:|---:|---:|---|---:|"]
    for nodes, r in rows:
        lines.append(f"| {nodes} | {r.seconds:.0f} | {r.cpu_seconds:.0f} | {r.peak_tree_mb:.0f} | {r.peak_process_mb:.0f} | {r.load} | "
                     f"{r.exit_code} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="retail_daily", help="dataset name (default retail_daily)")
    parser.add_argument("--workdir", default="/tmp/mmm_pipeline_speed", help="scratch folder (emptied per measurement)")
    parser.add_argument("--nodes", type=int, nargs="*", default=[],
                        help="also time cold runs with the sub-categories copied to reach these node counts")
    parser.add_argument("--no-refresh", action="store_true",
                        help="time one cold run of the full files instead of cold-minus-a-month plus the refresh")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    parser.add_argument("--refresh-step", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.refresh_step:
        return refresh_step(args.refresh_step)
    import shutil

    from mmm_pipeline.core.config import load_dataset_config

    base = Path(args.workdir)
    print(f"{args.dataset} on {os.cpu_count()} cores, {load_note()}; work folder {base}", flush=True)
    work = base / args.dataset
    shutil.rmtree(work, ignore_errors=True)
    home = fresh_home(work)
    runs: list[Measured] = []
    if args.no_refresh:
        runs.append(cold_run("cold run", write_dataset(args.dataset, work, None), work, home))
    else:
        cut = last_month_start(load_dataset_config(args.dataset))
        print(f"cold run on the files before {cut:%Y-%m-%d}, then the refresh with the month from {cut:%Y-%m-%d}",
              flush=True)
        runs.append(cold_run("cold run", write_dataset(args.dataset, work, cut), work, home))
        runs.append(refresh_run(write_dataset(args.dataset, work, None), work, home))
    print("\n" + stage_table(runs) + "\n", flush=True)
    scaled: list[tuple[int, Measured]] = []
    if args.nodes:
        nodes = node_count(load_dataset_config(args.dataset))
        for target in args.nodes:
            copies = max(1, round(target / nodes))
            scaled_work = base / f"{args.dataset}_{nodes * copies}_nodes"
            shutil.rmtree(scaled_work, ignore_errors=True)
            scaled_home = fresh_home(scaled_work)
            path = write_dataset(args.dataset, scaled_work, None, node_copies=copies)
            scaled.append((nodes * copies, cold_run(f"{nodes * copies} nodes", path, scaled_work, scaled_home)))
        print("\n" + nodes_table(scaled) + "\n", flush=True)
    if args.json:
        payload = {"dataset": args.dataset, "runs": [r.__dict__ for r in runs],
                   "nodes": [{"nodes": n, **r.__dict__} for n, r in scaled]}
        Path(args.json).write_text(json.dumps(payload, indent=2))
    return 0 if all(r.exit_code == 0 for r in runs + [m for _, m in scaled]) else 1


if __name__ == "__main__":
    sys.exit(main())
