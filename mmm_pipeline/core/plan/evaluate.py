"""Revenue of a spend plan under every model member, differentiable in the plan.

The optimizer, the sensitivity curve and the regret studies all ask the same question - what
media revenue does this plan bring over the horizon, replicate by replicate? - so it is
answered in one place. Carry-over from the observed history comes in through
``fitted.media_revenue``; carry-over *out* of the horizon is counted by appending zero-spend
periods after it (otherwise a finite horizon would make late spend look worthless and the
optimizer would starve the last weeks of the plan).
"""

import logging
from typing import Any

import numpy as np
import torch

from mmm_pipeline.core.features.model_data import ModelData

log = logging.getLogger(__name__)


def model_dtype(model: Any) -> torch.dtype:
    """The dtype plans are evaluated in: the model's ``dtype`` attribute, else float64.

    FittedNAM.media_revenue computes in the plan's dtype; float64 keeps revenue differences
    between nearby plans accurate enough for SLSQP's stopping rule.
    """
    dtype = getattr(model, "dtype", None)
    return dtype if isinstance(dtype, torch.dtype) else torch.float64


def carryover_periods(model: Any) -> int:
    """How many periods spend keeps working after it stops: the adstock length minus one."""
    weights = np.asarray(model.adstock_weights())
    return max(int(weights.shape[-1]) - 1, 0)


class PlanEvaluator:
    """Total media revenue of block plans ``x [B, C]`` for each of a model's K members.

    ``revenue(x)`` returns ``[K]`` in float64 (the model may compute in float32; sums over a
    quarter of daily periods are taken in float64 so revenue differences between plans stay
    accurate enough for the optimizer's stopping rule).
    """

    def __init__(self, model: Any, data: ModelData, block_lengths: np.ndarray, *, count_carryover: bool = True) -> None:
        self.model = model
        self.data = data
        self.dtype = model_dtype(model)
        self.block_lengths = torch.as_tensor(np.asarray(block_lengths), dtype=torch.long)
        self.horizon = int(self.block_lengths.sum())
        self.tail = carryover_periods(model) if count_carryover else 0
        self.history = torch.as_tensor(np.asarray(data.spend, dtype=float), dtype=self.dtype)
        self.n_channels = self.history.shape[1]

    def expand(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C]`` block plan -> ``[H + tail, C]`` per-period plan with zero spend after the horizon."""
        per_period = torch.repeat_interleave(x, self.block_lengths.to(x.device), dim=0)
        if self.tail:
            per_period = torch.cat([per_period, per_period.new_zeros(self.tail, per_period.shape[1])], dim=0)
        return per_period

    def revenue(self, x: torch.Tensor) -> torch.Tensor:
        """``[K]`` media revenue over the horizon (and its carry-over tail) for plan ``x [B, C]``."""
        plan = self.expand(x.to(self.dtype))
        per_period = self.model.media_revenue(self.history, plan, self.data)  # [K, H + tail]
        return per_period.to(torch.float64).sum(dim=-1)

    def revenue_np(self, x: np.ndarray) -> np.ndarray:
        """``[K]`` revenue of a numpy plan, without gradients."""
        with torch.no_grad():
            return self.revenue(torch.as_tensor(np.asarray(x, dtype=float))).cpu().numpy()

    def flat(self, per_period: np.ndarray) -> np.ndarray:
        """A flat ``[B, C]`` plan that spends ``per_period [C]`` in every period."""
        return np.tile(np.asarray(per_period, dtype=float), (len(self.block_lengths), 1))
