"""pandera models for every raw table role and for the modelling table.

The fixed part of each table (the date, uniqueness and continuity of periods) lives in a
``DataFrameModel`` base class; the columns come from the dataset config, so each dataset gets a
subclass built by :func:`source_model` / :func:`modeling_table_model` with one field per
configured column (business names may contain spaces, hence field aliases). Validation is lazy:
every failing check of every column is collected and re-raised as one
:class:`DataValidationError` naming file, column, CSV lines and the fix.
"""

import logging
import re
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from mmm_pipeline.core.config import DatasetConfig
from mmm_pipeline.core.data import periods
from mmm_pipeline.core.data.columns import ColumnUse, source_columns
from mmm_pipeline.core.data.errors import DataIssue, DataValidationError, display_path
from mmm_pipeline.core.data.loaders import DATE, csv_lines

log = logging.getLogger(__name__)


@pa.extensions.register_check_method(statistics=[])
def not_all_zero(series: pd.Series) -> bool:
    """A channel with no spend in any period carries no information about its effect."""
    return bool((series.fillna(0) != 0).any())


def _group_keys(cls: Any) -> list[str]:
    return [k for k in cls.__config__.metadata.get("keys", [DATE]) if k != DATE]


class DatedTable(pa.DataFrameModel):
    """A raw table with a time axis: one row per period (and category), no gaps."""

    date: Series[pd.Timestamp] = pa.Field(nullable=False)

    class Config:
        strict = False
        metadata = {"frequency": "daily", "keys": [DATE]}

    @pa.dataframe_check(name="not_empty")
    def not_empty(cls, df: pd.DataFrame) -> bool:
        return len(df) > 0

    @pa.dataframe_check(name="unique_periods")
    def unique_periods(cls, df: pd.DataFrame) -> Series[bool]:
        keys = [DATE] + _group_keys(cls)
        return ~df.duplicated(keys, keep=False)

    @pa.dataframe_check(name="on_period_grid")
    def on_period_grid(cls, df: pd.DataFrame) -> Series[bool]:
        return ~periods.off_anchor(df[DATE], cls.__config__.metadata["frequency"])

    @pa.dataframe_check(name="no_gaps")
    def no_gaps(cls, df: pd.DataFrame) -> Series[bool]:
        """False on each row that follows a missing period (the message lists the missing dates)."""
        freq = cls.__config__.metadata["frequency"]
        keys = _group_keys(cls)
        ordered = df[[*keys, DATE]].assign(_pos=np.arange(len(df))).sort_values([*keys, DATE], kind="stable")
        if keys:
            gaps = ordered.groupby(keys, sort=False)[DATE].transform(lambda d: periods.gap_after(d, freq))
        else:
            gaps = periods.gap_after(ordered[DATE], freq)
        after_gap = np.zeros(len(df), dtype=bool)
        after_gap[ordered["_pos"].to_numpy()] = gaps.astype(bool).to_numpy()
        return pd.Series(~after_gap, index=df.index)


class FactTable(DatedTable):
    """Sales (the target), with prices and the product hierarchy when configured."""


class MediaTable(DatedTable):
    """Paid-media spend (and exposure) per channel."""


class BrandTable(DatedTable):
    """Brand-health scores such as NPS."""


class CalendarTable(pa.DataFrameModel):
    """Event days (special sales, holidays): several events may share a day; no continuity."""

    date: Series[pd.Timestamp] = pa.Field(nullable=False)

    class Config:
        strict = False


class ReferenceTable(pa.DataFrameModel):
    """Lookup tables without a time axis (product lists)."""

    class Config:
        strict = False

    @pa.dataframe_check(name="not_empty")
    def not_empty(cls, df: pd.DataFrame) -> bool:
        return len(df) > 0


class ModelingTable(DatedTable):
    """The tidy (date, node) table handed to feature engineering."""

    node: Series[str] = pa.Field(nullable=False)
    category: Series[str] = pa.Field(nullable=False)

    class Config:
        strict = False
        metadata = {"frequency": "daily", "keys": [DATE, "node"]}

    @pa.dataframe_check(name="every_node_every_period")
    def every_node_every_period(cls, df: pd.DataFrame) -> Series[bool]:
        counts = df.groupby(DATE)["node"].transform("size")
        return counts == df["node"].nunique()

    @pa.dataframe_check(name="sorted_by_date_node")
    def sorted_by_date_node(cls, df: pd.DataFrame) -> bool:
        dates, nodes = df[DATE].to_numpy(), df["node"].to_numpy(dtype=object)
        later = dates[1:] > dates[:-1]
        same_date_next_node = (dates[1:] == dates[:-1]) & (nodes[1:] > nodes[:-1])
        return bool((later | same_date_next_node).all())


BASES: dict[str, type[pa.DataFrameModel]] = {
    "fact": FactTable, "media": MediaTable, "brand": BrandTable,
    "calendar": CalendarTable, "reference": ReferenceTable,
}


def _role_field(use: ColumnUse, config: DatasetConfig) -> tuple[Any, Any]:
    """pandera dtype and Field for one configured column."""
    nullable = False
    role = use.role
    if role in ("category", "subcategory", "event_category"):
        return Series[str], pa.Field(nullable=False, alias=use.column)
    if role == "event_name":
        return Series[str], pa.Field(nullable=True, alias=use.column)
    checks: dict[str, Any] = {}
    if role in ("target", "exposure", "units", "total", "list_price", "organic"):
        checks["ge"] = 0
    if role == "spend":
        checks.update(ge=0, not_all_zero=())
    if role == "event":
        checks["isin"] = [0, 1]
    if role == "discount":
        if config.price is not None and config.price.discount_kind == "fraction":
            checks["in_range"] = {"min_value": 0, "max_value": 1}
        else:
            checks["ge"] = 0
    return Series[float], pa.Field(nullable=nullable, alias=use.column, **checks)


def _attr(column: str, taken: set[str]) -> str:
    """A Python identifier for a column name (the alias keeps the real one)."""
    base = re.sub(r"\W+", "_", column).strip("_").lower() or "col"
    if base[0].isdigit() or base in ("date", "node", "category", "config"):
        base = f"c_{base}"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


def _build_model(base: type[pa.DataFrameModel], name: str, fields: dict[str, tuple[Any, Any]],
                 metadata: dict[str, Any] | None) -> type[pa.DataFrameModel]:
    taken: set[str] = set()
    namespace: dict[str, Any] = {"__annotations__": {}, "__module__": __name__}
    for column, (dtype, fld) in fields.items():
        attr = _attr(column, taken)
        namespace["__annotations__"][attr] = dtype
        namespace[attr] = fld
    if metadata is not None:
        namespace["Config"] = type("Config", (), {"strict": False, "metadata": metadata})
    return type(name, (base,), namespace)


def source_model(config: DatasetConfig, source_name: str) -> type[pa.DataFrameModel]:
    """The pandera model of one raw source, after :func:`~.loaders.read_source`."""
    src = config.sources[source_name]
    uses = source_columns(config, source_name)
    fields = {u.column: _role_field(u, config) for u in uses}
    base = BASES[src.kind]
    metadata = None
    if base in (FactTable, MediaTable, BrandTable):
        keys = [DATE] + [u.column for u in uses if u.role in ("category", "subcategory")]
        metadata = {"frequency": src.frequency, "keys": keys, "source": source_name}
    title = "".join(p.title() for p in re.split(r"\W+", f"{config.name} {source_name}") if p)
    return _build_model(base, f"{title}{base.__name__}", fields, metadata)


def modeling_table_columns(config: DatasetConfig) -> dict[str, str]:
    """Column -> role of the modelling table (the brief's contract), without event dummies."""
    cols: dict[str, str] = {config.target.name: "target"}
    cols.update({c.name: "spend" for c in config.channels})
    cols.update({r.name: "organic" for r in config.organic})
    cols.update({r.name: "control" for r in config.controls})
    cols.update({r.name: "brand" for r in config.brand})
    if config.price is not None:
        cols.update({"list_price": "list_price", "discount": "discount", "units": "units"})
    return cols


def modeling_table_model(config: DatasetConfig, event_columns: list[str]) -> type[pa.DataFrameModel]:
    """The pandera model of the modelling table of ``config`` with these event columns."""
    fields: dict[str, tuple[Any, Any]] = {}
    for col, role in modeling_table_columns(config).items():
        if role == "discount":  # always a fraction in the table, whatever the raw file held
            in_unit = {"min_value": 0, "max_value": 1}
            fields[col] = (Series[float], pa.Field(nullable=False, in_range=in_unit, alias=col))
        else:
            fields[col] = _role_field(ColumnUse(col, role, col), config)  # type: ignore[arg-type]
    for col in event_columns:
        fields[col] = (Series[float], pa.Field(nullable=False, isin=[0, 1], alias=col))
    metadata = {"frequency": config.frequency, "keys": [DATE, "node"]}
    return _build_model(ModelingTable, f"{config.name.title().replace('_', '')}ModelingTable", fields, metadata)


def validate_source(config: DatasetConfig, source_name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Validate one loaded (and filled) source; every failure is reported in one error."""
    model = source_model(config, source_name)
    try:
        return model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        uses = {u.column: u for u in source_columns(config, source_name)}
        where = display_path(config.source_path(source_name))
        keys = (model.__config__.metadata or {}).get("keys", [DATE])
        raise DataValidationError(_issues(exc.failure_cases, frame, config, where, uses, keys,
                                          config.sources[source_name].frequency, csv=True)) from None


def validate_modeling_table(config: DatasetConfig, table: pd.DataFrame) -> pd.DataFrame:
    """Validate the modelling table against the contract for this dataset's config."""
    known = set(modeling_table_columns(config)) | {DATE, "node", "category"}
    events = [c for c in table.columns if c not in known]
    model = modeling_table_model(config, events)
    try:
        return model.validate(table, lazy=True)
    except pa.errors.SchemaErrors as exc:
        uses = {c: ColumnUse(c, r, c) for c, r in modeling_table_columns(config).items()}  # type: ignore[arg-type]
        raise DataValidationError(_issues(exc.failure_cases, table, config, f"modelling table of {config.name}",
                                          uses, [DATE, "node"], config.frequency, csv=False)) from None


def _issues(failures: pd.DataFrame, frame: pd.DataFrame, config: DatasetConfig, where: str,
            uses: dict[str, ColumnUse], keys: list[str], frequency: str | None, csv: bool) -> list[DataIssue]:
    """Turn pandera failure cases into one issue per (column, check), with a fix for each."""
    issues: list[DataIssue] = []
    frame_checks = failures["schema_context"].eq("DataFrameSchema")
    for check, group in failures[frame_checks].groupby("check", sort=False):
        issues.append(_frame_issue(str(check), group, frame, config, where, keys, frequency, csv))
    for (column, check), group in failures[~frame_checks].groupby(["column", "check"], sort=False, dropna=False):
        issues.append(_column_issue(str(column), str(check), group, frame, config, where, uses.get(column), csv))
    return issues


def _locate(group: pd.DataFrame, frame: pd.DataFrame, csv: bool) -> tuple[tuple[int, ...], tuple[str, ...]]:
    idx = [i for i in group["index"].dropna().tolist()]
    if csv:
        return tuple(sorted({int(i) for i in idx})), ()
    labels = []
    for i in dict.fromkeys(idx):
        if i in frame.index:
            row = frame.loc[i]
            labels.append(f"{pd.Timestamp(row[DATE]).date()}/{row['node']}" if "node" in frame else str(i))
    return (), tuple(labels)


def _column_issue(column: str, check: str, group: pd.DataFrame, frame: pd.DataFrame, config: DatasetConfig,
                  where: str, use: ColumnUse | None, csv: bool) -> DataIssue:
    rows, labels = _locate(group, frame, csv)
    values = tuple(repr(v) for v in group["failure_case"].head(5)) if not labels else labels
    yaml = display_path(config.config_path) if config.config_path else "the dataset YAML"
    role = use.role if use else ""
    n = len(group)
    if check == "not_nullable":
        if role == "spend":
            fix = (f"enter the spend (0 if nothing was spent), or, if blank means the channel was dark, "
                   f"add `fill: zero` to channel '{use.name}' in {yaml}")
        else:
            fix = (f"fill the blanks in the file, or name a repair in {yaml}: "
                   f"`fill: [{{column: {column}, source: <source>, rule: ffill_median|zero|interpolate}}]`")
        return DataIssue(f"{n} missing value(s)", fix, where, column, rows, labels, "missing_values")
    if check.startswith("greater_than_or_equal_to"):
        fix = "correct the negative values; " + ("spend cannot be negative" if role == "spend"
                                                 else "this quantity cannot be negative")
        return DataIssue(f"{n} negative value(s)", fix, where, column, rows, values, "negative_values")
    if check.startswith("in_range"):
        return DataIssue(f"{n} value(s) outside 0..1", "give the discount as a fraction of the list price (0.25 for "
                         f"25%), or set `price.discount_kind: amount` in {yaml}", where, column, rows, values,
                         "discount_range")
    if check.startswith("isin"):
        return DataIssue(f"{n} value(s) are neither 0 nor 1", "event flags must be 0/1; for a text column of event "
                         f"names set `none_value` on the event in {yaml}", where, column, rows, values, "event_flags")
    if check == "not_all_zero":
        return DataIssue("is zero in every row", "check the export (wrong column?) or remove the channel from "
                         f"`channels` in {yaml}: a channel that never spends cannot be measured",
                         where, column, (), (), "all_zero_channel")
    if check == "column_in_dataframe":
        return DataIssue("column is missing", f"check the column names in {yaml}", where, column, (), (),
                         "missing_column")
    return DataIssue(f"failed check {check} in {n} row(s)", "correct the values", where, column, rows, values,
                     check)


def _frame_issue(check: str, group: pd.DataFrame, frame: pd.DataFrame, config: DatasetConfig, where: str,
                 keys: list[str], frequency: str | None, csv: bool) -> DataIssue:
    rows, labels = _locate(group, frame, csv)
    yaml = display_path(config.config_path) if config.config_path else "the dataset YAML"
    per = " and ".join(keys)
    if check == "unique_periods":
        dup = frame[frame.duplicated(keys, keep=False)]
        examples = tuple(str(pd.Timestamp(d).date()) for d in dup[DATE].drop_duplicates().head(5))
        return DataIssue(f"duplicate rows for the same {per}", f"keep one row per {per} (sum or remove the "
                         "duplicates)", where, None, rows, examples or labels, "duplicate_dates")
    if check == "no_gaps":
        group_keys = [k for k in keys if k != DATE]
        parts = frame.groupby(group_keys)[DATE] if group_keys else [("", frame[DATE])]
        missing = sorted({d for _, dates in parts for d in periods.missing_periods(dates, frequency)})
        shown = tuple(str(pd.Timestamp(d).date()) for d in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        return DataIssue(f"{len(missing)} {frequency} period(s) missing between "
                         f"{frame[DATE].min().date()} and {frame[DATE].max().date()}: {', '.join(shown)}{more}",
                         "add rows for the missing periods (a period with no sales is a row of zeros, not a gap), "
                         f"or restrict `window` in {yaml}", where, None, rows, (), "date_gaps")
    if check == "on_period_grid":
        return DataIssue(f"dates off the {frequency} grid", "every row must fall on a period start (same weekday "
                         "for weekly data, the 1st for monthly)", where, None, rows, labels, "period_grid")
    if check == "not_empty":
        return DataIssue("no data rows", "check `filter` / `drop_rows` and the file's contents", where, None, (), (),
                         "empty_file")
    if check == "every_node_every_period":
        return DataIssue("some nodes are missing in some periods", "every node needs a row in every period",
                         where, None, rows, labels, "unbalanced_panel")
    return DataIssue(f"failed check {check}", "correct the data", where, None, rows, labels, check)
