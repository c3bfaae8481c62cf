"""Refusing to fit when the data cannot support the model.

A model with more inputs than the history can pin down still produces numbers, and those numbers
look like findings. ``require_enough_periods`` stops that at the door with a message saying what
is short and what to change, and the pipeline reports the refusal instead of a result.
"""

import math
from collections.abc import Mapping
from typing import Any

from mmm_pipeline.core.features.model_data import ModelData

DEFAULT_MIN_PERIODS_PER_PARAMETER = 2.0


class InsufficientDataError(ValueError):
    """The data has too few periods (or too little variation) for the requested model."""

    def __init__(self, message: str, *, periods: int | None = None, needed: int | None = None) -> None:
        super().__init__(message)
        self.periods = periods
        self.needed = needed

    def __reduce__(self):  # keep the numbers when pickled across processes
        return (_rebuild, (str(self), self.periods, self.needed))


def _rebuild(message: str, periods: int | None, needed: int | None) -> InsufficientDataError:
    return InsufficientDataError(message, periods=periods, needed=needed)


def _ratio(settings: Mapping[str, Any]) -> float:
    return float((settings.get("training") or {}).get("min_periods_per_parameter", DEFAULT_MIN_PERIODS_PER_PARAMETER))


def periods_needed(data: ModelData, settings: Mapping[str, Any]) -> int:
    """The fewest periods the model may be fitted on: ``min_periods_per_parameter`` x inputs
    (walk-forward sizes its first training window from this too)."""
    return math.ceil(_ratio(settings) * len(data.features))


def require_enough_periods(data: ModelData, settings: Mapping[str, Any]) -> None:
    """Raise unless periods >= ``training.min_periods_per_parameter`` x (channels + other features).

    ``settings`` is the merged settings dict (``config.settings``). Counting one "parameter" per
    input is a floor, not a guarantee: each channel really has several (adstock, saturation,
    scale), so passing this check does not mean a channel is identified.
    """
    ratio = _ratio(settings)
    periods = len(data.dates)
    channels = len(data.channel_names)
    others = len(data.features) - channels
    needed = periods_needed(data, settings)
    if periods >= needed:
        return
    freq = {"monthly": "month", "weekly": "week", "daily": "day"}.get(data.frequency, "period")
    raise InsufficientDataError(
        f"too few periods ({periods}) for {channels} channels + {others} other features: need at least {needed} "
        f"({ratio:g} x {channels + others}; training.min_periods_per_parameter) to fit "
        f"{data.dataset or 'this dataset'}. What to do: supply a longer history or a finer frequency "
        f"(e.g. weekly or daily sales instead of one row per {freq}), merge or drop channels that rarely spend, "
        "or switch off derived features under `features:` in the settings (NPS lags, Fourier terms, cross price). "
        "Lowering min_periods_per_parameter would only hide that the effects cannot be identified.",
        periods=periods, needed=needed)
