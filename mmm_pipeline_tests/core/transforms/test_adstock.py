"""Adstock: normalised lag weights, carry-in history, batched application, gradients."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmm_pipeline.core.data.simulator_truth import adstock as true_adstock
from mmm_pipeline.core.data.simulator_truth import geometric_weights as true_weights
from mmm_pipeline.core.transforms.adstock import (
    adstock_weights,
    apply_adstock,
    delayed_weights,
    geometric_weights,
    lag_tensor,
    weibull_weights,
)

torch.set_num_threads(1)


@given(st.floats(0.0, 0.95), st.integers(1, 20))
@settings(max_examples=40, deadline=None)
def test_geometric_weights_are_normalised_powers_of_the_decay(decay, l_max):
    w = geometric_weights(torch.tensor([decay], dtype=torch.float64), l_max)[0].numpy()
    assert w.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(w, true_weights(decay, l_max)[0], atol=1e-9)


@given(st.floats(0.05, 0.95), st.floats(0.0, 6.0), st.floats(0.5, 5.0), st.floats(0.2, 8.0))
@settings(max_examples=30, deadline=None)
def test_delayed_and_weibull_weights_sum_to_one_and_peak_where_their_parameters_say(decay, peak, shape, scale):
    d = delayed_weights(torch.tensor([decay], dtype=torch.float64), torch.tensor([peak], dtype=torch.float64), 8)[0]
    w = weibull_weights(torch.tensor([shape], dtype=torch.float64), torch.tensor([scale], dtype=torch.float64), 8)[0]
    assert float(d.sum()) == pytest.approx(1.0, abs=1e-9)
    assert float(w.sum()) == pytest.approx(1.0, abs=1e-9)
    _assert_single_peak(d.numpy(), peak, 0.5)  # delayed: the heaviest lag is the one nearest the peak
    # Weibull: weights are the pdf at lag + 0.5, so the heaviest lag is within one of the pdf's
    # mode (0 for shape <= 1, where the weights only fall)
    mode = scale * ((shape - 1) / shape) ** (1 / shape) - 0.5 if shape > 1 else -0.5
    _assert_single_peak(w.numpy(), float(np.clip(mode, 0.0, 7.0)), 1.0)


def _assert_single_peak(weights: np.ndarray, where: float, within: float) -> None:
    top = int(np.argmax(weights))
    assert abs(top - where) <= within + 1e-9, (weights.round(4), where)
    assert np.all(np.diff(weights[: top + 1]) >= -1e-12) and np.all(np.diff(weights[top:]) <= 1e-12)


def test_adstock_with_carry_in_matches_the_simulator_recursion():
    rng = np.random.default_rng(0)
    history, spend = rng.uniform(0, 5, (6, 3)), rng.uniform(0, 5, (20, 3))
    decay = np.array([0.2, 0.5, 0.8])
    weights = true_weights(decay, 5)
    expected = true_adstock(spend, weights, history)
    lags = lag_tensor(torch.as_tensor(spend), 5, torch.as_tensor(history))
    got = apply_adstock(lags, torch.as_tensor(weights)[None])[0].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    # without history the spend before the first period is zero
    no_hist = apply_adstock(lag_tensor(torch.as_tensor(spend), 5), torch.as_tensor(weights)[None])[0].numpy()
    np.testing.assert_allclose(no_hist, true_adstock(spend, weights), rtol=1e-10)


def test_batched_adstock_gives_each_member_its_own_weights():
    spend = torch.rand(30, 2, dtype=torch.float64)
    raw = torch.tensor([[[-1.0], [0.5]], [[2.0], [-3.0]]], dtype=torch.float64)  # [K=2, C=2, 1]
    bounds = {"decay": (0.0, 0.9)}
    w = adstock_weights("geometric", raw, 6, bounds)
    out = apply_adstock(lag_tensor(spend, 6), w)
    for k in range(2):
        single = apply_adstock(lag_tensor(spend, 6), w[k : k + 1])[0]
        torch.testing.assert_close(out[k], single)


def test_decay_gradient_is_finite_at_the_lower_bound():
    raw = torch.tensor([[[-40.0]]], requires_grad=True)  # decay ~ 0: no carry-over
    w = adstock_weights("geometric", raw, 8, {"decay": (0.0, 0.9)})
    apply_adstock(lag_tensor(torch.rand(10, 1), 8), w).sum().backward()
    assert torch.isfinite(raw.grad).all()
    assert float(w[0, 0, 0].detach()) == pytest.approx(1.0)


def test_unknown_adstock_form_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match="geometric"):
        adstock_weights("exponential", torch.zeros(1, 1, 1), 4, {"decay": (0.0, 0.9)})
