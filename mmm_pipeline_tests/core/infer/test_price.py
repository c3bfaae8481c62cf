"""Price results: estimates that end at an elasticity bound are reported as such."""

import numpy as np

from mmm_pipeline.core.config import deep_merge, load_defaults
from mmm_pipeline.core.infer.price import active_bound_lines, bound_side, mark_active_bounds, mark_bounds, model_bounds
from mmm_pipeline.core.infer.returns import elasticity_results
from mmm_pipeline.core.model.synthetic import synthetic_model_data
from mmm_pipeline.core.train.trainer import fit_nam


def test_bound_side_reads_both_ends_and_the_inside():
    assert bound_side(-7.99, (-8.0, 0.0)) == "lower"
    assert bound_side(-0.01, (-8.0, 0.0)) == "upper"
    assert bound_side(-1.2, (-8.0, 0.0)) is None
    assert bound_side(None, (-8.0, 0.0)) is None


def test_marked_intervals_carry_the_bounds_and_a_plain_note():
    marked = mark_bounds({"a": {"mean": -0.51, "lo": -0.6, "hi": -0.5}, "b": {"mean": -1.0, "lo": -1.2, "hi": -0.8}},
                         (-3.0, -0.5))
    assert marked["a"]["at_bound"] == "upper" and marked["a"]["bounds"] == [-3.0, -0.5]
    assert marked["a"]["note"] == "at its upper bound (-0.5): the data would go further"
    assert marked["b"]["at_bound"] is None and "note" not in marked["b"]
    assert mark_bounds({"a": {"mean": 1.0}}, None) == {"a": {"mean": 1.0}}


def test_a_bound_that_binds_at_the_fit_is_reported():
    """True elasticity -1.66 (the fit finds -1.5 unbounded); a band of [-0.4, -0.1] must end at its lower bound."""
    data, truth = synthetic_model_data(4, n_periods=120, n_channels=1)
    assert float(np.mean(truth["elasticity"]["price_0"])) < -1.0
    cfg = deep_merge(load_defaults(), {"training": {"epochs": 80, "threads": 1},
                                       "model": {"elasticity_bounds": {"decreasing": [-0.4, -0.1]}}})
    fitted = fit_nam(data, cfg)
    marked = mark_active_bounds(elasticity_results(fitted, data, cfg), model_bounds(fitted))
    entry = marked["price_0"][data.nodes[0]]
    assert entry["at_bound"] == "lower", entry
    assert active_bound_lines(marked) == [f"price_0 for {data.nodes[0]}: at its lower bound (-0.4): the data would go further"]
    assert "at_bound" not in marked[data.channel_names[0]][data.nodes[0]]

