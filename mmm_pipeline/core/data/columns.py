"""Which columns of which source the dataset config uses, and in what role.

Loading, schema building, missing-value filling and quality checks all need the same answer to
"what is column X of source S for?"; computing it once here keeps them consistent. Names are
the column names after loading (headers stripped, wide layouts melted).
"""

from dataclasses import dataclass
from typing import Literal

from mmm_pipeline.core.config import DatasetConfig

Role = Literal[
    "target", "spend", "exposure", "organic", "control", "brand", "event", "event_category",
    "category", "subcategory", "units", "list_price", "discount", "total", "event_name",
]

#: roles whose values must parse as numbers
NUMERIC_ROLES: frozenset[str] = frozenset(
    {"target", "spend", "exposure", "organic", "control", "brand", "event", "units", "list_price", "discount", "total"}
)
#: money columns scaled by a source's ``unit_multiplier``
MONEY_ROLES: frozenset[str] = frozenset({"spend", "total"})


@dataclass(frozen=True)
class ColumnUse:
    """One column of one source: its role, the business name it feeds and its missing-value rule."""

    column: str
    role: Role
    name: str
    fill: str = "reject"  # reject | zero | ffill_median | interpolate


def fact_source(config: DatasetConfig) -> str:
    """The source holding the target (and, by contract, prices and the hierarchy)."""
    return config.target.source


def total_columns(config: DatasetConfig, source_name: str) -> list[str]:
    """Columns declared in ``required_columns`` that hold a total across channels."""
    src = config.sources[source_name]
    return [c for c in src.required_columns if "total" in c.lower()]


def source_columns(config: DatasetConfig, source_name: str) -> list[ColumnUse]:
    """Every column of ``source_name`` that the config refers to, first use wins."""
    uses: list[ColumnUse] = []
    fills = {f.column: f.rule for f in config.fill if f.source == source_name}

    def add(column: str | None, role: Role, name: str, fill: str = "reject") -> None:
        if column and column not in {u.column for u in uses}:
            uses.append(ColumnUse(column, role, name, fills.get(column, fill)))

    if config.target.source == source_name:
        add(config.target.column, "target", config.target.name)
        if config.hierarchy is not None:
            add(config.hierarchy.category, "category", "category")
            add(config.hierarchy.subcategory, "subcategory", "subcategory")
        if config.price is not None:
            add(config.price.units, "units", "units")
            add(config.price.list_price, "list_price", "list_price")
            add(config.price.discount, "discount", "discount")
    for ch in config.channels:
        if ch.source == source_name:
            add(ch.spend, "spend", ch.name, ch.fill)
            add(ch.exposure, "exposure", ch.name)
    for role, refs in (("organic", config.organic), ("control", config.controls), ("brand", config.brand)):
        for ref in refs:
            if ref.source == source_name:
                add(ref.column, role, ref.name)  # type: ignore[arg-type]
    src = config.sources[source_name]
    for ev in config.events:
        if ev.source != source_name:
            continue
        if ev.column:
            add(ev.column, "event_category" if ev.none_value is not None else "event", ev.name)
        elif src.kind == "calendar" and src.name_column:
            add(src.name_column, "event_name", ev.name)
    for col in total_columns(config, source_name):
        add(col, "total", col)
    return uses


def columns_with_role(config: DatasetConfig, source_name: str, *roles: str) -> list[ColumnUse]:
    return [u for u in source_columns(config, source_name) if u.role in roles]
