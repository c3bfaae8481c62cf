"""The planning horizon and the "current mix" every plan and scenario is compared with.

One definition is shared by channels.json, the optimizer, the scenarios and the response
curves, so "current spend" means the same number everywhere in the report: each channel's
mean spend per period over the last ``horizon`` observed periods (the most recent run-rate
the business is actually on), not the whole-history average.
"""

from typing import Any

import numpy as np

from mmm_pipeline.core.features.model_data import ModelData

#: default horizon by frequency: a quarter
HORIZON_BY_FREQUENCY: dict[str, int] = {"daily": 90, "weekly": 13, "monthly": 3}


def horizon_periods(settings: dict[str, Any], frequency: str) -> int:
    """``settings.optimizer.horizon_periods`` when set, else a quarter at ``frequency``."""
    configured = (settings.get("optimizer") or {}).get("horizon_periods")
    if configured:
        if int(configured) < 1:
            raise ValueError(f"settings.optimizer.horizon_periods must be >= 1, got {configured}")
        return int(configured)
    if frequency not in HORIZON_BY_FREQUENCY:
        raise ValueError(
            f"no default horizon for frequency '{frequency}'; set settings.optimizer.horizon_periods"
        )
    return HORIZON_BY_FREQUENCY[frequency]


def current_spend(data: ModelData, horizon: int) -> np.ndarray:
    """``[C]`` mean spend per period over the last ``horizon`` periods (all periods if fewer)."""
    window = min(int(horizon), len(data.dates))
    return np.asarray(data.spend[-window:], dtype=float).mean(axis=0)
