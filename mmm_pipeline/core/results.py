"""The results folder (outputs/<dataset>/): validated, JSON-clean and written atomically.

The report, the Dagster UI and anyone re-reading a run months later see only these files, so
they must be complete and consistent: either the whole new folder is there or the old one is
untouched. The writer builds everything in a temporary sibling directory, checks it, and swaps
it in with renames; a failure at any point leaves the previous results as they were.
docs/outputs.md documents every field.
"""

import json
import logging
import math
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
JSON_FILES = (
    "summary.json", "channels.json", "response_curves.json", "elasticities.json",
    "optimal_allocation.json", "scenarios.json",
)
CSV_FILES = ("decomposition.csv", "holdout_predictions.csv")
INTERVAL_KEYS = ("mean", "lo", "hi")

#: keys each file must have (the contract with the report); extra keys are allowed
SUMMARY_KEYS = (
    "dataset", "title", "simulated", "model_version", "created_at", "frequency", "target",
    "training_window", "holdout_metrics", "walk_forward", "baselines", "gate", "champion",
    "diagnostics", "not_identified", "price_elasticity", "notes",
)
CHANNEL_KEYS = (
    "spend", "contribution", "share", "roas", "mroas", "saturation_spend", "mroas_one_spend",
    "current_spend_per_period", "identified", "reason", "adstock", "saturation",
)
CHANNEL_INTERVALS = ("spend", "contribution", "share", "roas", "mroas")
CURVE_KEYS = ("spend", "mean", "lo", "hi", "current_spend", "optimal_spend", "saturation_spend")
ALLOCATION_KEYS = (
    "total_budget", "horizon_periods", "objective", "recommended", "reason", "probability_beats_current",
    "channels", "revenue_current", "revenue_optimal", "lift", "plan", "sensitivity",
)
SCENARIO_KEYS = ("name", "description", "revenue", "lift_pct")
DECOMPOSITION_COLUMNS = ("date", "node", "actual", "predicted", "base")
HOLDOUT_COLUMNS = ("date", "node", "actual", "predicted", "fold")


class ResultsSchemaError(ValueError):
    """A results payload does not match the results-folder schema (docs/outputs.md)."""


@dataclass
class ResultsPayload:
    """Everything that goes into one results folder."""

    summary: dict[str, Any]
    channels: dict[str, Any]
    decomposition: pd.DataFrame
    response_curves: dict[str, Any]
    elasticities: dict[str, Any]
    optimal_allocation: dict[str, Any]
    scenarios: list[dict[str, Any]]
    holdout_predictions: pd.DataFrame
    extra_files: dict[str, str] = field(default_factory=dict)  # name -> text (e.g. a log)


# -- JSON cleaning ---------------------------------------------------------------------------
def to_jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars/arrays to numbers/lists, NaN/inf to null, dates to ISO text."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict())
    raise ResultsSchemaError(f"cannot write a {type(value).__name__} to JSON: {value!r:.80}")


# -- validation ------------------------------------------------------------------------------
def _require(obj: Any, keys: tuple[str, ...], where: str) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{where}: expected an object, got {type(obj).__name__}"]
    return [f"{where}: missing key '{k}'" for k in keys if k not in obj]


def _interval(obj: Any, where: str) -> list[str]:
    if not isinstance(obj, dict) or any(k not in obj for k in INTERVAL_KEYS):
        return [f"{where}: expected an interval {{mean, lo, hi}}, got {obj!r:.80}"]
    lo, hi = obj["lo"], obj["hi"]
    finite = all(isinstance(v, (int, float, np.number)) and math.isfinite(v) for v in (lo, hi))
    if finite and not lo <= hi + 1e-9 * max(1.0, abs(hi)):
        return [f"{where}: interval lo {obj['lo']} > hi {obj['hi']}"]
    return []


def validate_payload(payload: ResultsPayload) -> list[str]:
    """Every schema problem in ``payload`` (empty when it can be written)."""
    problems = _require(payload.summary, SUMMARY_KEYS, "summary.json")
    for ch, entry in (payload.channels or {}).items():
        where = f"channels.json[{ch}]"
        problems += _require(entry, CHANNEL_KEYS, where)
        for key in CHANNEL_INTERVALS:
            if isinstance(entry, dict) and key in entry:
                problems += _interval(entry[key], f"{where}.{key}")
        if isinstance(entry, dict) and entry.get("identified") is False and not entry.get("reason"):
            problems.append(f"{where}: not identified but no reason given")
    for ch, curve in (payload.response_curves or {}).items():
        where = f"response_curves.json[{ch}]"
        problems += _require(curve, CURVE_KEYS, where)
        if isinstance(curve, dict) and all(k in curve for k in ("spend", "mean", "lo", "hi")):
            sizes = {len(curve[k]) for k in ("spend", "mean", "lo", "hi")}
            if len(sizes) != 1:
                problems.append(f"{where}: spend/mean/lo/hi have different lengths")
    for feat, nodes in (payload.elasticities or {}).items():
        for node, iv in (nodes or {}).items():
            problems += _interval(iv, f"elasticities.json[{feat}][{node}]")
    if payload.optimal_allocation:
        problems += _require(payload.optimal_allocation, ALLOCATION_KEYS, "optimal_allocation.json")
        for key in ("revenue_current", "revenue_optimal", "lift"):
            if key in payload.optimal_allocation:
                problems += _interval(payload.optimal_allocation[key], f"optimal_allocation.json.{key}")
    if not isinstance(payload.scenarios, list):
        problems.append("scenarios.json: expected a list")
    else:
        for i, sc in enumerate(payload.scenarios):
            problems += _require(sc, SCENARIO_KEYS, f"scenarios.json[{i}]")
            for key in ("revenue", "lift_pct"):
                if isinstance(sc, dict) and key in sc:
                    problems += _interval(sc[key], f"scenarios.json[{i}].{key}")
    for name, frame, cols in (
        ("decomposition.csv", payload.decomposition, DECOMPOSITION_COLUMNS),
        ("holdout_predictions.csv", payload.holdout_predictions, HOLDOUT_COLUMNS),
    ):
        if not isinstance(frame, pd.DataFrame):
            problems.append(f"{name}: expected a DataFrame, got {type(frame).__name__}")
            continue
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            problems.append(f"{name}: missing column(s) {join_names(missing)} (it has "
                            f"{join_names(frame.columns)})")
    for name in payload.extra_files:
        if name in JSON_FILES + CSV_FILES or "/" in name or name.startswith("."):
            problems.append(f"extra file name '{name}' clashes with a results file or is not a plain name")
    return problems


# -- writing ---------------------------------------------------------------------------------
def _write_json(path: Path, obj: Any) -> None:
    text = json.dumps(to_jsonable(obj), indent=2, allow_nan=False)
    path.write_text(text + "\n")


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    out.to_csv(path, index=False, float_format="%.10g")


def write_results(out_dir: str | Path, payload: ResultsPayload | None = None, **parts: Any) -> Path:
    """Write the results folder atomically and return its path.

    Pass a :class:`ResultsPayload`, or its fields as keywords
    (``write_results(out, summary=..., channels=..., ...)``).

    Steps: validate; write every file into ``<parent>/.tmp-<name>-<uuid>``; fsync; move the old
    folder (if any) aside, rename the new one into place, delete the old one. A crash before the
    swap leaves only a stray ``.tmp-*`` folder (ignored by git) and the old results intact.
    Files other writers add later (report.html) belong to the new folder's lifetime: a re-run
    replaces the folder, so no stale report survives next to new numbers.
    """
    if payload is None:
        try:
            payload = ResultsPayload(**parts)
        except TypeError as exc:
            raise ResultsSchemaError(f"write_results: {exc}; the parts are "
                                     f"{join_names(ResultsPayload.__dataclass_fields__)}") from exc
    elif parts:
        raise ResultsSchemaError("write_results: pass a ResultsPayload or keyword parts, not both")
    problems = validate_payload(payload)
    if problems:
        raise ResultsSchemaError(
            f"results for {Path(out_dir)} do not match the schema in docs/outputs.md:\n  - " + "\n  - ".join(problems)
        )
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".tmp-{out_dir.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        summary = dict(payload.summary)
        summary.setdefault("schema_version", SCHEMA_VERSION)
        _write_json(tmp / "summary.json", summary)
        _write_json(tmp / "channels.json", payload.channels)
        _write_json(tmp / "response_curves.json", payload.response_curves)
        _write_json(tmp / "elasticities.json", payload.elasticities)
        _write_json(tmp / "optimal_allocation.json", payload.optimal_allocation)
        _write_json(tmp / "scenarios.json", payload.scenarios)
        _write_csv(tmp / "decomposition.csv", payload.decomposition)
        _write_csv(tmp / "holdout_predictions.csv", payload.holdout_predictions)
        for name, text in payload.extra_files.items():
            (tmp / name).write_text(text)
        _fsync_dir(tmp)
        _swap_in(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("results written to %s", out_dir)
    return out_dir


def _fsync_dir(path: Path) -> None:
    for child in path.iterdir():
        with open(child, "rb") as fh:
            os.fsync(fh.fileno())


def _swap_in(tmp: Path, out_dir: Path) -> None:
    old = None
    if out_dir.exists():
        old = out_dir.parent / f".tmp-old-{out_dir.name}-{uuid.uuid4().hex[:8]}"
        os.replace(out_dir, old)
    try:
        os.replace(tmp, out_dir)
    except BaseException:
        if old is not None:
            os.replace(old, out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_results(out_dir: str | Path) -> dict[str, Any]:
    """Load a results folder back (JSON as dicts/lists, CSVs as DataFrames) for checks and tests."""
    out_dir = Path(out_dir)
    loaded: dict[str, Any] = {}
    for name in JSON_FILES:
        loaded[name] = json.loads((out_dir / name).read_text())
    for name in CSV_FILES:
        loaded[name] = pd.read_csv(out_dir / name, parse_dates=["date"])
    return loaded
