"""Data-quality checks as plain functions returning structured results.

The Dagster layer turns each :class:`CheckResult` into an asset check (``severity`` is the name
of a Dagster ``AssetCheckSeverity``: "ERROR" or "WARN"); notebooks and tests call them directly.
Hard failures (gaps, duplicates, negative spend...) already stop the run in schema validation, so
on a table that got this far those checks document that it is clean; outliers and near-miss
totals are warnings with the evidence in ``metadata``.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from mmm_pipeline.core.config import DatasetConfig
from mmm_pipeline.core.data import periods
from mmm_pipeline.core.data.columns import source_columns, total_columns
from mmm_pipeline.core.data.loaders import DATE
from mmm_pipeline.core.data.schemas import event_columns
from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

Severity = Literal["ERROR", "WARN"]
QUALITY_CHECKS = ("date_continuity", "duplicates", "value_bounds", "total_consistency", "outliers",
                  "missing_values")
DEFAULT_QUALITY = {"iqr_k": 3.0, "z_threshold": 3.5, "z_window": None, "total_rel_tolerance": 0.005}
Z_WINDOW = {"daily": 28, "weekly": 13, "monthly": 6}
MAX_LISTED = 20


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    severity: Severity
    message: str
    metadata: dict[str, Any] = field(default_factory=dict)


def quality_settings(config: DatasetConfig) -> dict[str, Any]:
    return {**DEFAULT_QUALITY, **(config.settings.get("features", {}).get("quality") or {})}


def run_quality_checks(config: DatasetConfig, table: pd.DataFrame,
                       sources: Mapping[str, pd.DataFrame] | None = None,
                       fills: Mapping[str, Mapping[str, int]] | None = None) -> dict[str, CheckResult]:
    """Every check in :data:`QUALITY_CHECKS`, keyed by name (stable names for asset-check specs)."""
    results = {
        "date_continuity": check_date_continuity(table, config.frequency),
        "duplicates": check_duplicates(table),
        "value_bounds": check_value_bounds(table, config),
        "total_consistency": check_total_consistency(config, sources or {}),
        "outliers": check_outliers(table, config, sources),
        "missing_values": check_missing_values(table, fills or {}),
    }
    for r in results.values():
        log.log(logging.INFO if r.passed else logging.WARNING, "quality %s: %s", r.name, r.message)
    return results


def check_date_continuity(table: pd.DataFrame, frequency: str) -> CheckResult:
    """No period between the first and last date is missing, for any node."""
    missing: dict[str, list[str]] = {}
    for node, dates in table.groupby("node")[DATE]:
        gap = periods.missing_periods(dates, frequency)
        if len(gap):
            missing[str(node)] = [str(d.date()) for d in gap[:MAX_LISTED]]
    dates = pd.DatetimeIndex(table[DATE].unique())
    meta = {"periods": int(len(dates)), "first": str(dates.min().date()), "last": str(dates.max().date()),
            "frequency": frequency, "missing_by_node": missing}
    if missing:
        n = sum(len(v) for v in missing.values())
        return CheckResult("date_continuity", False, "ERROR", f"{n} missing {frequency} period(s)", meta)
    return CheckResult("date_continuity", True, "ERROR",
                       f"{len(dates)} consecutive {frequency} periods {meta['first']}..{meta['last']}", meta)


def check_duplicates(table: pd.DataFrame, keys: tuple[str, ...] = (DATE, "node")) -> CheckResult:
    dup = table[table.duplicated(list(keys), keep=False)]
    meta = {"duplicate_rows": int(len(dup)), "keys": list(keys),
            "examples": [f"{pd.Timestamp(r[DATE]).date()}/{r['node']}" for _, r in dup.head(MAX_LISTED).iterrows()]}
    if len(dup):
        return CheckResult("duplicates", False, "ERROR", f"{len(dup)} rows share a {'/'.join(keys)}", meta)
    return CheckResult("duplicates", True, "ERROR", f"one row per {'/'.join(keys)}", meta)


def check_value_bounds(table: pd.DataFrame, config: DatasetConfig) -> CheckResult:
    """GMV, units and spend non-negative; discount a fraction; list price positive."""
    rules: dict[str, tuple[float, float]] = {config.target.name: (0.0, np.inf)}
    rules.update({c: (0.0, np.inf) for c in config.channel_names})
    if config.price is not None:
        rules.update({"units": (0.0, np.inf), "discount": (0.0, 1.0), "list_price": (1e-12, np.inf)})
    violations = {}
    for col, (lo, hi) in rules.items():
        if col in table:
            bad = (table[col] < lo) | (table[col] > hi)
            if bad.any():
                violations[col] = {"rows": int(bad.sum()), "min": float(table[col].min()),
                                   "max": float(table[col].max()),
                                   "bounds": [lo, hi if np.isfinite(hi) else None]}
    meta = {"checked_columns": [c for c in rules if c in table], "violations": violations}
    if violations:
        return CheckResult("value_bounds", False, "ERROR", f"out-of-range values in {join_names(sorted(violations))}", meta)
    return CheckResult("value_bounds", True, "ERROR", f"{len(meta['checked_columns'])} columns within bounds", meta)


def check_total_consistency(config: DatasetConfig, sources: Mapping[str, pd.DataFrame]) -> CheckResult:
    """Where a source gives a total investment, it equals the sum of its channels within rounding."""
    rel = float(quality_settings(config)["total_rel_tolerance"])
    found: dict[str, Any] = {}
    passed = True
    for name, frame in sources.items():
        totals = [c for c in total_columns(config, name) if c in frame]
        channels = [u.column for u in source_columns(config, name) if u.role == "spend" and u.column in frame]
        for total in totals:
            if not channels:
                continue
            diff = frame[total] - frame[channels].sum(axis=1)
            step = _resolution(frame[[total, *channels]], config.sources[name].unit_multiplier)
            tol = np.maximum(rel * frame[total].abs(), (len(channels) + 1) * step / 2)
            off = diff.abs() > tol
            passed &= not off.any()
            found[f"{name}.{total}"] = {
                "max_abs_difference": float(diff.abs().max()), "rounding_unit": float(step),
                "rows_off": [int(i) for i in frame.index[off][:MAX_LISTED]],
                "dates_off": [str(pd.Timestamp(d).date()) for d in frame.loc[off, DATE][:MAX_LISTED]]}
    if not found:
        return CheckResult("total_consistency", True, "WARN", "no total-investment column to check", {})
    msg = "totals equal the sum of channels within rounding" if passed else "totals differ from the sum of channels"
    return CheckResult("total_consistency", bool(passed), "WARN", msg, {"totals": found})


def _resolution(values: pd.DataFrame, multiplier: float) -> float:
    """The rounding unit of numbers as written in the file (0.1 for '17.1'), in table units."""
    raw = values.to_numpy(dtype=float) / multiplier
    raw = raw[np.isfinite(raw)]
    for decimals in range(0, 7):
        scaled = raw * 10**decimals
        if np.allclose(scaled, np.round(scaled), atol=1e-6):
            return 10.0**-decimals * multiplier
    return 0.0


def check_outliers(table: pd.DataFrame, config: DatasetConfig,
                   sources: Mapping[str, pd.DataFrame] | None = None) -> CheckResult:
    """IQR fences and a trailing rolling z-score for the target (per node, on logs) and spend.

    The target's z-score ignores event periods (a sale day is an expected spike), its fences do not.

    Logs for the target because a sales collapse is a ratio (DT Mart's August 2015 is 0.1% of a
    normal month); spend fences ignore zero periods, which are flighting, not outliers. Spend
    recorded at a coarser frequency (monthly media) is checked in its own source periods when
    ``sources`` are given: spread evenly over days it would jump at every month boundary.
    """
    q = quality_settings(config)
    window = int(q["z_window"] or Z_WINDOW[config.frequency])
    found: dict[str, Any] = {}
    events = event_columns(config, table)
    for node, rows in table.groupby("node", sort=False):
        target = rows.set_index(DATE)[config.target.name]
        expected = rows.set_index(DATE)[events].gt(0).any(axis=1) if events else None  # sale days, holidays
        hits = _outliers(np.log(target.where(target > 0)), q["iqr_k"], q["z_threshold"], window, expected)
        if hits:
            found[f"{config.target.name}[{node}]"] = hits
    per_period = table.drop_duplicates(DATE).set_index(DATE)
    for ch in config.channels:  # fences on non-zero spend: dark periods are not outliers
        spend, ch_window = per_period[ch.name], window
        src = config.sources[ch.source]
        if sources and ch.source in sources and src.frequency != config.frequency:
            spend = sources[ch.source].set_index(DATE)[ch.spend]
            ch_window = int(q["z_window"] or Z_WINDOW[src.frequency])
        hits = _outliers(spend.where(spend > 0), q["iqr_k"], q["z_threshold"], ch_window)
        if hits:
            found[ch.name] = hits
    meta = {"iqr_k": q["iqr_k"], "z_threshold": q["z_threshold"], "z_window": window, "series": found,
            "winsorize_spend": config.winsorize_spend, "rolling_z_skips_events": events}
    if found:
        n = sum(v["n_iqr"] + v["n_rolling_z"] for v in found.values())
        return CheckResult("outliers", False, "WARN", f"{n} outlying value(s) in {len(found)} series", meta)
    return CheckResult("outliers", True, "WARN", "no outliers", meta)


def _outliers(series: pd.Series, k: float, z_max: float, window: int,
              expected: pd.Series | None = None) -> dict[str, Any] | None:
    """IQR fences over all values; the rolling z-score skips ``expected`` spikes (event periods)."""
    s = series.astype(float)
    if s.notna().sum() < 4:
        return None
    q1, q3 = s.quantile([0.25, 0.75])
    iqr = q3 - q1
    iqr_hit = s.index[((s < q1 - k * iqr) | (s > q3 + k * iqr)) & (iqr > 0)]
    prev = s.shift(1).rolling(window, min_periods=max(3, window // 2))
    z = (s - prev.mean()) / prev.std()
    spike = (z.abs() > z_max) & np.isfinite(z)
    if expected is not None:
        spike &= ~expected.reindex(s.index, fill_value=False).to_numpy()
    z_hit = s.index[spike]
    if len(iqr_hit) == 0 and len(z_hit) == 0:
        return None
    fmt = lambda idx: [str(pd.Timestamp(d).date()) for d in idx[:MAX_LISTED]]  # noqa: E731
    return {"iqr": fmt(iqr_hit), "rolling_z": fmt(z_hit), "n_iqr": int(len(iqr_hit)), "n_rolling_z": int(len(z_hit))}



def check_missing_values(table: pd.DataFrame, fills: Mapping[str, Mapping[str, int]]) -> CheckResult:
    """No blank survives into the table; every configured fill is counted."""
    blanks = {c: int(n) for c, n in table.isna().sum().items() if n}
    filled = {s: dict(c) for s, c in fills.items() if c}
    total = sum(sum(c.values()) for c in filled.values())
    meta = {"blank_cells": blanks, "filled_cells": filled, "filled_cells_total": total}
    if blanks:
        return CheckResult("missing_values", False, "ERROR", f"blank cells in {join_names(sorted(blanks))}", meta)
    return CheckResult("missing_values", True, "ERROR",
                       f"no blanks; {total} cell(s) filled by configured rules" if total else "no blanks", meta)
