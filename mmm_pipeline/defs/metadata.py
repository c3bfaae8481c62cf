"""Turning core results into Dagster metadata: tables, markdown, JSON that always serialises.

Every asset attaches what a reviewer needs to judge it from the UI without opening files: row
counts, date ranges, a per-column summary and a preview for frames, the key numbers for models.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

MAX_TABLE_ROWS = 200


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


def json_value(value: Any) -> dg.MetadataValue:
    return dg.MetadataValue.json(plain(value))


def _cell(value: Any) -> Any:
    value = plain(value)
    return "" if value is None else value


def table(frame: pd.DataFrame, max_rows: int = MAX_TABLE_ROWS) -> dg.TableMetadataValue:
    """A frame as a Dagster table (strings and numbers only; the first ``max_rows`` rows)."""
    shown = frame.head(max_rows).reset_index(drop=frame.index.name is None and not isinstance(frame.index, pd.MultiIndex))
    columns = []
    for name in shown.columns:
        kind = "float" if pd.api.types.is_float_dtype(shown[name]) else (
            "int" if pd.api.types.is_integer_dtype(shown[name]) else (
                "bool" if pd.api.types.is_bool_dtype(shown[name]) else "string"))
        columns.append(dg.TableColumn(str(name), kind))
    records = []
    for row in shown.itertuples(index=False):
        values = {}
        for col, value in zip(columns, row):
            value = _cell(value)
            if col.type == "string" and not isinstance(value, str):
                value = str(value)
            if col.type == "float" and value == "":
                value = None
            values[col.name] = value
        records.append(dg.TableRecord(values))
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
