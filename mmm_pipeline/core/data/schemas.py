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
from mmm_pipeline.core.data.errors import DataValidationError, display_path
from mmm_pipeline.core.data.loaders import DATE
from mmm_pipeline.core.data.schema_errors import failure_issues

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


def event_columns(config: DatasetConfig, table: pd.DataFrame) -> list[str]:
    """The table's 0/1 event columns: everything the contract does not name otherwise."""
    known = set(modeling_table_columns(config)) | {DATE, "node", "category"}
    return [c for c in table.columns if c not in known]


def modeling_table_model(config: DatasetConfig, events: list[str]) -> type[pa.DataFrameModel]:
    """The pandera model of the modelling table of ``config`` with these event columns."""
    fields: dict[str, tuple[Any, Any]] = {}
    for col, role in modeling_table_columns(config).items():
        if role == "discount":  # always a fraction in the table, whatever the raw file held
            in_unit = {"min_value": 0, "max_value": 1}
            fields[col] = (Series[float], pa.Field(nullable=False, in_range=in_unit, alias=col))
        else:
            fields[col] = _role_field(ColumnUse(col, role, col), config)  # type: ignore[arg-type]
    for col in events:
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
        raise DataValidationError(failure_issues(exc.failure_cases, frame, config, where, uses, keys,
                                          config.sources[source_name].frequency, csv=True)) from None


def validate_modeling_table(config: DatasetConfig, table: pd.DataFrame) -> pd.DataFrame:
    """Validate the modelling table against the contract for this dataset's config."""
    model = modeling_table_model(config, event_columns(config, table))
    try:
        return model.validate(table, lazy=True)
    except pa.errors.SchemaErrors as exc:
        uses = {c: ColumnUse(c, r, c) for c, r in modeling_table_columns(config).items()}  # type: ignore[arg-type]
        raise DataValidationError(failure_issues(exc.failure_cases, table, config, f"modelling table of {config.name}",
                                          uses, [DATE, "node"], config.frequency, csv=False)) from None
