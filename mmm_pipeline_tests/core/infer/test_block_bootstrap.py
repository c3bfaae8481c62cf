"""Moving-block bootstrap weights: block structure, totals, determinism, masks, one batched fit."""

import numpy as np
import pandas as pd
import pytest

from mmm_pipeline.core.features.model_data import FeatureSpec, ModelData
from mmm_pipeline.core.infer.bootstrap import (
    block_bootstrap_indices,
    block_bootstrap_weights,
    fit_bootstrap,
    masked_bootstrap_weights,
    resolve_block_length,
)


@pytest.mark.parametrize("scheme", ["moving", "circular"])
def test_indices_are_contiguous_blocks_and_weights_sum_to_t(scheme):
    t, k, b = 103, 50, 8
    idx = block_bootstrap_indices(t, k, b, seed=3, scheme=scheme)
    assert idx.shape == (k, t)
    blocks = idx[:, : (t // b) * b].reshape(k, -1, b)
    step = np.diff(blocks, axis=-1) % t  # circular blocks wrap from T-1 to 0
    assert (step == 1).all()
    if scheme == "moving":
        assert blocks[:, :, 0].max() <= t - b  # every block fits inside the series
    w = block_bootstrap_weights(t, k, b, seed=3, scheme=scheme)
    assert w.shape == (k, t)
    np.testing.assert_array_equal(w.sum(axis=1), np.full(k, t))
    np.testing.assert_array_equal(w, np.stack([np.bincount(r, minlength=t) for r in idx]))
    # not the same replicate twice, and weights are genuinely resampled
    assert len({tuple(r) for r in w}) == k
    assert (w == 0).any()


def test_blocks_make_neighbouring_weights_correlated():
    w = block_bootstrap_weights(400, 300, 20, seed=1)
    centred = w - w.mean(axis=0)
    lag1 = np.mean([np.corrcoef(centred[:, t], centred[:, t + 1])[0, 1] for t in range(50, 340)])
    far = np.mean([np.corrcoef(centred[:, t], centred[:, t + 40])[0, 1] for t in range(50, 340)])
    assert lag1 > 0.8 and abs(far) < 0.15
    iid = block_bootstrap_weights(400, 300, 1, seed=1)
    c_iid = iid - iid.mean(axis=0)
    assert np.mean([np.corrcoef(c_iid[:, t], c_iid[:, t + 1])[0, 1] for t in range(50, 340)]) < 0.1


def test_seeded_and_reproducible():
    a = block_bootstrap_weights(60, 10, 4, seed=11)
    np.testing.assert_array_equal(a, block_bootstrap_weights(60, 10, 4, seed=11))
    assert not np.array_equal(a, block_bootstrap_weights(60, 10, 4, seed=12))


def test_circular_scheme_gives_every_period_equal_expected_weight():
    w = block_bootstrap_weights(50, 20000, 10, seed=0, scheme="circular").mean(axis=0)
    np.testing.assert_allclose(w, 1.0, atol=0.06)
    moving = block_bootstrap_weights(50, 20000, 10, seed=0).mean(axis=0)
    assert moving[0] < 0.5 and moving[25] > 1.0  # the moving scheme's known edge effect


def test_masked_weights_leave_held_out_periods_at_zero():
    mask = np.ones(80, dtype=bool)
    mask[-12:] = False
    w = masked_bootstrap_weights(mask, 7, 8, seed=2)
    assert (w[:, -12:] == 0).all()
    np.testing.assert_array_equal(w.sum(axis=1), np.full(7, 68))


def test_block_length_by_frequency_and_setting():
    assert resolve_block_length({}, "daily", 500) == 28
    assert resolve_block_length({"block_length": None}, "weekly", 500) == 8
    assert resolve_block_length({}, "monthly", 500) == 3
    assert resolve_block_length({"block_length": 5}, "daily", 500) == 5
    assert resolve_block_length({}, "daily", 10) == 10
    with pytest.raises(ValueError, match="block length"):
        resolve_block_length({}, "hourly", 100)
    with pytest.raises(ValueError, match="between 1 and n_periods"):
        block_bootstrap_weights(10, 2, 11, seed=0)


def test_fit_bootstrap_makes_one_batched_call_with_the_weights():
    t = 40
    data = ModelData(
        dates=pd.date_range("2024-01-01", periods=t, freq="W-MON"), nodes=["total"], node_category=["total"],
        X=np.ones((t, 1, 1)), y=np.ones((t, 1)), features=[FeatureSpec("tv", "media", "marketing")],
        frequency="weekly", target_name="y",
    )
    calls = []

    def fit(data, settings, *, train_mask, sample_weights, n_models, seed):
        calls.append((train_mask, sample_weights, n_models, seed))
        return "fitted"

    mask = np.arange(t) < 30
    out = fit_bootstrap(data, {"bootstrap": {"replicates": 12, "seed": 5}}, train_mask=mask, fit=fit)
    assert len(calls) == 1
    train_mask, weights, n_models, seed = calls[0]
    assert n_models == 12 and seed == 5 and weights.shape == (12, t)
    assert (weights[:, 30:] == 0).all() and (weights.sum(axis=1) == 30).all()
    assert out.fitted == "fitted" and out.block_length == 8
    np.testing.assert_array_equal(out.weights, weights)


@pytest.mark.parametrize("member_init", [None, "different"])
def test_replicates_fitted_in_batches_match_one_batched_fit(member_init):
    """A memory budget smaller than the replicates splits them into batches (3 + 3 + 2 here);
    every replicate starts where it would have and is fitted alone, so the stacked model is the
    one-batch model, for a shared start and for one start per replicate."""
    from mmm_pipeline.core.config import deep_merge, load_defaults
    from mmm_pipeline.core.model.synthetic import synthetic_model_data

    data, _ = synthetic_model_data(2, n_periods=80, frequency="weekly", n_channels=2)
    settings = deep_merge(load_defaults(), {"training": {"epochs": 40, "min_epochs": 10, "threads": 1},
                                            "bootstrap": {"replicates": 8, "member_init": member_init}})
    whole = fit_bootstrap(data, settings)
    cells = len(data.dates) * len(data.nodes)
    batched = fit_bootstrap(data, deep_merge(settings, {"bootstrap": {"max_batch_cells": 3 * cells}}))
    assert batched.fitted.n_models == 8
    np.testing.assert_array_equal(batched.fitted.model.flat.detach().numpy(), whole.fitted.model.flat.detach().numpy())
    np.testing.assert_array_equal(batched.fitted.predict(data), whole.fitted.predict(data))
    assert batched.fitted.history["total"].shape == whole.fitted.history["total"].shape
    np.testing.assert_array_equal(batched.fitted.history["best_epoch"], whole.fitted.history["best_epoch"])
