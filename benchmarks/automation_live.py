"""Live check of the automation: the real daemon, the raw-data sensor and the champion rule.

The unit tests drive the sensor with Dagster's test contexts; this script runs what a user
would: ``python -m mmm_pipeline run`` on the embedded data minus its last month, then
``dagster-daemon`` with the sensor switched on, and then

1. waits two sensor intervals: the files the champion was trained on must start no run;
2. drops the full files (one more month of sales, media and NPS) into the raw folder: exactly
   one ``monthly_refresh`` run must start, add the new fold partition and finish;
3. drops a media file with a negative spend: one run must start and fail at validation, with
   the champion and its results folder untouched;
4. waits two more intervals: nothing else may start.

It prints each run (trigger, job, status, seconds) and the champion before and after, and exits
non-zero when an expectation fails. About 10 minutes on the 2-core machine.

    .venv/bin/python benchmarks/automation_live.py [--workdir /tmp/mmm_automation_live]
"""

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "data" / "retail_daily"
HELD_BACK = pd.Timestamp("2025-06-01")  # the month that "arrives" during the check
INTERVAL_S = 10


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def write_raw_files(raw: Path, through: pd.Timestamp | None) -> None:
    """The embedded retailer's files, cut before ``through`` (all rows when None)."""
    raw.mkdir(parents=True, exist_ok=True)
    sales = pd.read_csv(SOURCE / "sales_daily.csv")
    media = pd.read_csv(SOURCE / "media_investment.csv")
    nps = pd.read_csv(SOURCE / "monthly_nps.csv")
    sale = pd.read_csv(SOURCE / "special_sale.csv")
    if through is not None:
        sales = sales[pd.to_datetime(sales["order_date"]) < through]
        media = media[pd.to_datetime(dict(year=media["Year"], month=media["Month"], day=1)) < through]
        nps = nps[pd.to_datetime(nps["Date"], format="%m/%d/%Y") < through]
        sale = sale[pd.to_datetime(sale["Date"], format="%m/%d/%Y") < through]
    for name, frame in (("sales_daily.csv", sales), ("media_investment.csv", media), ("monthly_nps.csv", nps),
                        ("special_sale.csv", sale)):
        tmp = raw / f".{name}.tmp"  # the sensor only watches *.csv: write aside, then rename
        frame.to_csv(tmp, index=False)
        os.replace(tmp, raw / name)


def write_dataset_yaml(work: Path) -> Path:
    """retail_daily's YAML with its files in ``work/raw`` and results in ``work/outputs``."""
    config = yaml.safe_load((REPO / "configs" / "datasets" / "retail_daily.yaml").read_text())
    config["name"] = "retail_live"
    for source in config["sources"].values():
        source["path"] = str(work / "raw" / Path(source["path"]).name)
    config.pop("truth_file", None)
    settings = config.setdefault("settings", {})
    settings["outputs"] = {"root": str(work / "outputs")}
    settings["automation"] = {"sensor_interval_s": INTERVAL_S, "settle_seconds": 3}
    path = work / "retail_live.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def champion_state(work: Path) -> tuple[str | None, str]:
    """The champion's version and a hash of its live results folder's summary.json."""
    from mmm_pipeline.core.registry import ModelRegistry

    root = work / "outputs" / "retail_live"
    summary = root / "summary.json"
    digest = hashlib.sha256(summary.read_bytes()).hexdigest()[:12] if summary.exists() else "-"
    return ModelRegistry(root).champion_version, digest


CHECK_STARTED = datetime.now(timezone.utc)


def runs_by_trigger(trigger: str) -> list:
    """Runs with this trigger tag created since the check started, oldest first."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"mmm/trigger": trigger}, created_after=CHECK_STARTED))
    return list(reversed(runs))


def wait_for_runs(count: int, timeout_s: float) -> list:
    """Sensor runs once ``count`` of them exist and all have finished (or the timeout passed)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        runs = runs_by_trigger("sensor")
        if len(runs) >= count and all(r.is_finished for r in runs):
            return runs
        time.sleep(5)
    return runs_by_trigger("sensor")


def seconds(run) -> float:
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        record = instance.get_run_record_by_id(run.run_id)
    return (record.end_time or time.time()) - (record.start_time or record.create_timestamp.timestamp())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default="/tmp/mmm_automation_live")
    args = parser.parse_args()
    work = Path(args.workdir)
    dataset = work / "retail_live.yaml"
    os.environ.update(DAGSTER_HOME=str(work / "home"), MMM_DATASET=str(dataset))
    failures: list[str] = []
    shutil.rmtree(work, ignore_errors=True)  # a fresh instance: run keys of an earlier check would block runs
    (work / "home").mkdir(parents=True)
    (work / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    write_raw_files(work / "raw", HELD_BACK)
    write_dataset_yaml(work)
    started = time.time()
    code = subprocess.call([sys.executable, "-m", "mmm_pipeline", "run", "--dataset", str(dataset)],
                           stdout=subprocess.DEVNULL)
    print(f"initial run (data to {HELD_BACK - pd.Timedelta(days=1):%Y-%m-%d}): exit {code}, "
          f"{time.time() - started:.0f} s, champion {champion_state(work)}")
    if code != 0:
        return 1

    target = ["-m", "mmm_pipeline.definitions"]
    daemon = subprocess.Popen([_bin("dagster-daemon"), "run", *target], stdout=subprocess.DEVNULL,
                              stderr=open(work / "daemon.log", "w"), start_new_session=True)
    try:
        subprocess.check_call([_bin("dagster"), "sensor", "start", "raw_data_sensor", *target],
                              stdout=subprocess.DEVNULL)
        time.sleep(3 * INTERVAL_S)
        if runs_by_trigger("sensor"):
            failures.append("the sensor started a run for files the champion was trained on")
        print(f"sensor on, files unchanged for {3 * INTERVAL_S} s: {len(runs_by_trigger('sensor'))} run(s)")

        write_raw_files(work / "raw", None)
        before = champion_state(work)
        runs = wait_for_runs(1, 900)
        print(f"new month dropped: {len(runs)} run(s); champion {before} -> {champion_state(work)}")
        if len(runs) != 1 or not runs[0].is_success:
            failures.append(f"expected one successful retraining run, got {[(r.job_name, r.status.value) for r in runs]}")

        good = champion_state(work)
        media = pd.read_csv(work / "raw" / "media_investment.csv")
        media.loc[media.index[-1], "TV"] = -3.0
        tmp = work / "raw" / ".broken.tmp"
        media.to_csv(tmp, index=False)
        os.replace(tmp, work / "raw" / "media_investment.csv")
        runs = wait_for_runs(2, 600)
        after = champion_state(work)
        print(f"broken media file dropped: {len(runs)} run(s); champion {good} -> {after}")
        if len(runs) != 2 or runs[-1].is_success:
            failures.append("the broken file did not produce exactly one failed run")
        if after != good:
            failures.append("the champion or its results folder changed after a failed run")

        time.sleep(3 * INTERVAL_S)
        if len(runs_by_trigger("sensor")) != 2:
            failures.append("runs started without a new file version")
        print("\n| trigger | job | status | seconds |\n|---|---|---|---:|")
        for run in runs_by_trigger("sensor"):
            print(f"| sensor | {run.job_name} | {run.status.value} | {seconds(run):.0f} |")
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
    for failure in failures:
        print("FAILED:", failure)
    print("all expectations met" if not failures else f"{len(failures)} expectation(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
