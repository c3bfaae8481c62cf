"""Calendar arithmetic for the three modelling frequencies.

A period is identified by its start date; its end is the next period's start (exclusive).
Weeks keep whatever weekday the data starts on (Robyn and PyMC weeks start on Monday), months
start on the 1st. Kept separate so loaders, schemas, quality checks and the modelling table agree
on what "the next period" and "a gap" mean.
"""

import numpy as np
import pandas as pd

STEP = {"daily": pd.Timedelta(days=1), "weekly": pd.Timedelta(days=7)}
#: rough number of periods per month, to express lags given in months at any frequency
PERIODS_PER_MONTH = {"daily": 365.25 / 12, "weekly": 365.25 / 12 / 7, "monthly": 1.0}
#: periods per year, for yearly Fourier terms and seasonal decomposition
PERIODS_PER_YEAR = {"daily": 365.25, "weekly": 365.25 / 7, "monthly": 12.0}


def normalise(dates: pd.Series | pd.DatetimeIndex, frequency: str) -> pd.Series | pd.DatetimeIndex:
    """Drop times of day; monthly dates move to the 1st of their month."""
    if isinstance(dates, pd.Series):
        return dates.dt.to_period("M").dt.to_timestamp() if frequency == "monthly" else dates.dt.normalize()
    return dates.to_period("M").to_timestamp() if frequency == "monthly" else dates.normalize()


def next_start(dates: pd.Series | pd.DatetimeIndex, frequency: str) -> pd.Series | pd.DatetimeIndex:
    """The start of the period after each date's period (its exclusive end)."""
    if frequency == "monthly":
        return dates + pd.offsets.MonthBegin(1)
    return dates + STEP[frequency]


def period_range(start: pd.Timestamp, end: pd.Timestamp, frequency: str) -> pd.DatetimeIndex:
    """All period starts from ``start`` to ``end`` inclusive, on ``start``'s anchor."""
    freq = {"daily": "D", "weekly": "7D", "monthly": "MS"}[frequency]
    return pd.date_range(start, end, freq=freq)


def missing_periods(dates: pd.Series | pd.DatetimeIndex, frequency: str) -> pd.DatetimeIndex:
    """Period starts between the first and last date that have no row."""
    present = pd.DatetimeIndex(pd.unique(pd.Series(dates).dropna())).sort_values()
    if len(present) < 2:
        return pd.DatetimeIndex([])
    if frequency == "weekly" and not _one_anchor(present):
        return pd.DatetimeIndex([])  # off-anchor weeks are reported by the anchor check
    return period_range(present[0], present[-1], frequency).difference(present)


def _one_anchor(dates: pd.DatetimeIndex) -> bool:
    return bool(((dates - dates[0]).days % 7 == 0).all())


def gap_after(dates: pd.Series, frequency: str) -> pd.Series:
    """True for rows whose date is more than one period after the previous row's date.

    ``dates`` must be sorted within the group being checked.
    """
    prev = dates.shift(1)
    expected = next_start(prev, frequency)
    return (dates > expected) & prev.notna()


def off_anchor(dates: pd.Series, frequency: str) -> pd.Series:
    """True for dates that are not on the grid started by the first date (weekly) or not a 1st."""
    if frequency == "monthly":
        return dates.dt.day != 1
    if frequency == "weekly":
        first = dates.min()
        return ((dates - first).dt.days % 7) != 0
    return pd.Series(False, index=dates.index)


def days_in_period(starts: pd.DatetimeIndex, frequency: str) -> np.ndarray:
    return np.asarray((next_start(starts, frequency) - starts).days, dtype=float)
