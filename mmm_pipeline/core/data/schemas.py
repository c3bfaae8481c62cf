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
from mmm_pipeline.core.data.loaders import DATE
from mmm_pipeline.core.data.schema_errors import failure_issues
from mmm_pipeline.core.wording import join_names

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


class ExperimentTable(pa.DataFrameModel):
    """Lift tests after :mod:`~mmm_pipeline.core.data.experiments` parsed them, one row per test.

    The data-dependent checks (channels, nodes, the dates the data cover) read ``metadata``,
    which :func:`validate_experiments` fills for the dataset at hand.
    """

    channel: Series[str] = pa.Field(nullable=False)
    start: Series[pd.Timestamp] = pa.Field(nullable=False)
    end: Series[pd.Timestamp] = pa.Field(nullable=False)
    node: Series[object] = pa.Field(nullable=True)
    lift: Series[float] = pa.Field(nullable=False)
    lift_se: Series[float] = pa.Field(nullable=False, gt=0)
    spend_multiplier: Series[float] = pa.Field(nullable=True, ge=0)
    spend_change: Series[float] = pa.Field(nullable=True)

    class Config:
        strict = False
        metadata = {"channels": [], "nodes": [], "first": None, "last": None}

    @pa.dataframe_check(name="known_channel")
    def known_channel(cls, df: pd.DataFrame) -> Series[bool]:
        return df["channel"].isin(cls.__config__.metadata["channels"])

    @pa.dataframe_check(name="known_node")
    def known_node(cls, df: pd.DataFrame) -> Series[bool]:
        return df["node"].isna() | df["node"].isin(cls.__config__.metadata["nodes"])

    @pa.dataframe_check(name="end_not_before_start")
    def end_not_before_start(cls, df: pd.DataFrame) -> Series[bool]:
        return df["end"] >= df["start"]

    @pa.dataframe_check(name="within_data")
    def within_data(cls, df: pd.DataFrame) -> Series[bool]:
        meta = cls.__config__.metadata
        return (df["start"] >= meta["first"]) & (df["end"] <= meta["last"])

    @pa.dataframe_check(name="one_spend_change")
    def one_spend_change(cls, df: pd.DataFrame) -> Series[bool]:
        return df["spend_multiplier"].notna() ^ df["spend_change"].notna()

    @pa.dataframe_check(name="changes_spend")
    def changes_spend(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["spend_multiplier"] != 1.0) & (df["spend_change"] != 0.0)

    @pa.dataframe_check(name="no_overlap")
    def no_overlap(cls, df: pd.DataFrame) -> Series[bool]:
        """False on every test that shares days with another test of its channel in its node
        (a whole-market test overlaps every node): the two results would count one effect twice."""
        clash = pd.Series(False, index=df.index)
        for _, group in df.groupby("channel", sort=False):
            rows = list(group.itertuples())
            for i, a in enumerate(rows):
                for b in rows[i + 1:]:
                    same_place = pd.isna(a.node) or pd.isna(b.node) or a.node == b.node
                    if same_place and a.start <= b.end and b.start <= a.end:
                        clash[a.Index] = clash[b.Index] = True
        return ~clash


#: check -> (column, problem, fix) of a failed experiments check
_EXPERIMENT_FAILURES: dict[str, tuple[str | None, str, str]] = {
    "known_channel": ("channel", "names a channel the dataset does not have",
                      "use one of the channel names of the dataset YAML: {channels}"),
    "known_node": ("node", "names a node the data do not have",
                   "leave `node` blank for a whole-market test, or use one of {nodes}"),
    "end_not_before_start": ("end", "ends before it starts", "swap or correct the start and end dates"),
    "within_data": ("start", "runs outside the dates the data cover ({first} to {last})",
                    "drop the test or extend the data to cover it: the model cannot predict a window it has no data for"),
    "one_spend_change": ("spend_multiplier", "needs exactly one of spend_multiplier and spend_change",
                         "give the multiplier of business-as-usual spend (0 go-dark, 1.2 for +20%) or the money "
                         "added per period, not both and not neither"),
    "changes_spend": ("spend_multiplier", "describes no change of spend (multiplier 1 or change 0)",
                      "a test that changes nothing measures nothing: correct the spend change or drop the row"),
    "no_overlap": ("start", "overlaps another test of the same channel in the same node",
                   "keep one result per channel, node and day (combine the overlapping tests into one)"),
    "not_nullable": (None, "is blank", "fill it in; `lift_se` may instead come from `lift_lower` and `lift_upper`"),
    "greater_than": ("lift_se", "standard error is zero or negative",
                     "give the standard error of the measured lift (> 0), or its 95% interval with upper above lower"),
    "greater_than_or_equal_to": ("spend_multiplier", "is negative", "a spend multiplier is 0 (go-dark) or more"),
}


def validate_experiments(frame: pd.DataFrame, where: str, channels: list[str], nodes: list[str],
                         first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """Check parsed lift tests against the dataset; every failing row is named by CSV line."""
    meta = {"channels": list(channels), "nodes": list(nodes), "first": first, "last": last}
    model = type("DatasetExperimentTable", (ExperimentTable,),
                 {"__module__": __name__, "Config": type("Config", (), {"strict": False, "metadata": meta})})
    try:
        return model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise DataValidationError(_experiment_issues(exc.failure_cases, frame, where, meta)) from None


def _experiment_issues(failures: pd.DataFrame, frame: pd.DataFrame, where: str, meta: dict) -> list[DataIssue]:
    words = {"channels": join_names(meta["channels"], "or"), "nodes": join_names(meta["nodes"], "or"),
             "first": str(pd.Timestamp(meta["first"]).date()), "last": str(pd.Timestamp(meta["last"]).date())}
    row_checks = failures["schema_context"].eq("DataFrameSchema")
    groups = [(None, check, g) for check, g in failures[row_checks].groupby("check", sort=False)]
    groups += [(column, check, g) for (column, check), g in failures[~row_checks].groupby(["column", "check"], sort=False)]
    issues = []
    for column, check, group in groups:
        name = str(check).split(":")[0].split("(")[0]
        col, problem, fix = _EXPERIMENT_FAILURES.get(name, (None, f"failed check {check}", "correct the row"))
        col = str(column) if column is not None else col
        lines = tuple(sorted({int(i) for i in group["index"].dropna()}))
        examples = tuple(_shown(frame.loc[i, col]) for i in lines[:5] if col in frame and i in frame.index)
        issues.append(DataIssue(f"{len(lines)} test(s): {problem.format(**words)}", fix.format(**words), where, col,
                                lines, examples, f"experiment_{name}"))
    return issues


def _shown(value: Any) -> str:
    """A cell as the person typed it: dates as dates, numbers without numpy's type name."""
    if isinstance(value, pd.Timestamp):
        return str(value.date())
    return "blank" if pd.isna(value) else f"{value:g}" if isinstance(value, float) else repr(str(value))
