"""Which parameters train at each epoch: joint, coordinate, block or hybrid.

- ``joint``: everything, every epoch.
- ``coordinate``: one feature at a time against the residual of all others (backfitting):
  features take turns of ``coordinate_steps`` epochs each. The intercept always trains.
- ``block``: the same with groups of features by ``FeatureSpec.block`` (pricing, marketing,
  brand, temporal), so collinear features inside a block are fitted together.
- ``hybrid``: coordinate, then block, then joint, for the shares of the epoch budget in
  ``hybrid_schedule`` (default 20% / 30% / 50%): cheap, stable first passes, joint polish.

A mask over the flat parameter vector (``[D]`` bool, from which feature owns each element)
implements all of them; the optimizer leaves masked-out elements and their moments untouched.
"""

from dataclasses import dataclass

import numpy as np
import torch

from mmm_pipeline.core.model.features import ModelFeature
from mmm_pipeline.core.wording import join_names

STRATEGIES = ("joint", "coordinate", "block", "hybrid")
BLOCK_ORDER = ("marketing", "pricing", "brand", "temporal")


@dataclass
class Phase:
    name: str  # joint | coordinate | block
    start: int
    end: int  # exclusive


def phases(strategy: str, epochs: int, hybrid_schedule: list[float]) -> list[Phase]:
    if strategy not in STRATEGIES:
        raise ValueError(f"settings.training.strategy must be one of {STRATEGIES}, got '{strategy}'")
    if strategy != "hybrid":
        return [Phase(strategy, 0, epochs)]
    shares = np.asarray(hybrid_schedule, dtype=float)
    if shares.shape != (3,) or np.any(shares < 0) or shares.sum() <= 0:
        raise ValueError("settings.training.hybrid_schedule must be three non-negative shares (coordinate, block, "
                         f"joint), got {join_names(np.ravel(shares).tolist())}")
    bounds = np.round(np.cumsum(shares / shares.sum()) * epochs).astype(int)
    starts = [0, int(bounds[0]), int(bounds[1])]
    ends = [int(bounds[0]), int(bounds[1]), epochs]
    return [Phase(n, s, e) for n, s, e in zip(("coordinate", "block", "joint"), starts, ends) if e > s]


def feature_groups(kind: str, features: list[ModelFeature]) -> list[list[int]]:
    """Groups of model-feature indices that train together in a phase of this kind."""
    if kind == "coordinate":
        return [[i] for i in range(len(features))]
    if kind == "block":
        blocks = [b for b in BLOCK_ORDER if any(f.block == b for f in features)]
        blocks += sorted({f.block for f in features} - set(blocks))
        return [[i for i, f in enumerate(features) if f.block == b] for b in blocks]
    return [list(range(len(features)))]


class Schedule:
    """Per-epoch trainable mask over the flat parameters (None: everything trains)."""

    def __init__(self, strategy: str, epochs: int, features: list[ModelFeature], owners: np.ndarray,
                 hybrid_schedule: list[float], steps_per_group: int) -> None:
        self.phases = phases(strategy, epochs, hybrid_schedule)
        self.steps = max(1, int(steps_per_group))
        self.masks: dict[str, list[torch.Tensor]] = {}
        shared = owners < 0
        for ph in self.phases:
            if ph.name == "joint" or ph.name in self.masks:
                continue
            groups = feature_groups(ph.name, features)
            self.masks[ph.name] = [torch.as_tensor(shared | np.isin(owners, g)) for g in groups if g]

    def phase(self, epoch: int) -> Phase:
        for ph in self.phases:
            if ph.start <= epoch < ph.end:
                return ph
        return self.phases[-1]

    def mask(self, epoch: int) -> torch.Tensor | None:
        ph = self.phase(epoch)
        if ph.name == "joint":
            return None
        masks = self.masks[ph.name]
        return masks[((epoch - ph.start) // self.steps) % len(masks)]

    def cycle_length(self, epoch: int) -> int:
        """Epochs for one pass over all groups in the current phase (1 for joint)."""
        ph = self.phase(epoch)
        return 1 if ph.name == "joint" else self.steps * len(self.masks[ph.name])
