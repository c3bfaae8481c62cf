"""Percentile intervals, the not-identified rule and the smooth quantile weights."""

import numpy as np
import pytest

from mmm_pipeline.core.infer.intervals import (
    Interval,
    curve_band,
    harrell_davis_weights,
    identification,
    interval,
    percentile_bounds,
    probability_positive,
)


def test_percentile_interval_covers_the_central_mass():
    rng = np.random.default_rng(0)
    x = rng.normal(10.0, 2.0, 200_000)
    iv = interval(x, 0.95)
    assert iv.mean == pytest.approx(10.0, abs=0.02)
    assert iv.lo == pytest.approx(10.0 - 1.96 * 2, abs=0.05)
    assert iv.hi == pytest.approx(10.0 + 1.96 * 2, abs=0.05)
    d = iv.to_dict()
    assert set(d) == {"mean", "lo", "hi", "width"} and d["width"] == pytest.approx(iv.hi - iv.lo)
    with pytest.raises(ValueError):
        percentile_bounds(x, level=1.5)


def test_nan_becomes_null_and_bands_are_pointwise():
    assert Interval(float("nan"), 0.0, 1.0).to_dict()["mean"] is None
    band = curve_band(np.array([[0.0, 1.0, 2.0], [0.0, 3.0, 4.0]]))
    assert band["mean"] == [0.0, 2.0, 3.0]
    assert all(lo <= hi for lo, hi in zip(band["lo"], band["hi"]))


@pytest.mark.parametrize(
    "iv, ok, words",
    [
        (Interval(2.0, 1.5, 2.6), True, ""),
        (Interval(0.4, -0.1, 0.9), False, "includes zero"),
        (Interval(2.0, 0.2, 4.5), False, "half-width"),
        (Interval(2.0, 1.0, 3.0), True, ""),  # half-width exactly 50%: identified
        (Interval(float("nan"), 0.0, 1.0), False, "could not be estimated"),
    ],
)
def test_not_identified_rule(iv, ok, words):
    identified, reason = identification(iv, 0.5)
    assert identified is ok
    assert words in reason


def test_harrell_davis_weights_estimate_the_quantile():
    w = harrell_davis_weights(200, 0.2)
    assert w.sum() == pytest.approx(1.0)
    assert (w >= 0).all()
    rng = np.random.default_rng(1)
    estimates = [np.sort(rng.normal(size=200)) @ w for _ in range(400)]
    assert np.mean(estimates) == pytest.approx(-0.8416, abs=0.03)
    assert harrell_davis_weights(1, 0.2).tolist() == [1.0]


def test_probability_positive():
    assert probability_positive(np.array([1.0, -1.0, 2.0, 0.0])) == 0.5
    assert np.isnan(probability_positive(np.array([np.nan])))
