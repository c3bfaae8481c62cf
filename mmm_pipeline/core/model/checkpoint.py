"""Versioned checkpoints of a FittedNAM that round-trip exactly.

A checkpoint is one ``torch.save`` file holding only tensors and plain Python values, so it
loads with ``weights_only=True`` (no pickled code is executed on load):

- ``format`` / ``version``: what this is and which layout it follows;
- ``config``: the network (features with their families, hierarchy mapping nodes ->
  categories, bounds, forms); ``scalers``: the training statistics;
- ``data_features``: the FeatureSpecs the model reads, in order;
- ``flat``: all parameters ``[K, D]`` (the state), ``centring``: training means of the
  non-media contributions; ``settings``, ``history``, ``meta``.

Loading rebuilds the network from ``config`` and checks that its parameter layout has the
stored size, so a checkpoint from an incompatible version fails loudly instead of mis-reading.
"""

import logging
from pathlib import Path

import numpy as np
import torch

from mmm_pipeline.core.features.model_data import FeatureSpec
from mmm_pipeline.core.model.fitted import FittedNAM
from mmm_pipeline.core.model.nam import NAM, NAMConfig
from mmm_pipeline.core.model.scaling import Scalers

log = logging.getLogger(__name__)

FORMAT = "mmm_pipeline.nam"
VERSION = 1


def _plain(value):
    """Settings and meta as plain Python (tuples -> lists, numpy scalars -> numbers)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _spec_dict(f: FeatureSpec) -> dict:
    return {"name": f.name, "kind": f.kind, "block": f.block, "national": f.national,
            "elasticity_bounds": list(f.elasticity_bounds) if f.elasticity_bounds else None}


def _spec(d: dict) -> FeatureSpec:
    b = d.get("elasticity_bounds")
    return FeatureSpec(d["name"], d["kind"], d["block"], d["national"], tuple(b) if b else None)


def save_checkpoint(fitted: FittedNAM, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    history = {k: torch.as_tensor(np.asarray(v, dtype=np.float64)) for k, v in fitted.history.items()}
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "torch_version": str(torch.__version__),
        "config": _plain(fitted.model.cfg.to_dict()),
        "scalers": _plain(fitted.model.scalers.to_dict()),
        "data_features": [_spec_dict(f) for f in fitted.data_features],
        "flat": fitted.model.flat.detach().clone(),
        "centring": torch.as_tensor(fitted.centring),
        "settings": _plain(fitted.settings),
        "history": history,
        "meta": _plain(fitted.meta),
    }
    torch.save(payload, path)
    log.info("saved %d-member NAM checkpoint to %s", fitted.n_models, path)
    return path


def load_checkpoint(path: str | Path) -> FittedNAM:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no NAM checkpoint at {path}")
    payload = torch.load(path, weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not an mmm_pipeline NAM checkpoint")
    if payload.get("version") != VERSION:
        raise ValueError(f"{path}: checkpoint version {payload.get('version')} cannot be read by version {VERSION}; refit the model")
    cfg = NAMConfig.from_dict(payload["config"])
    model = NAM(cfg, Scalers.from_dict(payload["scalers"]))
    flat = payload["flat"]
    if tuple(flat.shape) != tuple(model.flat.shape):
        raise ValueError(f"{path}: stored parameters {tuple(flat.shape)} do not match the rebuilt network {tuple(model.flat.shape)}")
    with torch.no_grad():
        model.flat.copy_(flat)
    history = {k: (v.numpy() if v.dim() else np.asarray(v.item())) for k, v in payload["history"].items()}
    specs = [_spec(d) for d in payload["data_features"]]
    return FittedNAM(model, specs, payload["centring"].numpy(), payload["settings"], history, payload["meta"])
