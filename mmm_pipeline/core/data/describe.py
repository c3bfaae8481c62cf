"""One summary of any table, so every asset attaches the same kind of metadata.

Plain Python values only (ints, strings, lists of dicts, a Markdown preview), so the Dagster layer
can wrap them in ``MetadataValue`` without knowing what table it is looking at.
"""

from typing import Any

import numpy as np
import pandas as pd

PREVIEW_ROWS = 5


def describe_frame(frame: pd.DataFrame, date_column: str = "date", preview_rows: int = PREVIEW_ROWS) -> dict[str, Any]:
    """Row/column counts, date range, one summary row per column and a Markdown preview."""
    out: dict[str, Any] = {"row_count": int(len(frame)), "column_count": int(frame.shape[1])}
    if date_column in frame and len(frame):
        dates = pd.to_datetime(frame[date_column])
        out.update(date_start=str(dates.min().date()), date_end=str(dates.max().date()),
                   periods=int(dates.nunique()))
    out["columns"] = [_column_summary(frame[c]) for c in frame.columns]
    out["preview_markdown"] = to_markdown(frame.head(preview_rows))
    return out


def _column_summary(series: pd.Series) -> dict[str, Any]:
    row: dict[str, Any] = {"column": str(series.name), "dtype": str(series.dtype),
                           "missing": int(series.isna().sum()), "unique": int(series.nunique(dropna=True))}
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.dropna().astype(float)
        stats = (values.min(), values.mean(), values.max(), (values == 0).mean()) if len(values) else (np.nan,) * 4
        row.update({k: _num(v) for k, v in zip(("min", "mean", "max", "zero_share"), stats)})
    elif pd.api.types.is_datetime64_any_dtype(series) and series.notna().any():
        row.update(min=str(series.min().date()), max=str(series.max().date()))
    else:
        top = series.dropna().astype(str).value_counts().head(3)
        row["top"] = ", ".join(f"{k} ({v})" for k, v in top.items())
    return row


def _num(value: float) -> float | None:
    return None if not np.isfinite(value) else float(round(value, 6))


def to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub-style Markdown table (pandas' own needs the optional ``tabulate`` package)."""
    def cell(v: Any) -> str:
        if isinstance(v, pd.Timestamp):
            return str(v.date()) if v == v.normalize() else str(v)
        if isinstance(v, float):
            return f"{v:.6g}"
        return str(v).replace("|", "\\|")

    header = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)
