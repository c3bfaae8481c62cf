"""Moving-block bootstrap over time, expressed as per-period sample weights.

Marketing series are autocorrelated (adstock, seasonality, slow-moving base), so resampling
single periods would understate uncertainty. Resampling contiguous blocks keeps that
dependence inside each block. Rather than building K resampled series (which would break the
adstock recursion at every block seam), each replicate is the *count* of how often each
period was drawn: the model still sees the whole series for carry-over and the counts weight
the loss. The NAM then trains all K replicates in one batched fit (``sample_weights [K, T]``),
which is what makes 200 replicates affordable.
"""

import logging
import math
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Literal

import numpy as np

from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

#: block length by modelling frequency: about a month of daily data, two months of weeks,
#: a quarter of months - long enough to hold the adstock carry-over inside a block
BLOCK_LENGTH_BY_FREQUENCY: dict[str, int] = {"daily": 28, "weekly": 8, "monthly": 3}

Scheme = Literal["moving", "circular"]


def default_block_length(frequency: str) -> int:
    try:
        return BLOCK_LENGTH_BY_FREQUENCY[frequency]
    except KeyError:
        raise ValueError(
            f"no default bootstrap block length for frequency '{frequency}'; "
            f"set settings.bootstrap.block_length or use {join_names(sorted(BLOCK_LENGTH_BY_FREQUENCY), 'or')}"
        ) from None


def resolve_block_length(bootstrap_settings: dict[str, Any], frequency: str, n_periods: int) -> int:
    """``settings.bootstrap.block_length`` when set, else the frequency default, capped at ``n_periods``."""
    configured = bootstrap_settings.get("block_length")
    length = int(configured) if configured else default_block_length(frequency)
    if length < 1:
        raise ValueError(f"settings.bootstrap.block_length must be >= 1, got {configured}")
    if length > n_periods:
        log.warning("block length %d exceeds the %d periods available; using %d", length, n_periods, n_periods)
    return min(length, n_periods)


def block_bootstrap_indices(
    n_periods: int, n_replicates: int, block_length: int, seed: int, scheme: Scheme = "moving"
) -> np.ndarray:
    """``[K, T]`` period indices of K resampled series built from contiguous blocks.

    ``moving``: block starts uniform on ``0 .. T - b`` (Kuensch's moving-block bootstrap).
    ``circular``: starts uniform on ``0 .. T - 1`` with wrap-around, which gives every period
    the same expected weight (the moving scheme under-weights the first and last ``b - 1``).
    """
    if n_periods < 1 or n_replicates < 1:
        raise ValueError(f"need n_periods >= 1 and n_replicates >= 1, got {n_periods}, {n_replicates}")
    if not 1 <= block_length <= n_periods:
        raise ValueError(f"block_length must be between 1 and n_periods ({n_periods}), got {block_length}")
    rng = np.random.default_rng(seed)
    n_blocks = math.ceil(n_periods / block_length)
    high = n_periods if scheme == "circular" else n_periods - block_length + 1
    starts = rng.integers(0, high, size=(n_replicates, n_blocks))
    idx = starts[:, :, None] + np.arange(block_length)[None, None, :]
    idx = idx.reshape(n_replicates, n_blocks * block_length)[:, :n_periods]
    return idx % n_periods if scheme == "circular" else idx


def block_bootstrap_weights(
    n_periods: int, n_replicates: int, block_length: int, seed: int, scheme: Scheme = "moving"
) -> np.ndarray:
    """``[K, T]`` counts of how often each period appears in each resampled series.

    Every row sums to ``n_periods``; row ``k`` is the ``sample_weights`` of replicate ``k``.
    """
    idx = block_bootstrap_indices(n_periods, n_replicates, block_length, seed, scheme)
    counts = np.zeros((n_replicates, n_periods), dtype=np.float64)
    rows = np.repeat(np.arange(n_replicates), idx.shape[1])
    np.add.at(counts, (rows, idx.reshape(-1)), 1.0)
    return counts


def masked_bootstrap_weights(
    train_mask: np.ndarray, n_replicates: int, block_length: int, seed: int, scheme: Scheme = "moving"
) -> np.ndarray:
    """Bootstrap weights over the training periods only; held-out periods get weight 0.

    Blocks are drawn over the training periods in time order, so a hold-out at the end (the
    usual case) never leaks into a replicate.
    """
    mask = np.asarray(train_mask, dtype=bool)
    positions = np.flatnonzero(mask)
    if positions.size == 0:
        raise ValueError("train_mask selects no periods: nothing to bootstrap")
    inner = block_bootstrap_weights(positions.size, n_replicates, min(block_length, positions.size), seed, scheme)
    weights = np.zeros((n_replicates, mask.size), dtype=np.float64)
    weights[:, positions] = inner
    return weights


@dataclass
class BootstrapFit:
    """K models fitted at once on block-bootstrap weights, and how they were drawn."""

    fitted: Any  # FittedNAM with n_models == K
    data: ModelData  # the features the replicates were fitted on (read every replicate output against it)
    weights: np.ndarray  # [K, T]
    block_length: int
    seed: int
    scheme: str
    seconds: float


def fit_bootstrap(
    data: ModelData,
    settings: dict[str, Any],
    *,
    train_mask: np.ndarray | None = None,
    n_replicates: int | None = None,
    seed: int | None = None,
    fit: Callable[..., Any] | None = None,
) -> BootstrapFit:
    """Fit ``settings.bootstrap.replicates`` NAMs in one batched call, one per bootstrap replicate.

    ``fit`` defaults to :func:`mmm_pipeline.core.train.trainer.fit_nam`; it is a parameter so a
    study can swap in another estimator with the same signature.
    """
    boot = dict(settings.get("bootstrap") or {})
    k = int(n_replicates if n_replicates is not None else boot.get("replicates", 200))
    seed = int(seed if seed is not None else boot.get("seed", 7))
    scheme = boot.get("scheme", "moving")
    mask = np.ones(len(data.dates), dtype=bool) if train_mask is None else np.asarray(train_mask, dtype=bool)
    if mask.shape != (len(data.dates),):
        raise ValueError(f"train_mask has shape {mask.shape}, expected ({len(data.dates)},) to match the data's periods")
    block = resolve_block_length(boot, data.frequency, int(mask.sum()))
    weights = masked_bootstrap_weights(mask, k, block, seed, scheme)
    drawn = data  # each replicate sees its own draw of every measured lift
    if data.experiments is not None:
        drawn = replace(data, experiments=data.experiments.draws(k, seed))
    if fit is None:
        from mmm_pipeline.core.train.trainer import fit_nam as fit
    if boot.get("member_init"):
        # "different": each replicate also starts from its own random initialisation, so the
        # intervals include the spread between the local optima a non-convex fit can land in
        settings = {**settings, "training": {**(settings.get("training") or {}), "member_init": boot["member_init"]}}
    chunk = batch_size(boot, int(mask.sum()) * len(drawn.nodes), k)
    log.info("bootstrap: fitting %d replicates, %d at once (block length %d, %s scheme)", k, min(chunk, k), block,
             scheme)
    start = time.perf_counter()
    parts = [fit(chunk_data, settings, train_mask=mask, sample_weights=weights[first:first + chunk],
                 n_models=min(chunk, k - first), seed=chunk_seed)
             for first, chunk_data, chunk_seed in _chunks(drawn, settings, k, chunk, seed)]
    fitted = parts[0] if len(parts) == 1 else parts[0].stack(parts)
    seconds = time.perf_counter() - start
    log.info("bootstrap: %d replicates fitted in %.1f s", k, seconds)
    return BootstrapFit(fitted=fitted, data=data, weights=weights, block_length=block, seed=seed, scheme=scheme, seconds=seconds)


#: replicates x training periods x nodes fitted in one batch: about 0.8 GB of training memory
#: (measured ~420 bytes per cell on daily data with 29 features); more are fitted batch after batch
MAX_BATCH_CELLS = 2_000_000


def batch_size(boot: dict[str, Any], cells_per_replicate: int, k: int) -> int:
    """Replicates per batched fit: all ``k`` when they fit ``bootstrap.max_batch_cells``, else as
    many as do (at least one), so memory stops growing with the number of replicates."""
    budget = int(boot.get("max_batch_cells") or MAX_BATCH_CELLS)
    return max(1, min(k, budget // max(1, cells_per_replicate)))


def _chunks(data: ModelData, settings: dict[str, Any], k: int, chunk: int, seed: int):
    """``(first replicate, data, seed)`` of each batch of at most ``chunk`` replicates.

    Members of one batched fit never interact (own optimiser state, clipping, early stopping),
    so replicate r is fitted the same way whichever batch it is in (up to the rounding of
    batched kernels of another shape, which a long non-convex fit can carry to another nearby
    optimum), as long as it starts where it would have: with ``member_init: different`` member j of a fit starts from ``seed + j``, so a
    batch starting at replicate ``first`` gets ``seed + first``; with one shared start every
    batch keeps ``seed``. Each batch carries its own replicates' draws of the lift tests.
    """
    own_starts = (settings.get("training") or {}).get("member_init") == "different"
    for first in range(0, k, chunk):
        part = data
        if data.experiments is not None and data.experiments.lift.ndim == 2:
            part = replace(data, experiments=replace(data.experiments, lift=data.experiments.lift[first:first + chunk]))
        yield first, part, seed + first if own_starts else seed


def point_model(boot: BootstrapFit, final: Any) -> Any:
    """The one model whose features match the replicates: ``final`` (the full-data fit), or, when
    the replicates left mediators out, their first member (the total-effect model)."""
    return boot.fitted.member(0) if boot.data.meta.get("left_out_mediators") else final
