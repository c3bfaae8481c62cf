"""Which walk-forward folds a history supports: the initial window and the test-fold length.

A fold is named by its test unit: a month ("YYYY-MM") or, when the months are too few to give
enough folds, a week named by its Monday ("YYYY-MM-DD"). Both sort in time order as strings, so
the Dagster partition set (one partition per key) stays chronological and a new month or week
of data appends exactly one key.

The initial window defaults to ``auto``: a third of the history, but never less than the
periods the model needs to fit at all (``training.min_periods_per_parameter`` x inputs) and
never more than one seasonal cycle (``max_initial_months``, 12), because beyond a full year a
longer first window only removes folds. So three years of data keep the classic 12 initial
months and 24 monthly folds, while one year of daily data gets four initial months and eight
monthly folds instead of none. :class:`FoldPlan` records the choice and says it in plain words.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

UNITS = ("month", "week")


@dataclass(frozen=True)
class WalkForwardSettings:
    """The ``walk_forward`` settings section, validated once. ``initial_months`` None is ``auto``."""

    window: str = "expanding"
    rolling_months: int = 24
    initial_months: int | None = None
    tuning_folds: int = 0
    fold_length: str = "auto"  # auto | month | week
    min_folds: int = 6
    max_initial_months: int = 12

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "WalkForwardSettings":
        section = dict(settings.get("walk_forward") or {})
        initial = section.get("initial_months", "auto")
        wf = cls(
            window=str(section.get("window", cls.window)),
            rolling_months=int(section.get("rolling_months", cls.rolling_months)),
            initial_months=None if initial in (None, "auto") else int(initial),
            tuning_folds=int(section.get("tuning_folds", cls.tuning_folds)),
            fold_length=str(section.get("fold_length", cls.fold_length)),
            min_folds=int(section.get("min_folds", cls.min_folds)),
            max_initial_months=int(section.get("max_initial_months", cls.max_initial_months)),
        )
        wf._validate()
        return wf

    def _validate(self) -> None:
        if self.window not in ("expanding", "rolling"):
            raise ValueError(f"settings.walk_forward.window is '{self.window}'; use 'expanding' or 'rolling'")
        if self.initial_months is not None and self.initial_months < 1:
            raise ValueError(f"settings.walk_forward.initial_months is {self.initial_months}; it must be >= 1 or auto")
        if self.window == "rolling" and self.rolling_months < 1:
            raise ValueError(f"settings.walk_forward.rolling_months is {self.rolling_months}; it must be >= 1")
        if self.tuning_folds < 0:
            raise ValueError(f"settings.walk_forward.tuning_folds is {self.tuning_folds}; it must be >= 0")
        if self.fold_length not in ("auto", *UNITS):
            raise ValueError(f"settings.walk_forward.fold_length is '{self.fold_length}'; use auto, month or week")
        if self.min_folds < 1 or self.max_initial_months < 1:
            raise ValueError("settings.walk_forward.min_folds and max_initial_months must be >= 1")


def period_months(dates: pd.DatetimeIndex | Sequence) -> np.ndarray:
    """The "YYYY-MM" month of each period, taken from the period's start date."""
    return np.asarray(pd.DatetimeIndex(dates).strftime("%Y-%m"), dtype=object)


def period_weeks(dates: pd.DatetimeIndex | Sequence) -> np.ndarray:
    """The Monday ("YYYY-MM-DD") of the week each period starts in."""
    idx = pd.DatetimeIndex(dates).normalize()
    return np.asarray((idx - pd.to_timedelta(idx.weekday, unit="D")).strftime("%Y-%m-%d"), dtype=object)


def period_keys(dates: pd.DatetimeIndex | Sequence, unit: str) -> np.ndarray:
    """The fold key ("month" or "week") of each period."""
    return period_months(dates) if unit == "month" else period_weeks(dates)


def key_mask(dates: pd.DatetimeIndex | Sequence, key: str) -> np.ndarray:
    """``[T]`` bool: the periods of fold key ``key`` (a "YYYY-MM" month or a "YYYY-MM-DD" week)."""
    return period_keys(dates, "month" if len(key) == 7 else "week") == key


def unit_start(key: str) -> pd.Timestamp:
    """First calendar day of a fold key: "2024-03" is 1 March, "2024-03-04" is that Monday."""
    return pd.Timestamp(key + "-01" if len(key) == 7 else key)


def data_months(dates: pd.DatetimeIndex | Sequence) -> list[str]:
    """Distinct months of the data in time order; rejects unsorted or duplicated dates."""
    return distinct_keys(dates, "month")


def distinct_keys(dates: pd.DatetimeIndex | Sequence, unit: str) -> list[str]:
    """Distinct fold keys of the data in time order; rejects unsorted or duplicated dates."""
    idx = pd.DatetimeIndex(dates)
    if len(idx) and not (idx.is_monotonic_increasing and idx.is_unique):
        raise ValueError("dates must be strictly increasing (one row per period) to form walk-forward folds")
    return list(dict.fromkeys(period_keys(idx, unit)))


@dataclass(frozen=True)
class FoldPlan:
    """The walk-forward layout chosen for one history: test-fold unit, initial window, fold keys."""

    unit: str  # "month" | "week"
    units: list[str]  # every distinct key of the data, in time order
    initial: int  # keys in the initial training window
    reason: str  # why this initial window and fold length, in plain words

    @property
    def keys(self) -> list[str]:
        """Test keys of every fold: the partition keys of the walk-forward asset."""
        return self.units[self.initial :]

    def describe(self) -> str:
        """One sentence for logs, asset metadata and summary.json."""
        folds = self.keys
        span = f" ({folds[0]} to {folds[-1]})" if folds else ""
        return (f"{len(folds)} {self.unit}ly test folds{span} after an initial window of {self.initial} "
                f"{self.unit}s of {len(self.units)}; {self.reason}")

    def to_dict(self) -> dict[str, Any]:
        return {"fold_length": self.unit, "initial_window": self.initial, "initial_unit": self.unit,
                "history": len(self.units), "folds": len(self.keys), "reason": self.reason,
                "description": self.describe()}


def plan_folds(dates: pd.DatetimeIndex | Sequence, settings: Mapping[str, Any], min_train_periods: int = 0) -> FoldPlan:
    """Monthly folds when the history gives at least ``min_folds`` of them, weekly ones otherwise
    (sub-monthly data only); ``min_train_periods`` is the least the first fold may train on.

    An explicit ``initial_months`` sizes the layout in months, so ``fold_length: auto`` then
    keeps monthly folds; the weekly fallback belongs to the automatic sizing.
    """
    wf = WalkForwardSettings.from_settings(settings)
    idx = pd.DatetimeIndex(dates)
    monthly = _plan_unit(idx, wf, "month", min_train_periods)
    enough = len(monthly.keys) >= wf.min_folds or wf.initial_months is not None
    if wf.fold_length == "month" or (wf.fold_length == "auto" and enough):
        return monthly
    if len(idx) > 1 and float(np.median(np.diff(idx.values).astype("timedelta64[D]").astype(float))) > 7:
        if wf.fold_length == "week":
            raise ValueError("settings.walk_forward.fold_length is 'week' but the data has fewer than one period a week")
        return monthly
    weekly = _plan_unit(idx, wf, "week", min_train_periods)
    if wf.fold_length == "auto":
        return FoldPlan("week", weekly.units, weekly.initial,
                        f"{weekly.reason}; weekly folds because monthly ones would give only {len(monthly.keys)} "
                        f"(walk_forward.min_folds = {wf.min_folds})")
    return weekly


def _plan_unit(idx: pd.DatetimeIndex, wf: WalkForwardSettings, unit: str, min_train_periods: int) -> FoldPlan:
    units = distinct_keys(idx, unit)
    of_period = period_keys(idx, unit)
    if wf.initial_months is not None:
        initial = _units_within_months(idx, of_period, wf.initial_months)
        return FoldPlan(unit, units, initial, f"walk_forward.initial_months = {wf.initial_months}")
    counts = np.asarray([np.sum(of_period == u) for u in units])
    needed = int(np.searchsorted(np.cumsum(counts), min_train_periods)) + 1 if min_train_periods > 0 else 1
    third = math.ceil(len(units) / 3)
    cap = _units_within_months(idx, of_period, wf.max_initial_months)
    initial = min(cap, max(third, needed))
    if initial == cap and cap < max(third, needed):
        why = f"one seasonal cycle (walk_forward.max_initial_months = {wf.max_initial_months})"
    elif needed > third:
        why = f"the {min_train_periods} periods the model needs to fit"
    else:
        why = f"a third of the {len(units)} {unit}s of history"
    return FoldPlan(unit, units, initial, f"initial window auto: {why}")


def _units_within_months(idx: pd.DatetimeIndex, of_period: np.ndarray, months: int) -> int:
    """How many keys the periods of the first ``months`` data months touch."""
    first = set(data_months(idx)[:months])
    inside = np.isin(period_months(idx), list(first))
    return len(dict.fromkeys(of_period[inside]))
