"""All parameters of K models in one ``[K, D]`` tensor, with named views.

One flat tensor makes everything the trainer does per member a single batched operation:
Adam moments, per-member gradient clipping (a norm over ``D``), per-member best-weights
restore (a ``where`` over ``K``), coordinate/block training (a ``[D]`` mask built from which
feature owns each element), checkpointing and ``member(k)`` (a row slice).
"""

from dataclasses import dataclass, field
from math import prod

import numpy as np
import torch


@dataclass
class Entry:
    offset: int
    shape: tuple[int, ...]
    owners: np.ndarray  # [prod(shape)] model-feature index owning each element, -1 = shared


@dataclass
class ParamLayout:
    entries: dict[str, Entry] = field(default_factory=dict)
    size: int = 0

    def add(self, name: str, shape: tuple[int, ...], owners: list[int] | None = None, axis: int | None = None) -> None:
        """Register ``name`` of per-member ``shape``; ``owners[i]`` owns slice ``i`` along ``axis``."""
        n = prod(shape)
        own = np.full(shape, -1, dtype=np.int64)
        if owners is not None:
            bshape = [1] * len(shape)
            bshape[axis] = len(owners)
            own = np.broadcast_to(np.asarray(owners, dtype=np.int64).reshape(bshape), shape).copy()
        self.entries[name] = Entry(self.size, tuple(shape), own.reshape(-1))
        self.size += n

    def views(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Named ``[K, *shape]`` views; one ``split`` keeps the autograd graph small."""
        k = flat.shape[0]
        pieces = flat.split([prod(e.shape) for e in self.entries.values()], dim=1)
        return {n: p.reshape(k, *e.shape) for (n, e), p in zip(self.entries.items(), pieces)}

    def owners(self) -> np.ndarray:
        return np.concatenate([e.owners for e in self.entries.values()]) if self.entries else np.zeros(0, np.int64)

    def to_dict(self) -> dict:
        return {n: {"offset": e.offset, "shape": list(e.shape), "owners": e.owners.tolist()} for n, e in self.entries.items()}

    @staticmethod
    def from_dict(d: dict) -> "ParamLayout":
        lay = ParamLayout()
        for n, e in d.items():
            lay.entries[n] = Entry(int(e["offset"]), tuple(e["shape"]), np.asarray(e["owners"], dtype=np.int64))
            lay.size = max(lay.size, int(e["offset"]) + prod(e["shape"]))
        return lay
