"""The tidy modelling table: one row per (date, node) with target, spend, prices, brand and events.

Built from the validated sources of one dataset (see the contract in the project brief):
the fact source fixes the periods and nodes; categories are summed to the configured hierarchy
level with list price and discount re-weighted by value; national sources (media, NPS, calendars)
are brought onto the modelling periods by :mod:`.align` and repeated for every node.
"""

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mmm_pipeline.core.config import DatasetConfig
from mmm_pipeline.core.data import periods
from mmm_pipeline.core.data.align import How, calendar_flags, period_of, to_periods
from mmm_pipeline.core.data.columns import fact_source, source_columns
from mmm_pipeline.core.data.errors import DataIssue, DataValidationError, display_path, raise_issues
from mmm_pipeline.core.data.fill import fill_missing
from mmm_pipeline.core.data.loaders import DATE, read_source
from mmm_pipeline.core.data.schemas import validate_modeling_table, validate_source

log = logging.getLogger(__name__)

#: how a role is brought to a coarser / different modelling period
ROLE_HOW: dict[str, How] = {"spend": "sum", "organic": "sum", "target": "sum",
                            "control": "mean", "brand": "mean", "event": "max"}
WINSOR_QUANTILES = (0.01, 0.99)


@dataclass
class TableReport:
    """What building the table changed, for asset metadata and the report."""

    filled_cells: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> column -> cells
    winsorized_cells: dict[str, int] = field(default_factory=dict)  # channel -> periods clipped
    price_filled_cells: int = 0  # periods without units whose price was carried from a neighbour
    dropped_periods: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def total_filled(self) -> int:
        return sum(sum(c.values()) for c in self.filled_cells.values())

    def metadata(self) -> dict:
        return {"filled_cells": self.filled_cells, "filled_cells_total": self.total_filled,
                "winsorized_cells": self.winsorized_cells, "price_filled_cells": self.price_filled_cells,
                "dropped_periods": self.dropped_periods, "notes": self.notes}


@dataclass
class LoadedDataset:
    """Every stage of ingestion for one dataset, for scripts and tests."""

    config: DatasetConfig
    sources: dict[str, pd.DataFrame]  # validated (and filled)
    table: pd.DataFrame
    report: TableReport


def prepare_source(config: DatasetConfig, source_name: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """Read, fill and validate one source: the validated frame and its filled-cell counts."""
    raw = read_source(config, source_name)
    filled, counts = fill_missing(config, source_name, raw)
    return validate_source(config, source_name, filled), counts


def load_dataset(config: DatasetConfig) -> LoadedDataset:
    """All sources read, filled and validated (all problems reported together), then the table."""
    sources: dict[str, pd.DataFrame] = {}
    fills: dict[str, dict[str, int]] = {}
    issues: list[DataIssue] = []
    for name in config.sources:
        if config.sources[name].kind == "experiments":  # not a table: read with the features (data/experiments.py)
            continue
        try:
            sources[name], fills[name] = prepare_source(config, name)
        except DataValidationError as exc:
            issues.extend(exc.issues)
    raise_issues(issues)
    table, report = build_modeling_table(config, sources, fills)
    return LoadedDataset(config, sources, table, report)


def build_modeling_table(config: DatasetConfig, sources: Mapping[str, pd.DataFrame],
                         fills: Mapping[str, Mapping[str, int]] | None = None) -> tuple[pd.DataFrame, TableReport]:
    """The validated modelling table and a report of what was filled, clipped or dropped."""
    report = TableReport(filled_cells={s: dict(c) for s, c in (fills or {}).items() if c})
    fact = sources[fact_source(config)]
    node_frame, starts = _fact_by_node(config, fact, report)
    starts = _apply_window(config, starts, report)
    national = _national_columns(config, sources, starts)
    node_frame = node_frame[node_frame[DATE].isin(starts)]
    table = node_frame.merge(national, left_on=DATE, right_index=True, how="left")
    table = table.sort_values([DATE, "node"], kind="stable").reset_index(drop=True)
    if config.winsorize_spend:
        _winsorize(table, config, report)
    ordered = [DATE, "node", "category", config.target.name, *config.channel_names,
               *[r.name for r in config.organic + config.controls + config.brand]]
    table = table[ordered + [c for c in table.columns if c not in ordered]]
    log.info("modelling table %s: %d rows, %d periods x %d nodes, %d columns", config.name, len(table),
             len(starts), table["node"].nunique(), table.shape[1])
    return validate_modeling_table(config, table), report


def _apply_window(config: DatasetConfig, starts: pd.DatetimeIndex, report: TableReport) -> pd.DatetimeIndex:
    lo = pd.Timestamp(config.window["start"]) if "start" in config.window else starts.min()
    hi = pd.Timestamp(config.window["end"]) if "end" in config.window else starts.max()
    kept = starts[(starts >= lo) & (starts <= hi)]
    if len(kept) < len(starts):
        report.notes.append(f"window {lo.date()}..{hi.date()} keeps {len(kept)} of {len(starts)} periods")
    if len(kept) == 0:
        raise DataValidationError([DataIssue(f"window {lo.date()}..{hi.date()} leaves no periods",
                                             "widen `window` in the dataset YAML", file=config.config_path,
                                             check="empty_window")])
    return kept


def _node_columns(config: DatasetConfig, fact: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    h = config.hierarchy
    if h is None:
        total = pd.Series("total", index=fact.index)
        return total, total
    category = fact[h.category].astype(str)
    if h.level == "category" or h.subcategory is None:
        return category, category
    sub = fact[h.subcategory].astype(str)
    parents = pd.DataFrame({"cat": category.to_numpy(), "sub": sub.to_numpy()}).groupby("sub")["cat"].nunique()
    clashes = sub.map(parents > 1).astype(bool)
    node = sub.where(~clashes, category + "/" + sub)  # same sub-category name in two categories
    return node, category


def _fact_by_node(config: DatasetConfig, fact: pd.DataFrame, report: TableReport
                  ) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    """Target and prices summed per (period, node); periods are the fact's, complete ones only.

    A fact source finer than the modelling frequency is summed into months or Monday-start weeks.
    """
    src = config.sources[fact_source(config)]
    node, category = _node_columns(config, fact)
    frame = pd.DataFrame({DATE: period_of(fact[DATE], config.frequency), "node": node.values,
                          "category": category.values}, index=fact.index)
    target = config.target.column
    frame[config.target.name] = fact[target].to_numpy(dtype=float)
    price = config.price
    if price is not None:
        for col, values in _price_totals(config, fact).items():
            frame[col] = values.to_numpy()
    sums = [c for c in frame.columns if c not in (DATE, "node", "category")]
    grouped = frame.groupby([DATE, "node", "category"], sort=True)[sums].sum().reset_index()
    starts = pd.DatetimeIndex(sorted(grouped[DATE].unique()))
    if src.frequency != config.frequency:
        starts = _complete_periods(fact[DATE], starts, config.frequency, report)
        grouped = grouped[grouped[DATE].isin(starts)]
    if price is not None:
        grouped = _per_unit_prices(grouped, frame, report)
    return grouped, starts


def _price_totals(config: DatasetConfig, fact: pd.DataFrame) -> pd.DataFrame:
    """Money totals that add up across rows: list value, discount amount, units."""
    price = config.price
    if price.units is None or price.list_price is None or price.discount is None:
        raise DataValidationError([DataIssue(
            "`price` needs list_price, discount and units to weight prices across rows and days",
            "set all three under `price:`", file=display_path(config.config_path), check="price_config")])
    units = fact[price.units].astype(float)
    list_value = fact[price.list_price] if price.list_price_is_total else fact[price.list_price] * units
    discount_value = fact[price.discount] if price.discount_kind == "amount" else fact[price.discount] * list_value
    return pd.DataFrame({"units": units, "_list_value": list_value.astype(float),
                         "_discount_value": discount_value.astype(float),
                         "_unit_price": np.nan if price.list_price_is_total else fact[price.list_price]},
                        index=fact.index)


def _per_unit_prices(grouped: pd.DataFrame, rows: pd.DataFrame, report: TableReport) -> pd.DataFrame:
    """MRP per unit = list value / units; discount = discount value / list value (value-weighted)."""
    out = grouped.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["list_price"] = np.where(out["units"] > 0, out["_list_value"] / out["units"], np.nan)
        out["discount"] = np.where(out["_list_value"] > 0, out["_discount_value"] / out["_list_value"], np.nan)
    if out["list_price"].isna().any() and rows["_unit_price"].notna().any():
        plain = rows.groupby([DATE, "node"])["_unit_price"].mean()  # no units sold: the unweighted list price
        fallback = pd.Series(plain.reindex(pd.MultiIndex.from_frame(out[[DATE, "node"]])).to_numpy(), out.index)
        out["list_price"] = out["list_price"].fillna(fallback)
    gaps = int(out[["list_price", "discount"]].isna().sum().sum())
    if gaps:
        out[["list_price", "discount"]] = out.groupby("node")[["list_price", "discount"]].transform(
            lambda s: s.ffill().bfill())
        report.price_filled_cells = gaps
        report.notes.append(f"{gaps} price/discount cell(s) in periods without sales carried from the "
                            "neighbouring period of the same node")
    return out.drop(columns=["_list_value", "_discount_value", "_unit_price"])


def _complete_periods(dates: pd.Series, starts: pd.DatetimeIndex, frequency: str, report: TableReport
                      ) -> pd.DatetimeIndex:
    """Drop edge periods the (finer) fact source covers only partly, so sums are comparable."""
    days = pd.DatetimeIndex(dates.unique())
    ends = periods.next_start(starts, frequency)
    covered = np.array([((days >= s) & (days < e)).sum() for s, e in zip(starts, ends)])
    full = covered >= periods.days_in_period(starts, frequency)
    report.dropped_periods += [str(s.date()) for s in starts[~full]]
    return starts[full]


def _national_columns(config: DatasetConfig, sources: Mapping[str, pd.DataFrame], starts: pd.DatetimeIndex
                      ) -> pd.DataFrame:
    """Channels, organic, controls, brand and events on the modelling periods (same for all nodes)."""
    parts: list[pd.DataFrame] = []
    issues: list[DataIssue] = []
    for source_name, frame in sources.items():
        src = config.sources[source_name]
        if src.kind == "reference":
            continue
        uses = [u for u in source_columns(config, source_name) if u.role in ROLE_HOW]
        if source_name == fact_source(config):
            uses = [u for u in uses if u.role != "target"]
            frame = frame.groupby(DATE, as_index=False).first()  # national columns repeat across nodes
        for how in ("sum", "mean", "max"):
            group = [u for u in uses if ROLE_HOW[u.role] == how]
            if group:
                agg: How = "hold" if how == "mean" and level_alignment(config) == "hold" else how  # type: ignore
                aligned = to_periods(frame, [u.column for u in group], src.frequency, starts, config.frequency, agg)
                aligned.columns = [u.name for u in group]
                parts.append(aligned)
                _report_coverage(aligned, config, source_name, frame, issues)
        parts += _categorical_events(config, source_name, frame, starts)
        if src.kind == "calendar":
            for ev in [e for e in config.events if e.source == source_name and not e.column]:
                parts.append(pd.DataFrame({ev.name: calendar_flags(frame[DATE], starts, config.frequency,
                                                                   ev.window_days)}, index=starts))
    raise_issues(issues)
    national = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=starts)
    return national.loc[:, ~national.columns.duplicated()]


def level_alignment(config: DatasetConfig) -> str:
    """How coarser brand/control levels reach finer periods: ``interpolate`` (default) or ``hold``."""
    return str((config.settings.get("features") or {}).get("level_alignment", "interpolate"))


def _report_coverage(aligned: pd.DataFrame, config: DatasetConfig, source_name: str, frame: pd.DataFrame,
                     issues: list[DataIssue]) -> None:
    uncovered = aligned.index[aligned.isna().any(axis=1)]
    if len(uncovered) == 0:
        return
    src = config.sources[source_name]
    first, last = frame[DATE].min(), periods.next_start(frame[DATE].max(), src.frequency) - pd.Timedelta(days=1)
    shown = ", ".join(str(d.date()) for d in uncovered[:5]) + (f" and {len(uncovered) - 5} more"
                                                                if len(uncovered) > 5 else "")
    issues.append(DataIssue(
        f"covers {first.date()}..{last.date()} but {len(uncovered)} modelling period(s) fall outside it: {shown}",
        "extend the file to cover the sales dates, or set `window` in the dataset YAML to the common range",
        file=display_path(config.source_path(source_name)), column=", ".join(aligned.columns[aligned.isna().any()]),
        check="coverage"))


def _categorical_events(config: DatasetConfig, source_name: str, frame: pd.DataFrame,
                        starts: pd.DatetimeIndex) -> list[pd.DataFrame]:
    """``events`` = na/event1/event2 -> 0/1 columns ``events_event1``, ``events_event2``."""
    out = []
    src = config.sources[source_name]
    for ev in config.events:
        if ev.source != source_name or not ev.column or ev.none_value is None:
            continue
        values = frame[ev.column].astype(str)
        levels = sorted(v for v in values.unique() if v != ev.none_value)
        dummies = pd.DataFrame({f"{ev.name}_{_slug(v)}": (values == v).astype(float) for v in levels})
        dummies[DATE] = frame[DATE].to_numpy()
        if levels:
            out.append(to_periods(dummies, list(dummies.columns[:-1]), src.frequency, starts, config.frequency, "max")
                       .fillna(0.0))
    return out


def _slug(value: str) -> str:
    return re.sub(r"\W+", "_", value.strip()).strip("_") or "value"


def _winsorize(table: pd.DataFrame, config: DatasetConfig, report: TableReport) -> None:
    """Clip each channel's spend to its 1st..99th percentile over periods (in place)."""
    per_period = table.drop_duplicates(DATE)
    for ch in config.channel_names:
        lo, hi = per_period[ch].quantile(list(WINSOR_QUANTILES)).to_numpy()
        clipped = per_period[ch].clip(lo, hi)
        n = int((clipped != per_period[ch]).sum())
        if n:
            table[ch] = table[ch].clip(lo, hi)
            report.winsorized_cells[ch] = n
