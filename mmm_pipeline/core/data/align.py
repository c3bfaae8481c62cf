"""Bring a source recorded at one frequency onto the modelling periods.

Money (spend, sales) is spread over the days of its source period and summed over the days of
each modelling period, so monthly media becomes daily or weekly spend in proportion to days and
totals are preserved. Levels (NPS, controls) are interpolated daily between the middles of
their source periods and averaged over each modelling period ("hold" keeps them constant within
their source period instead, a step function). Flags take the maximum. Periods the
source does not cover come back as NaN, and the caller says which file falls short.
"""

from typing import Literal

import numpy as np
import pandas as pd

from mmm_pipeline.core.data import periods
from mmm_pipeline.core.data.loaders import DATE

How = Literal["sum", "mean", "hold", "max"]


def to_periods(frame: pd.DataFrame, columns: list[str], source_frequency: str, starts: pd.DatetimeIndex,
               frequency: str, how: How) -> pd.DataFrame:
    """``frame`` (one row per source period, ``date`` = period start) on the modelling ``starts``.

    Returns a frame indexed by ``starts`` with ``columns``; NaN where a modelling period is not
    fully covered by the source.
    """
    frame = frame.sort_values(DATE)
    if source_frequency == frequency and pd.DatetimeIndex(frame[DATE]).isin(starts).all():
        direct = frame.set_index(DATE)[columns].reindex(starts)
        return direct.astype(float)
    day_index, daily = _daily(frame, columns, source_frequency, how)
    ends = periods.next_start(starts, frequency)
    lo = day_index.searchsorted(starts)
    hi = day_index.searchsorted(ends)
    covered = (hi - lo) >= np.asarray((ends - starts).days)  # every day of the period has a value
    out = np.full((len(starts), len(columns)), np.nan)
    if how == "max":
        for i in np.flatnonzero(covered & (hi > lo)):  # flags: few periods, no cumulative trick for max
            out[i] = daily[lo[i]:hi[i]].max(0)
    else:
        cumulative = np.vstack([np.zeros((1, len(columns))), np.cumsum(daily, axis=0)])
        sums = cumulative[hi] - cumulative[lo]
        out[covered] = sums[covered] if how == "sum" else sums[covered] / (hi - lo)[covered, None]
    return pd.DataFrame(out, index=starts, columns=columns)


def _daily(frame: pd.DataFrame, columns: list[str], source_frequency: str, how: How
           ) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """One value per calendar day covered by the source (days without a source row are absent)."""
    starts = pd.DatetimeIndex(frame[DATE])
    lengths = periods.days_in_period(starts, source_frequency).astype(int)
    offsets = np.concatenate([np.arange(n) for n in lengths])
    day_index = pd.DatetimeIndex(np.repeat(starts.values, lengths)) + pd.to_timedelta(offsets, unit="D")
    values = frame[columns].to_numpy(dtype=float)
    if how == "sum":
        daily = np.repeat(values / lengths[:, None], lengths, axis=0)
    elif how in ("max", "hold"):
        daily = np.repeat(values, lengths, axis=0)
    else:
        mids = (starts.values.astype("datetime64[D]").astype(np.int64) + lengths / 2.0)
        days = day_index.values.astype("datetime64[D]").astype(np.int64) + 0.5
        daily = np.column_stack([_interp(days, mids, values[:, j]) for j in range(values.shape[1])]) \
            if columns else np.empty((len(days), 0))
    order = np.argsort(day_index.values, kind="stable")
    return day_index[order], daily[order]


def _interp(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(fp)
    if not ok.any():
        return np.full_like(x, np.nan, dtype=float)
    return np.interp(x, xp[ok], fp[ok])


def calendar_flags(days: pd.Series, starts: pd.DatetimeIndex, frequency: str, window_days: int = 0) -> np.ndarray:
    """1.0 for modelling periods containing an event day (or one of the ``window_days`` after it)."""
    event_days = pd.DatetimeIndex(days.dropna()).normalize()
    if window_days:
        event_days = event_days.union(pd.DatetimeIndex(
            [d + pd.Timedelta(days=k) for d in event_days for k in range(1, window_days + 1)]))
    event_days = event_days.unique().sort_values()
    ends = periods.next_start(starts, frequency)
    lo = event_days.searchsorted(starts)
    hi = event_days.searchsorted(ends)
    return (hi > lo).astype(float)


def period_of(dates: pd.Series, frequency: str, anchor: pd.Timestamp | None = None) -> pd.Series:
    """The modelling period start containing each date (weeks on ``anchor``'s weekday, default Monday)."""
    if frequency == "monthly":
        return dates.dt.to_period("M").dt.to_timestamp()
    if frequency == "weekly":
        weekday = anchor.dayofweek if anchor is not None else 0
        shift = (dates.dt.dayofweek - weekday) % 7
        return dates.dt.normalize() - pd.to_timedelta(shift, unit="D")
    return dates.dt.normalize()
