"""Per-period, per-node decomposition of the prediction into base and drivers.

The decomposition is what a marketer reads first ("how much of last month's revenue came
from TV?"), so it must add up: base + every driver column == predicted, to floating-point
error. ``FittedNAM.predict`` is itself defined as base + contributions, so comparing the two
proves nothing: :func:`decomposition_sums_to_prediction` compares the table with the
network's own forward pass instead (``eta`` from the training path, mapped to revenue), which
shares none of the decomposition's centring, allocation or averaging code.
"""

import logging
from typing import Any

import numpy as np
import pandas as pd
import torch

from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

#: prefix of the columns that itemise the base (intercept, trend ...); they add up to ``base``
BASE_PART_PREFIX = "base:"
ID_COLUMNS = ["date", "node", "category"]


def decomposition_frame(fitted: Any, data: ModelData) -> pd.DataFrame:
    """The decomposition.csv table: one row per (date, node), mean over the model's members.

    Columns: ``date, node, category, actual, predicted, base``, one column per model feature (its
    centred contribution, in target units), then ``base:<part>`` columns that itemise the
    base (they sum to ``base`` and are *not* drivers: do not add them to ``base`` again).
    """
    dec = fitted.decompose(data)
    base = np.asarray(dec.base, dtype=float).mean(axis=0)  # [T, N]
    contrib = np.asarray(dec.contributions, dtype=float).mean(axis=0)  # [T, N, F]
    names = list(dec.feature_names)
    t, n = base.shape
    if contrib.shape != (t, n, len(names)):
        raise ValueError(f"decomposition contributions have shape {contrib.shape}, expected {(t, n, len(names))}")
    if (t, n) != data.y.shape:
        raise ValueError(f"decomposition covers {(t, n)} periods x nodes but the data has {data.y.shape}")
    columns: dict[str, np.ndarray] = {
        "date": np.repeat(np.asarray(data.dates), n),
        "node": np.tile(np.asarray(data.nodes, dtype=object), t),
        "category": np.tile(np.asarray(data.node_category, dtype=object), t),
        "actual": data.y.reshape(-1),
        "predicted": base.reshape(-1) + contrib.reshape(t * n, -1).sum(axis=1),
        "base": base.reshape(-1),
    }
    clash = [name for name in names if name in columns]
    if clash:
        raise ValueError(f"feature name(s) {join_names(clash)} clash with decomposition.csv's fixed columns "
                         f"{join_names(columns)}")
    for j, name in enumerate(names):
        columns[name] = contrib[:, :, j].reshape(-1)
    for part, values in (getattr(dec, "base_parts", None) or {}).items():
        columns[f"{BASE_PART_PREFIX}{part}"] = np.asarray(values, dtype=float).mean(axis=0).reshape(-1)
    frame = pd.DataFrame(columns)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def driver_columns(frame: pd.DataFrame) -> list[str]:
    """The driver columns of a decomposition frame (everything but ids, totals and base parts)."""
    fixed = set(ID_COLUMNS) | {"actual", "predicted", "base"}
    return [c for c in frame.columns if c not in fixed and not str(c).startswith(BASE_PART_PREFIX)]


def decomposition_error(frame: pd.DataFrame) -> float:
    """Max abs error of ``base + drivers - predicted`` (and of the base parts against ``base``)."""
    drivers = driver_columns(frame)
    total = frame["base"].to_numpy(float) + frame[drivers].to_numpy(float).sum(axis=1)
    err = float(np.max(np.abs(total - frame["predicted"].to_numpy(float)), initial=0.0))
    parts = [c for c in frame.columns if str(c).startswith(BASE_PART_PREFIX)]
    if parts:
        part_sum = frame[parts].to_numpy(float).sum(axis=1)
        err = max(err, float(np.max(np.abs(part_sum - frame["base"].to_numpy(float)), initial=0.0)))
    return err


def forward_prediction(fitted: Any, data: ModelData) -> np.ndarray:
    """``[K, T, N]`` prediction of every member straight from the network's output ``eta``.

    Independent of :meth:`FittedNAM.decompose`: ``eta`` is the model's scaled prediction from
    its training path, turned into revenue by the target scale alone (level: ``mean * eta``,
    log: ``mean * exp(eta)``).
    """
    model = fitted.model
    with torch.no_grad():
        eta = model(fitted.inputs(data), detail=False).eta.double().numpy()  # [K, T, N]
    level = np.exp(eta) if model.cfg.target_scale == "log" else eta
    return level * np.asarray(model.scalers.target_mean, dtype=float)[None, None, :]


def decomposition_sums_to_prediction(fitted: Any, data: ModelData, frame: pd.DataFrame | None = None) -> float:
    """Max abs difference between the decomposition's parts and the network's own forward pass.

    Checks the whole chain (model decomposition -> ensemble mean -> table) against
    :func:`forward_prediction`, and the table's ``predicted`` column and base parts against its
    own drivers. The network computes in float32: compare against a tolerance scaled to the
    target, e.g. ``1e-6 * abs(y).max()``.
    """
    frame = decomposition_frame(fitted, data) if frame is None else frame
    predicted = forward_prediction(fitted, data).mean(axis=0).reshape(-1)
    drivers = driver_columns(frame)
    total = frame["base"].to_numpy(float) + frame[drivers].to_numpy(float).sum(axis=1)
    return max(float(np.max(np.abs(total - predicted), initial=0.0)), decomposition_error(frame))


def driver_groups(data: ModelData) -> dict[str, list[str]]:
    """Feature names by training block (pricing, marketing, brand, temporal), for grouped charts."""
    groups: dict[str, list[str]] = {}
    for spec in data.features:
        groups.setdefault(spec.block, []).append(spec.name)
    return groups
