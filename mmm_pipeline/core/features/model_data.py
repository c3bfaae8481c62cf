"""The hand-off between feature engineering and the model: dense time x node x feature arrays.

Everything downstream of ``feature_table`` (the NAM, baselines, walk-forward, bootstrap,
optimizer) reads a :class:`ModelData`. Values are in raw business units (money, prices,
fractions); the model fits and stores its own scalers, so a fold or a bootstrap replicate
never sees statistics of data it was not trained on.
"""

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from mmm_pipeline.core.data.experiments import LiftTests

FeatureKind = Literal["media", "decreasing", "increasing", "concave", "free", "linear"]
Block = Literal["pricing", "marketing", "brand", "temporal"]

#: which training block (block coordinate descent) a feature kind belongs to by default
DEFAULT_BLOCK: dict[str, Block] = {
    "media": "marketing",
    "decreasing": "pricing",
    "increasing": "pricing",
    "concave": "marketing",
    "free": "brand",
    "linear": "temporal",
}


@dataclass(frozen=True)
class FeatureSpec:
    """One model input: its business name, shape family and training block.

    ``national`` features (media, events, NPS, seasonality) have the same value for every
    node; the others (prices, discounts) vary by node.
    """

    name: str
    kind: FeatureKind
    block: Block
    national: bool = True
    elasticity_bounds: tuple[float, float] | None = None


@dataclass
class ModelData:
    """Aligned arrays for one dataset (or a slice of it in time).

    Shapes: ``X`` is ``[T, N, F]``, ``y`` is ``[T, N]``; ``T`` periods in ``dates`` order,
    ``N`` hierarchy nodes (one node called ``"total"`` without a hierarchy), ``F`` features
    in ``features`` order. ``spend`` columns of media features are the raw money spent in
    that period at the modelling frequency. ``experiments`` are lift tests dated in calendar
    time, so a slice in time keeps them and each fit uses those inside its training window.
    """

    dates: pd.DatetimeIndex
    nodes: list[str]
    node_category: list[str]
    X: np.ndarray
    y: np.ndarray
    features: list[FeatureSpec]
    frequency: str
    target_name: str
    dataset: str = ""
    meta: dict = field(default_factory=dict)
    experiments: "LiftTests | None" = None

    def __post_init__(self) -> None:
        t, n, f = self.X.shape
        if self.y.shape != (t, n):
            raise ValueError(f"y has shape {self.y.shape}, expected {(t, n)} to match X {self.X.shape}")
        if len(self.dates) != t or len(self.nodes) != n or len(self.features) != f:
            raise ValueError("dates, nodes and features must match the axes of X")
        if len(self.node_category) != n:
            raise ValueError("node_category needs one category per node")

    @property
    def categories(self) -> list[str]:
        """Categories in first-seen order, so category indices are stable."""
        return list(dict.fromkeys(self.node_category))

    @property
    def category_index(self) -> np.ndarray:
        """``[N]`` index of each node's category in :attr:`categories`."""
        lookup = {c: i for i, c in enumerate(self.categories)}
        return np.array([lookup[c] for c in self.node_category], dtype=np.int64)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def channel_names(self) -> list[str]:
        return [f.name for f in self.features if f.kind == "media"]

    @property
    def media_index(self) -> np.ndarray:
        return np.array([i for i, f in enumerate(self.features) if f.kind == "media"], dtype=np.int64)

    @property
    def spend(self) -> np.ndarray:
        """``[T, C]`` national spend per media channel (media are national by construction)."""
        return self.X[:, 0, self.media_index]

    def feature_index(self, name: str) -> int:
        try:
            return self.feature_names.index(name)
        except ValueError:
            raise KeyError(f"no feature '{name}'; features are {self.feature_names}") from None

    def slice_time(self, mask: np.ndarray) -> "ModelData":
        """The periods where ``mask`` is true (a boolean ``[T]`` array), in order."""
        mask = np.asarray(mask, dtype=bool)
        return replace(self, dates=self.dates[mask], X=self.X[mask], y=self.y[mask])
