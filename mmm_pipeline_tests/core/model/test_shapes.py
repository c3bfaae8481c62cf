"""Shape networks keep their constraints for ANY weights: monotone, concave, and after interpolation."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mmm_pipeline.core.model.shapes import (
    flat_knot_index,
    hidden_units,
    interpolate,
    knot_curves,
    knot_fraction,
    knot_violations,
    output_weights,
)

torch.set_num_threads(1)
H = 8
weights = arrays(np.float64, (3, 1, 2, H), elements=st.floats(-20, 20, allow_nan=False))  # a, w, b of [N=1, F=2, H]


def _curve(family: str, params: np.ndarray, direction: float, u: torch.Tensor) -> torch.Tensor:
    """The exact network (no knots) at points ``u [P]`` for both features: ``[2, P]``."""
    a, w, b = (torch.as_tensor(p)[None] for p in params)  # [1, 1, 2, H]
    knots = (direction * u).expand(2, -1)
    curves, _ = knot_curves(family, a, w, b, knots)
    return curves[0, 0]


@given(weights, st.sampled_from([1.0, -1.0]))
@settings(max_examples=60, deadline=None)
def test_price_and_discount_curves_are_monotone_for_random_weights(params, direction):
    u = torch.linspace(-6, 6, 400, dtype=torch.float64)
    f = _curve("monotone", params, direction, u)
    steps = torch.diff(f, dim=-1) * direction
    assert torch.all(steps >= -1e-12 * (1 + f.abs().max())), "monotone network moved against its direction"


@given(weights, st.sampled_from([1.0, -1.0]))
@settings(max_examples=60, deadline=None)
def test_concave_curves_have_diminishing_returns_for_random_weights(params, direction):
    u = torch.linspace(-6, 6, 400, dtype=torch.float64)
    f = _curve("concave", params, direction, u)
    assert torch.all(torch.diff(f, dim=-1) * direction >= -1e-10)
    second = torch.diff(f, n=2, dim=-1)
    assert torch.all(second <= 1e-9 * (1 + f.abs().max()))


@given(weights, st.floats(-5, 5), st.floats(0.1, 4))
@settings(max_examples=40, deadline=None)
def test_interpolating_between_knots_keeps_the_curve_monotone(params, lo, width):
    p = 16
    knots = torch.linspace(lo, lo + width, p, dtype=torch.float64)
    curves = _curve("monotone", params, 1.0, knots)[None, None]  # [K=1, N=1, F=2, P]
    u = torch.sort(torch.rand(200, dtype=torch.float64) * (width + 2) + lo - 1).values  # also outside the knots
    u3 = u[:, None, None].expand(-1, 1, 2).contiguous()
    step = torch.full((2,), width / (p - 1), dtype=torch.float64)
    seg = ((u3 - lo) / step).floor().clamp(0, p - 2).long()
    frac = knot_fraction(u3, seg, torch.tensor(lo, dtype=torch.float64), step)
    value, slope = interpolate(curves, frac, flat_knot_index(seg, p), step)
    assert torch.all(torch.diff(value[0, :, 0, :], dim=0) >= -1e-12)
    assert torch.all(slope >= -1e-12)


def test_free_curves_can_go_both_ways():
    a = torch.tensor([[[[1.0, -1.0]]]], dtype=torch.float64)
    w = torch.tensor([[[[3.0, 3.0]]]], dtype=torch.float64)
    b = torch.tensor([[[[3.0, -3.0]]]], dtype=torch.float64)
    f, _ = knot_curves("free", a, w, b, torch.linspace(-3, 3, 50, dtype=torch.float64)[None])
    d = torch.diff(f[0, 0, 0])
    assert (d > 0).any() and (d < 0).any()


def test_violation_check_sees_a_wrong_way_curve():
    curves = torch.tensor([[[[0.0, 1.0, 0.5, 2.0]]]])
    mono, conc = knot_violations(curves, torch.tensor([1.0]), torch.tensor([True]))
    assert float(mono.max()) == 0.5 and float(conc.max()) > 0


def test_output_weights_are_positive_only_for_constrained_families():
    a = torch.tensor([-3.0, 0.0, 3.0])
    assert torch.all(output_weights("monotone", a) > 0)
    assert torch.equal(output_weights("free", a), a)
    assert hidden_units("monotone", torch.zeros(1, 1, 1, 2), torch.zeros(1, 1, 1, 2), torch.zeros(1, 3)).shape == (1, 1, 1, 3, 2)
