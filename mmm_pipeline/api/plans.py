"""A spend and price plan for future periods, turned into model inputs.

The model needs every input of each future period, not only spend and price. Inputs the plan
does not set (controls, brand health, events) replay the same periods a year earlier - values
the model has seen, with the calendar roughly in place - or, with less than a year of history,
the most recent periods; time terms (trend, seasonality) follow from the future dates
themselves. Channels the plan leaves out keep their current run-rate (the same "current mix"
the optimizer and channels.json use). Carry-over into the plan starts from the observed
spend: the last adstock window of history goes in first and is left out of the answer.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from mmm_pipeline.api.errors import RequestError, check_names
from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.plan.horizon import current_spend
from mmm_pipeline.core.plan.scenarios import apply_scenario, discount_features, price_features

PLAN_FIELDS = ("periods", "spend", "price_change", "discount_change")
#: periods in a year at each frequency (364 days keeps the weekday)
PERIODS_PER_YEAR = {"daily": 364, "weekly": 52, "monthly": 12}


@dataclass(frozen=True)
class Plan:
    """``spend [H, C]`` per period and channel; relative list-price and absolute discount changes."""

    spend: np.ndarray
    price_change: float = 0.0
    discount_change: float = 0.0

    @property
    def periods(self) -> int:
        return int(self.spend.shape[0])


def parse_plan(plan: Mapping[str, Any], data: ModelData, default_periods: int) -> Plan:
    """Check a plan mapping against the dataset; every problem is a :class:`RequestError`."""
    check_names("", list(plan), PLAN_FIELDS, "field", keyed=True)
    spend = dict(plan.get("spend") or {})
    check_names("spend", list(spend), data.channel_names, "channel", keyed=True)
    lengths = {ch: len(v) for ch, v in spend.items() if isinstance(v, (list, tuple))}
    periods = int(plan.get("periods") or next(iter(lengths.values()), default_periods))
    if not 1 <= periods <= len(data.dates):
        raise RequestError("periods", f"must be between 1 and {len(data.dates)} (the length of the history), "
                           f"got {periods}")
    wrong = [ch for ch, n in lengths.items() if n != periods]
    if wrong:
        raise RequestError(f"spend.{wrong[0]}", f"has {lengths[wrong[0]]} values for a {periods}-period plan; give "
                           "one value per period or a single number for every period")
    matrix = np.tile(current_spend(data, periods), (periods, 1))
    for ch, value in spend.items():
        column = np.asarray(value, dtype=float) * np.ones(periods)
        if not np.isfinite(column).all() or (column < 0).any():
            raise RequestError(f"spend.{ch}", "spend must be finite and not negative")
        matrix[:, data.channel_names.index(ch)] = column
    price, discount = float(plan.get("price_change") or 0.0), float(plan.get("discount_change") or 0.0)
    if price and not price_features(data):
        raise RequestError("price_change", "the dataset has no price feature to change")
    if discount and not discount_features(data):
        raise RequestError("discount_change", "the dataset has no discount feature to change")
    if price <= -1:
        raise RequestError("price_change", f"is a fraction above -1 (-0.05 for 5% lower), got {price}")
    return Plan(matrix, price, discount)


def replay_index(n_history: int, horizon: int, frequency: str) -> np.ndarray:
    """``[H]`` history rows whose non-plan inputs each future period takes (see the module doc)."""
    year = PERIODS_PER_YEAR.get(frequency, n_history + 1)
    cycle = year if n_history >= year else min(horizon, n_history)
    return n_history - cycle + np.arange(horizon) % cycle


def future_dates(dates: pd.DatetimeIndex, horizon: int) -> pd.DatetimeIndex:
    """The ``horizon`` periods after ``dates``, at the data's own frequency."""
    freq = pd.infer_freq(dates[-min(len(dates), 12):]) if len(dates) >= 3 else None
    if freq is None:
        raise ValueError("the data's periods are not evenly spaced, so future dates cannot be laid out")
    return pd.date_range(dates[-1], periods=horizon + 1, freq=freq)[1:]


def future_data(data: ModelData, plan: Plan, history: int) -> ModelData:
    """The last ``history`` observed periods followed by the plan's periods, as model inputs."""
    rows = replay_index(len(data.dates), plan.periods, data.frequency)
    x_future = data.X[rows].copy()
    x_future[:, :, list(data.media_index)] = plan.spend[:, None, :]
    keep = slice(len(data.dates) - min(history, len(data.dates)), None)
    joined = replace(
        data,
        dates=data.dates[keep].append(future_dates(data.dates, plan.periods)),
        X=np.concatenate([data.X[keep], x_future]),
        y=np.concatenate([data.y[keep], data.y[rows]]),  # not read by a prediction; kept finite
        experiments=None,
    )
    changes: dict[str, Any] = {"name": "plan"}
    if plan.price_change:
        changes["price_change"] = plan.price_change
    if plan.discount_change:
        changes["discount_change"] = plan.discount_change
    return apply_scenario(joined, changes, plan.periods)
