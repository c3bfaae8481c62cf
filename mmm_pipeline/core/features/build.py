"""From the tidy modelling table to model features (:class:`ModelData`) and a reporting frame.

Media enter as raw spend per period: the model learns adstock and saturation itself, so nothing
is transformed here. Price features are per node (list price or selling price, discount depth,
the other categories' price index); brand scores get lags and a change; time gets yearly Fourier
terms, weekday dummies for daily data and a trend. Reporting-only columns (share of voice,
above/below-the-line totals, price index within category, quarter) sit beside them in the
feature frame but never reach the model. Which derived features exist is set in the
``features:`` settings; each feature's shape family comes from its YAML ``kind`` or the keyword
rules in ``settings.model.keyword_kinds``.
"""

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mmm_pipeline.core.config import DatasetConfig
from mmm_pipeline.core.data import periods
from mmm_pipeline.core.data.schemas import event_columns
from mmm_pipeline.core.features.model_data import DEFAULT_BLOCK, Block, FeatureSpec, ModelData
from mmm_pipeline.core.features.roles import assign_roles

log = logging.getLogger(__name__)

DATE, NODE, CATEGORY = "date", "node", "category"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass
class FeatureFrame:
    """Model features and reporting columns side by side, one row per (date, node)."""

    frame: pd.DataFrame
    specs: list[FeatureSpec]  # model features, in the order of ModelData.X's last axis
    reporting: list[str]  # columns for reports only
    target: str
    dropped: dict[str, str] = field(default_factory=dict)  # feature -> why it was left out

    @property
    def feature_names(self) -> list[str]:
        return [s.name for s in self.specs]


def feature_settings(config: DatasetConfig) -> dict[str, Any]:
    return dict(config.settings.get("features") or {})


def resolve_kind(name: str, explicit: str | None, settings: dict[str, Any], default: str) -> str:
    """YAML ``kind`` first, then the longest matching keyword (so cross_price beats price)."""
    if explicit:
        return explicit
    rules = (settings.get("model") or {}).get("keyword_kinds") or {}
    lowered = name.lower()
    best, best_len = default, 0
    for kind, words in rules.items():
        for word in words:
            if word.lower() in lowered and len(word) > best_len:
                best, best_len = kind, len(word)
    return best


def elasticity_bounds(name: str, kind: str, settings: dict[str, Any]) -> tuple[float, float] | None:
    """``settings.model.elasticity_bounds`` by feature name, else by kind."""
    table = (settings.get("model") or {}).get("elasticity_bounds") or {}
    bounds = table.get(name, table.get(kind))
    return (float(bounds[0]), float(bounds[1])) if bounds is not None else None


def build_model_data(table: pd.DataFrame, config: DatasetConfig) -> ModelData:
    """The model's arrays: ``X [T, N, F]`` model features, ``y [T, N]`` target in revenue units."""
    return to_model_data(build_feature_frame(table, config), config)


def to_model_data(features: FeatureFrame, config: DatasetConfig) -> ModelData:
    """Reshape a feature frame (sorted by date, node; every node in every period) into arrays."""
    frame = features.frame
    dates = pd.DatetimeIndex(frame[DATE].unique())
    nodes = list(frame.loc[frame[DATE] == dates[0], NODE])
    node_category = list(frame.loc[frame[DATE] == dates[0], CATEGORY])
    t, n = len(dates), len(nodes)
    if len(frame) != t * n:
        raise ValueError(f"feature frame has {len(frame)} rows, expected {t} periods x {n} nodes")
    names = features.feature_names
    x = frame[names].to_numpy(dtype=np.float64).reshape(t, n, len(names))
    y = frame[features.target].to_numpy(dtype=np.float64).reshape(t, n)
    meta = {"holdout_periods": config.holdout.periods, "simulated": config.simulated,
            "reporting_columns": features.reporting, "dropped_features": features.dropped,
            "own_price": (feature_settings(config).get("price") or {}).get("own_price", "list")}
    data = ModelData(dates=dates, nodes=nodes, node_category=node_category, X=x, y=y, features=features.specs,
                     frequency=config.frequency, target_name=features.target, dataset=config.name, meta=meta)
    declared = {ref.name: ("brand", ref.role) for ref in config.brand}
    declared.update({ref.name: ("controls", ref.role) for ref in config.controls})
    data.meta["roles"] = {item: v.to_dict() for item, v in assign_roles(data, declared, config.settings).items()}
    return data


def build_feature_frame(table: pd.DataFrame, config: DatasetConfig) -> FeatureFrame:
    """Every feature (model and reporting) for the modelling ``table`` of ``config``."""
    fs = feature_settings(config)
    settings = config.settings
    frame = table[[DATE, NODE, CATEGORY, config.target.name]].copy()
    specs: list[FeatureSpec] = []
    reporting: list[str] = []

    def add(name: str, values: Any, kind: str, block: Block | None = None, national: bool = True) -> None:
        if name in {s.name for s in specs} or name == config.target.name:
            raise ValueError(f"{config.name}: two model features would be called '{name}'; rename one in the YAML")
        frame[name] = np.asarray(values, dtype=float)
        specs.append(FeatureSpec(name, kind, block or DEFAULT_BLOCK[kind], national,  # type: ignore[arg-type]
                                 elasticity_bounds(name, kind, settings)))

    def report(name: str, values: Any) -> None:
        frame[name] = values
        reporting.append(name)

    for ch in config.channel_names:
        add(ch, table[ch], "media", "marketing")
    for ref in config.organic:
        add(ref.name, table[ref.name], resolve_kind(ref.name, ref.kind, settings, "increasing"), "marketing",
            _national(table, ref.name))
    if config.price is not None:
        _price_features(table, config, fs, add, report)
    skipped: dict[str, str] = {}
    for ref in config.brand:
        _brand_features(table, ref.name, resolve_kind(ref.name, ref.kind, settings, "free"), config, fs, add,
                        skipped)
    for ref in config.controls:
        add(ref.name, table[ref.name], resolve_kind(ref.name, ref.kind, settings, "free"), "brand",
            _national(table, ref.name))
    window = _pull_forward_periods(fs, config.frequency)
    for col in event_columns(config, table):  # 0/1 flags: a linear effect whatever the name says
        add(col, table[col], "linear", "temporal")
        if window:
            before, after = _around_events(table, col, window)
            add(f"{col}_before", before, "linear", "temporal")
            add(f"{col}_after", after, "linear", "temporal")
    _calendar_features(table, config, fs, add, report)
    _media_reporting(table, config, fs, report)
    dropped = _drop_constant(frame, specs) if fs.get("drop_constant", True) else {}
    specs = [s for s in specs if s.name not in dropped]
    frame = frame.drop(columns=list(dropped))
    dropped.update(skipped)
    log.info("features %s: %d model features (%s), %d reporting columns, dropped %s", config.name, len(specs),
             ", ".join(s.name for s in specs), len(reporting), dropped or "none")
    return FeatureFrame(frame, specs, reporting, config.target.name, dropped)


def _national(table: pd.DataFrame, column: str) -> bool:
    return bool((table.groupby(DATE)[column].nunique(dropna=False) <= 1).all())


def _price_features(table: pd.DataFrame, config: DatasetConfig, fs: dict[str, Any], add: Any, report: Any) -> None:
    """Own price, discount depth and cross price (model); selling price and price index (reporting)."""
    opts = {"own_price": "list", "discount": True, "cross_price": True, **(fs.get("price") or {})}
    selling = table["list_price"] * (1.0 - table["discount"])
    own = table["list_price"] if opts["own_price"] == "list" else selling
    settings = config.settings
    if opts["own_price"]:
        add("price", own, resolve_kind("price", None, settings, "decreasing"), "pricing", national=False)
    if opts["discount"]:
        add("discount", table["discount"], resolve_kind("discount", None, settings, "increasing"), "pricing",
            national=False)
    cat_price = _category_selling_price(table, selling)
    if opts["cross_price"] and table[CATEGORY].nunique() > 1:
        cross = _cross_price(table, cat_price, config.target.name, config.frequency)
        add("cross_price", cross, resolve_kind("cross_price", None, settings, "increasing"), "pricing", national=False)
    own_category = cat_price.reindex(pd.MultiIndex.from_frame(table[[DATE, CATEGORY]])).to_numpy()
    report("avg_selling_price", selling.to_numpy())
    report("price_index", selling.to_numpy() / own_category)
    report("list_price", table["list_price"].to_numpy())
    report("units", table["units"].to_numpy())


def _category_selling_price(table: pd.DataFrame, selling: pd.Series) -> pd.Series:
    """Units-weighted selling price per (date, category); nodes without sales count once each."""
    w = table["units"].where(table["units"] > 0, 0.0)
    parts = pd.DataFrame({DATE: table[DATE], CATEGORY: table[CATEGORY], "pw": selling * w, "w": w, "p": selling})
    g = parts.groupby([DATE, CATEGORY])
    sums = g[["pw", "w"]].sum()
    return (sums["pw"] / sums["w"]).where(sums["w"] > 0, g["p"].mean())


def _cross_price(table: pd.DataFrame, cat_price: pd.Series, target: str, frequency: str) -> np.ndarray:
    """For each node, the revenue-weighted price index of the *other* categories.

    Each category's price is indexed to its mean over the first year (a fixed base inside every
    walk-forward training window, so no later data leaks in); weights are revenue shares over that
    same base year.
    """
    wide = cat_price.unstack(CATEGORY)
    base = max(1, min(len(wide), int(round(periods.PERIODS_PER_YEAR[frequency]))))
    index = wide / wide.iloc[:base].mean()
    revenue = table.groupby([DATE, CATEGORY])[target].sum().unstack(CATEGORY)
    weight = revenue.iloc[:base].sum()
    out = np.empty(len(table))
    for cat in wide.columns:
        others = [c for c in wide.columns if c != cat]
        w = weight[others] / weight[others].sum() if weight[others].sum() > 0 else pd.Series(1.0 / len(others), others)
        series = (index[others] * w).sum(axis=1)
        rows = (table[CATEGORY] == cat).to_numpy()
        out[rows] = series.reindex(table.loc[rows, DATE]).to_numpy()
    return out


def _brand_features(table: pd.DataFrame, name: str, kind: str, config: DatasetConfig, fs: dict[str, Any],
                    add: Any, dropped: dict[str, str]) -> None:
    """The score, its lags and its change, in months; the first periods reuse the first value.

    A change over the same span as a lag is exactly ``score - lag`` and would make the three
    inputs linearly dependent, so it is left out (and recorded) in that case.
    """
    opts = {"lag_months": [1], "change_months": 3, **(fs.get("brand") or {})}
    national = _national(table, name)
    add(name, table[name], kind, "brand", national)
    per_month = periods.PERIODS_PER_MONTH[config.frequency]
    series = table.groupby(NODE, sort=False)[name]

    def lagged(months: float) -> pd.Series:
        return series.shift(max(1, int(round(months * per_month)))).fillna(series.transform("first"))

    lags = list(opts["lag_months"] or [])
    for months in lags:
        add(f"{name}_lag{months}", lagged(months), kind, "brand", national)
    months = opts["change_months"]
    if months:
        label = f"{name}_change{months}"
        if months in lags:
            dropped[label] = f"equals {name} - {name}_lag{months} exactly (collinear)"
        else:
            add(label, table[name] - lagged(months), kind, "brand", national)


def _calendar_features(table: pd.DataFrame, config: DatasetConfig, fs: dict[str, Any], add: Any,
                       report: Any) -> None:
    """Festival season, yearly Fourier terms, weekday dummies, quarter and trend."""
    dates = pd.DatetimeIndex(table[DATE])
    model = config.settings.get("model") or {}
    months = fs.get("festival_months") or []
    if months:
        add("festival_season", dates.month.isin(months).astype(float), "linear", "temporal")
    season = {"fourier_order": None, "quarter": False, "day_of_week": True, **(fs.get("seasonality") or {})}
    order = season["fourier_order"] if season["fourier_order"] is not None else model.get("fourier_order", 0)
    if config.frequency == "monthly":
        phase = (dates.month.to_numpy() - 1) / 12.0
    else:
        phase = (dates.dayofyear.to_numpy() - 1) / periods.PERIODS_PER_YEAR["daily"]
    for k in range(1, int(order or 0) + 1):
        add(f"year_sin{k}", np.sin(2 * np.pi * k * phase), "linear", "temporal")
        add(f"year_cos{k}", np.cos(2 * np.pi * k * phase), "linear", "temporal")
    if config.frequency == "daily" and season["day_of_week"]:
        for d in range(1, 7):
            add(f"dow_{WEEKDAYS[d]}", (dates.dayofweek == d).astype(float), "linear", "temporal")
    quarter = dates.quarter.to_numpy()
    if season["quarter"]:
        for q in (2, 3, 4):
            add(f"quarter_{q}", (quarter == q).astype(float), "linear", "temporal")
    report("quarter", quarter)
    report("month", dates.month.to_numpy())
    trend = fs.get("trend")
    if trend if trend is not None else model.get("trend", True):
        years = (dates - dates.min()).days.to_numpy() / 365.25
        add("trend", years, resolve_kind("trend", None, config.settings, "free"), "temporal")


def _media_reporting(table: pd.DataFrame, config: DatasetConfig, fs: dict[str, Any], report: Any) -> None:
    """Share of voice per channel and above/below-the-line totals (reporting only)."""
    channels = config.channel_names
    spend = table[channels]
    total = spend.sum(axis=1)
    keywords = [k.lower() for k in fs.get("above_the_line") or []]
    atl = [c for c in channels if any(k in c.lower() for k in keywords)]
    report("total_spend", total.to_numpy())
    report("above_the_line_spend", spend[atl].sum(axis=1).to_numpy())
    report("below_the_line_spend", spend[[c for c in channels if c not in atl]].sum(axis=1).to_numpy())
    share = spend.div(total.where(total > 0), axis=0).fillna(0.0)
    for ch in channels:
        report(f"sov_{ch}", share[ch].to_numpy())


def _pull_forward_periods(fs: dict[str, Any], frequency: str) -> int:
    """Periods around an event whose demand it moves (``features.events.pull_forward_days``);
    0 when that is under half a period (weekly or monthly data see the shift inside the period)."""
    days = float((fs.get("events") or {}).get("pull_forward_days") or 0)
    return int(round(days * periods.PERIODS_PER_YEAR[frequency] / 365.25))


def _around_events(table: pd.DataFrame, column: str, window: int) -> tuple[np.ndarray, np.ndarray]:
    """0/1 flags for the ``window`` periods before and after an event period (not on it), per node.

    Shoppers wait for a sale and have stocked up after it: demand dips on both sides, and
    without these flags the dip would be read as part of the base or of the price."""
    on = table[column].to_numpy(dtype=float) > 0
    series = table.assign(_on=on).groupby(NODE, sort=False)["_on"]
    ahead = np.zeros(len(table), dtype=bool)
    behind = np.zeros(len(table), dtype=bool)
    for shift in range(1, window + 1):
        ahead |= series.shift(-shift, fill_value=False).to_numpy(dtype=bool)
        behind |= series.shift(shift, fill_value=False).to_numpy(dtype=bool)
    return (ahead & ~on).astype(float), (behind & ~on).astype(float)


def _drop_constant(frame: pd.DataFrame, specs: list[FeatureSpec]) -> dict[str, str]:
    """Features with one value everywhere carry nothing to learn (media are never dropped)."""
    dropped = {}
    for s in specs:
        if s.kind != "media" and frame[s.name].nunique(dropna=False) <= 1:
            dropped[s.name] = f"constant ({frame[s.name].iloc[0]:g}) over the table"
    return dropped
