"""Saturation curves have the shapes the docs promise, for any parameters in their bounds."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmm_pipeline.core.transforms.saturation import (
    beta_gamma_capped,
    beta_gamma_uncapped,
    hill,
    logistic,
    resolve_bounds,
    saturate,
    saturation_point,
    shape_params,
)

torch.set_num_threads(1)
GRID = torch.linspace(0.0, 20.0, 2001, dtype=torch.float64)


@given(st.floats(0.1, 5.0), st.floats(0.5, 3.0))
@settings(max_examples=50, deadline=None)
def test_hill_is_increasing_from_zero_and_half_at_k(half, slope):
    y = hill(GRID, torch.tensor(half, dtype=torch.float64), torch.tensor(slope, dtype=torch.float64))
    assert float(y[0]) == 0.0
    assert torch.all(torch.diff(y) >= 0)
    assert float(y.max()) < 1.0
    at_k = hill(torch.tensor([half], dtype=torch.float64), torch.tensor(half, dtype=torch.float64), torch.tensor(slope))
    assert float(at_k) == pytest.approx(0.5)


@given(st.floats(0.3, 5.0), st.floats(0.2, 10.0))
@settings(max_examples=50, deadline=None)
def test_beta_gamma_peaks_at_alpha_over_beta_and_the_capped_curve_never_falls(alpha, peak):
    a, p = torch.tensor(alpha, dtype=torch.float64), torch.tensor(peak, dtype=torch.float64)
    beta = alpha / peak
    raw = beta_gamma_uncapped(GRID, p, a)
    # the textbook form a x^alpha e^(-beta x) is the same curve up to its height
    textbook = GRID**alpha * torch.exp(-beta * GRID)
    mask = GRID > 0
    ratio = (raw[mask] / textbook[mask]).numpy()
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-8)
    top = int(torch.argmax(raw))
    assert float(GRID[top]) == pytest.approx(peak, abs=0.011)
    at_peak = beta_gamma_uncapped(p.reshape(1), p, a)
    assert float(at_peak) == pytest.approx(1.0) and float(raw.max()) <= 1.0 + 1e-12
    capped = beta_gamma_capped(GRID, p, a)
    assert torch.all(torch.diff(capped) >= -1e-15)
    assert torch.all(capped[GRID >= peak] == 1.0)
    torch.testing.assert_close(capped[GRID <= peak], raw[GRID <= peak])


def test_logistic_is_the_pymc_form():
    lam = torch.tensor(3.0, dtype=torch.float64)
    x = GRID[:50]
    expected = (1 - torch.exp(-lam * x)) / (1 + torch.exp(-lam * x))
    torch.testing.assert_close(logistic(x, lam), expected)


@pytest.mark.parametrize("form", ["hill", "beta_gamma", "logistic"])
def test_saturation_point_is_where_the_curve_reaches_ninety_percent_or_the_peak(form):
    bounds = resolve_bounds({})
    raw = torch.randn(3, 4, 2 if form != "logistic" else 1, dtype=torch.float64)
    params = shape_params(form, raw, bounds)
    x_sat = saturation_point(form, params)  # [K, C]
    value = saturate(form, x_sat.unsqueeze(1), params)[:, 0]
    expected = 1.0 if form == "beta_gamma" else 0.9
    torch.testing.assert_close(value, torch.full_like(value, expected))


@pytest.mark.parametrize("form", ["hill", "beta_gamma", "logistic"])
def test_parameters_stay_inside_bounds_and_gradients_stay_finite_at_zero_spend(form):
    bounds = resolve_bounds({})
    raw = (torch.randn(2, 3, 2 if form != "logistic" else 1) * 30).requires_grad_(True)  # extreme raw values
    params = shape_params(form, raw, bounds)
    for name, v in params.items():
        key = {"half_saturation": "hill_half_bounds", "slope": "hill_slope_bounds", "peak": "beta_gamma_peak_bounds",
               "alpha": "beta_gamma_alpha_bounds", "lam": "logistic_lambda_bounds"}[name]
        lo, hi = bounds[key]
        assert torch.all(v >= lo) and torch.all(v <= hi)
    x = torch.tensor([[[0.0, 0.0, 0.0], [0.5, 1.0, 2.0]]]).expand(2, -1, -1)
    out = saturate(form, x, params)
    out.sum().backward()
    assert torch.all(out[:, 0] == 0)
    assert torch.isfinite(raw.grad).all()


def test_bad_bounds_are_rejected_with_the_setting_name():
    with pytest.raises(ValueError, match="hill_half_bounds"):
        resolve_bounds({"hill_half_bounds": [5.0, 0.1]})


def test_hill_gradients_match_finite_differences():
    x = torch.tensor([[[0.2, 0.3, 1.0], [2.0, 0.7, 5.0]]], dtype=torch.float64, requires_grad=True)  # [1, 2, 3]
    half = torch.tensor([[[0.5, 1.0, 2.0]]], dtype=torch.float64, requires_grad=True)
    slope = torch.tensor([[[0.7, 1.5, 2.5]]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(hill, (x, half, slope))
    # at zero spend the curve is 0 and every gradient is finite (0 for the parameters)
    zero = torch.zeros(1, 2, 3, dtype=torch.float64, requires_grad=True)
    y = hill(zero, half, slope)
    y.sum().backward()
    assert torch.all(y == 0) and torch.all(torch.isfinite(zero.grad)) and float(slope.grad.abs().sum()) == 0.0
