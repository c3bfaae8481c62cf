"""Reading a results folder for the report, tolerant of missing files and extra fields.

The report must render from files alone (a re-render months later, or a run that stopped
before the optimizer), so every input except ``summary.json`` is optional: a missing or
unreadable file becomes ``None`` plus a note that the section shows instead of a chart.
Unknown keys and columns are kept and ignored, so a newer writer never breaks an older report.
"""

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

SUMMARY_FILE = "summary.json"
#: optional JSON inputs: attribute name -> file name
OPTIONAL_JSON = {
    "channels": "channels.json",
    "response_curves": "response_curves.json",
    "elasticities": "elasticities.json",
    "optimal_allocation": "optimal_allocation.json",
    "scenarios": "scenarios.json",
}
#: optional CSV inputs: attribute name -> (file name, columns it must have)
OPTIONAL_CSV = {
    "decomposition": ("decomposition.csv", ("date", "node", "actual", "predicted", "base")),
    "holdout": ("holdout_predictions.csv", ("date", "actual", "predicted")),
}
#: decomposition.csv columns that are not drivers; ``base:<part>`` columns itemise ``base``
DECOMPOSITION_FIXED = ("date", "node", "category", "actual", "predicted", "base")
BASE_PART_PREFIX = "base:"


class ResultsError(ValueError):
    """The results folder cannot be reported on (no or unreadable summary.json)."""


@dataclass
class ReportInputs:
    """Everything the report reads; ``None`` where a file was absent or unreadable."""

    results_dir: Path
    summary: dict[str, Any]
    channels: dict[str, Any] | None = None
    response_curves: dict[str, Any] | None = None
    elasticities: dict[str, Any] | None = None
    optimal_allocation: dict[str, Any] | None = None
    scenarios: list[Any] | None = None
    decomposition: pd.DataFrame | None = None
    holdout: pd.DataFrame | None = None
    #: file name -> why it is not used ("missing", or the parse error)
    problems: dict[str, str] = field(default_factory=dict)
    #: things a reader should know about inputs that were used (rows dropped, ...)
    warnings: list[str] = field(default_factory=list)

    def unavailable(self, file_name: str) -> str:
        """Plain-words reason a section has no data, e.g. for 'channels.json'."""
        why = self.problems.get(file_name, "missing")
        if why == "missing":
            return f"Not available for this run: {file_name} was not produced."
        if why == "empty":
            return f"Not available for this run: {file_name} is empty (this step had nothing to report)."
        return f"Not available for this run: {file_name} could not be read ({why})."

    @property
    def decomposition_drivers(self) -> list[str]:
        """Numeric driver columns of decomposition.csv (not ids, totals or base parts)."""
        if self.decomposition is None:
            return []
        frame = self.decomposition
        return [
            c
            for c in frame.columns
            if c not in DECOMPOSITION_FIXED
            and not str(c).startswith(BASE_PART_PREFIX)
            and pd.api.types.is_numeric_dtype(frame[c])
        ]


def load_results(results_dir: Path) -> ReportInputs:
    """Read a results folder; raises :class:`ResultsError` only for summary.json problems."""
    results_dir = Path(results_dir)
    summary = _read_summary(results_dir)
    inputs = ReportInputs(results_dir=results_dir, summary=summary)
    for attr, name in OPTIONAL_JSON.items():
        setattr(inputs, attr, _read_optional_json(results_dir / name, inputs.problems))
    if inputs.scenarios is not None and not isinstance(inputs.scenarios, list):
        inputs.problems["scenarios.json"] = "expected a list of scenarios"
        inputs.scenarios = None
    for attr, (name, required) in OPTIONAL_CSV.items():
        setattr(inputs, attr, _read_optional_csv(results_dir / name, required, inputs.problems, inputs.warnings))
    return inputs


def _read_summary(results_dir: Path) -> dict[str, Any]:
    path = results_dir / SUMMARY_FILE
    if not path.is_file():
        raise ResultsError(
            f"{path} not found: the report needs summary.json from the results writer "
            "(mmm_pipeline.core.results); run the pipeline up to the summary first."
        )
    try:
        summary = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path} is not valid JSON ({exc}); re-run the step that writes it.") from exc
    if not isinstance(summary, dict):
        raise ResultsError(f"{path} must hold a JSON object, found {type(summary).__name__}.")
    return summary


def _read_optional_json(path: Path, problems: dict[str, str]) -> Any:
    if not path.is_file():
        problems[path.name] = "missing"
        return None
    try:
        content = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        log.warning("report: ignoring %s: %s", path, exc)
        problems[path.name] = f"not valid JSON: {exc}"
        return None
    if content is None or content == {}:  # e.g. no budget plan was made for this run
        problems[path.name] = "empty"
        return None
    return content


def _read_optional_csv(
    path: Path, required: tuple[str, ...], problems: dict[str, str], warnings: list[str]
) -> pd.DataFrame | None:
    if not path.is_file():
        problems[path.name] = "missing"
        return None
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        log.warning("report: ignoring %s: %s", path, exc)
        problems[path.name] = f"not a readable CSV: {exc}"
        return None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        log.warning("report: ignoring %s: missing columns %s", path, missing)
        problems[path.name] = f"missing column(s) {join_names(missing)}; it has {join_names(frame.columns)}"
        return None
    frame["date"] = pd.to_datetime(frame["date"], errors="coerce")
    bad = int(frame["date"].isna().sum())
    if bad:
        warnings.append(f"{path.name}: {bad} rows with an unreadable date were left out")
        log.warning("report: %s: dropped %d rows with unreadable dates", path, bad)
        frame = frame.dropna(subset=["date"])
    if "node" not in frame.columns:
        frame["node"] = "total"
    return frame


def as_interval(value: Any) -> dict[str, float | None] | None:
    """Normalise an interval-ish value: ``{mean, lo, hi}`` dict, a bare number, or missing.

    A bare number becomes an interval without bounds, so callers never have to ask which
    form a writer used; non-finite numbers become ``None``.
    """
    if value is None:
        return None
    if isinstance(value, dict):
        if not any(k in value for k in ("mean", "lo", "hi")):
            return None
        return {k: finite_or_none(value.get(k)) for k in ("mean", "lo", "hi")}
    number = finite_or_none(value)
    return None if number is None else {"mean": number, "lo": None, "hi": None}


def finite_or_none(value: Any) -> float | None:
    """A finite float, or ``None`` for missing, NaN, infinite or non-numeric values."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
