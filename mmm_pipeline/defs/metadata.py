"""Turning core results into Dagster metadata: tables, markdown, JSON that always serialises.

Every asset attaches what a reviewer needs to judge it from the UI without opening files: row
counts, date ranges, a per-column summary and a preview for frames, the key numbers for models.
Numbers are rounded to what a person reads (R² 0.949, revenue 1,234,568); the result files keep
full precision (:func:`plain`).
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from mmm_pipeline.core.wording import join_names

MAX_TABLE_ROWS = 200
SIGNIFICANT_DIGITS = 3
#: from here on a number reads as an amount: whole units with thousands separators
THOUSANDS = 1000.0


def plain(value: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, NaN/inf to None, timestamps to ISO strings."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return str(pd.Timestamp(value).date()) if pd.Timestamp(value) == pd.Timestamp(value).normalize() else str(value)
    if value is None or isinstance(value, str):
        return value
    return str(value)


def readable(value: Any) -> Any:
    """:func:`plain`, with every float rounded as a person reads it (see :func:`reading`)."""
    value = plain(value)
    if isinstance(value, dict):
        return {k: readable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [readable(v) for v in value]
    return reading(value) if isinstance(value, float) else value


def reading(number: float) -> float | str:
    """``0.9488344`` -> ``0.949``; ``1234567.8`` -> ``"1,234,568"`` (amounts as whole units)."""
    if abs(number) >= THOUSANDS:
        return f"{number:,.0f}"
    return float(f"{number:.{SIGNIFICANT_DIGITS}g}")


def json_value(value: Any) -> dg.MetadataValue:
    return dg.MetadataValue.json(readable(value))


def _text(value: Any) -> str:
    """A cell of a text column: lists and mappings in words, never as a Python repr."""
    if isinstance(value, list):
        return join_names(_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def _column(values: pd.Series) -> tuple[str, list[Any]]:
    """The Dagster column type and the cells: floats rounded, a column with amounts as text."""
    if pd.api.types.is_bool_dtype(values):
        return "bool", [plain(v) for v in values]
    if pd.api.types.is_integer_dtype(values):
        return "int", [plain(v) for v in values]
    if pd.api.types.is_float_dtype(values):
        cells = [plain(v) for v in values]
        rounded = [None if v is None else reading(v) for v in cells]
        if any(isinstance(v, str) for v in rounded):
            return "string", ["" if v is None else (v if isinstance(v, str) else f"{v:g}") for v in rounded]
        return "float", rounded
    return "string", [_text(readable(v)) for v in values]


def table(frame: pd.DataFrame, max_rows: int = MAX_TABLE_ROWS) -> dg.TableMetadataValue:
    """A frame as a Dagster table (strings and numbers only; the first ``max_rows`` rows)."""
    shown = frame.head(max_rows).reset_index(drop=frame.index.name is None and not isinstance(frame.index, pd.MultiIndex))
    columns, cells = [], []
    for name in shown.columns:
        kind, values = _column(shown[name])
        columns.append(dg.TableColumn(str(name), kind))
        cells.append(values)
    records = [dg.TableRecord(dict(zip((c.name for c in columns), row))) for row in zip(*cells)]
    return dg.MetadataValue.table(records=records, schema=dg.TableSchema(columns=columns))


def frame_metadata(frame: pd.DataFrame, prefix: str = "") -> dict[str, Any]:
    """Row count, date range, per-column summary and a preview of one frame (via the core's
    :func:`~mmm_pipeline.core.data.describe.describe_frame`, so every stage reports alike)."""
    from mmm_pipeline.core.data.describe import describe_frame

    info = describe_frame(frame)
    meta: dict[str, Any] = {
        f"{prefix}rows": dg.MetadataValue.int(info["row_count"]),
        f"{prefix}columns": dg.MetadataValue.int(info["column_count"]),
        f"{prefix}column_summary": table(pd.DataFrame(info["columns"])),
        f"{prefix}preview": dg.MetadataValue.md(info["preview_markdown"]),
    }
    if "date_start" in info:
        meta[f"{prefix}date_range"] = dg.MetadataValue.text(f"{info['date_start']} .. {info['date_end']}")
        meta[f"{prefix}periods"] = dg.MetadataValue.int(info["periods"])
    if not prefix:
        meta["dagster/row_count"] = dg.MetadataValue.int(info["row_count"])
    return meta


def bullet_list(lines: Sequence[str]) -> str:
    return "\n".join(f"- {line}" for line in lines) if lines else "_none_"
