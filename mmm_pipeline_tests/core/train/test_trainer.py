"""fit_nam: argument checks, determinism, strategies, early stopping, pooling and the loss terms."""

import copy

import numpy as np
import pytest
import torch

from mmm_pipeline.core.config import deep_merge, load_defaults
from mmm_pipeline.core.features.model_data import FeatureSpec
from mmm_pipeline.core.model.features import resolve_features
from mmm_pipeline.core.model.layout import ParamLayout
from mmm_pipeline.core.model.synthetic import synthetic_model_data
from mmm_pipeline.core.train.errors import InsufficientDataError
from mmm_pipeline.core.train.strategies import Schedule, phases
from mmm_pipeline.core.train.trainer import fit_nam

torch.set_num_threads(1)


def quick(**overrides) -> dict:
    base = deep_merge(load_defaults(), {"training": {"epochs": 80, "min_epochs": 30, "patience": 30}})
    return deep_merge(base, overrides)


@pytest.fixture(scope="module")
def small():
    return synthetic_model_data(4, n_periods=90, n_channels=2)[0]


@pytest.fixture(scope="module")
def hier():
    return synthetic_model_data(6, n_periods=90, nodes=("a", "b", "c", "d"), categories=("X", "Y"), n_channels=2)[0]


def test_same_settings_data_and_seed_give_the_same_model(small):
    a = fit_nam(small, quick(), seed=3)
    b = fit_nam(small, quick(), seed=3)
    assert torch.equal(a.model.flat, b.model.flat)
    np.testing.assert_array_equal(a.predict(small), b.predict(small))
    c = fit_nam(small, quick(), seed=4)
    assert not torch.equal(a.model.flat, c.model.flat)


def test_too_few_periods_is_refused_before_any_training():
    data, _ = synthetic_model_data(0, n_periods=8, n_channels=3)
    with pytest.raises(InsufficientDataError, match="too few periods"):
        fit_nam(data, quick())


def test_a_training_window_too_short_for_the_model_is_refused(small):
    with pytest.raises(InsufficientDataError, match="too few periods"):
        fit_nam(small, quick(), train_mask=np.arange(len(small.dates)) < 8)


def test_bad_arguments_are_rejected_with_what_to_fix(small):
    t = len(small.dates)
    with pytest.raises(ValueError, match="train_mask must be a boolean array"):
        fit_nam(small, quick(), train_mask=np.ones(t - 1, bool))
    with pytest.raises(ValueError, match="sample_weights must have shape"):
        fit_nam(small, quick(), sample_weights=np.ones((2, t + 1)))
    with pytest.raises(ValueError, match=">= 0"):
        fit_nam(small, quick(), sample_weights=-np.ones((1, t)))
    with pytest.raises(ValueError, match="n_models=3"):
        fit_nam(small, quick(), sample_weights=np.ones((2, t)), n_models=3)
    with pytest.raises(ValueError, match="zero total sample weight"):
        fit_nam(small, quick(), sample_weights=np.vstack([np.ones(t), np.zeros(t)]))
    with pytest.raises(ValueError, match="pooling.mode"):
        fit_nam(small, quick(model={"pooling": {"mode": "average"}}))
    with pytest.raises(ValueError, match="roas_priors"):
        fit_nam(small, quick(model={"roas_priors": {"radio": [1, 2]}}))


def test_missing_values_are_reported_with_feature_and_dates(small):
    bad = synthetic_model_data(4, n_periods=90, n_channels=2)[0]
    bad.X[5, 0, 2] = np.nan
    with pytest.raises(ValueError, match=r"price_0.*2021-02-08"):
        fit_nam(bad, quick())


def test_train_mask_excludes_later_periods_and_scalers_ignore_them(small):
    mask = np.arange(len(small.dates)) < 60
    fitted = fit_nam(small, quick(), train_mask=mask)
    assert fitted.meta["train_end"] == str(small.dates[59].date())
    full_scale = fit_nam(small, quick()).model.scalers.target_mean
    assert not np.allclose(fitted.model.scalers.target_mean, full_scale)
    assert fitted.predict(small).shape[1] == len(small.dates)  # predicts beyond the training window


def test_best_weights_are_restored_per_member(small):
    w = np.ones((2, len(small.dates)))
    w[1, :40] = 0.0  # member 1 sees a different series: its best epoch differs
    fitted = fit_nam(small, quick(training={"epochs": 150, "validation_fraction": 0.1}), sample_weights=w)
    h = fitted.history
    best = h["best_epoch"]
    for k in range(2):
        val = h["val"][:, k]
        settled = val[30:]
        assert val[best[k]] == pytest.approx(np.nanmin(settled))
    assert h["fit"].shape[1] == 2 and np.all(np.isfinite(h["fit"][:, 0]))


@pytest.mark.parametrize("strategy", ["coordinate", "block", "hybrid"])
def test_every_strategy_trains_the_model(small, strategy):
    fitted = fit_nam(small, quick(training={"strategy": strategy, "epochs": 120, "validation_fraction": 0.0}))
    fit = fitted.history["fit"][:, 0]
    assert fit[-1] < 0.5 * fit[0]


def test_coordinate_schedule_trains_one_feature_at_a_time(small):
    feats = resolve_features(small, {})
    lay = ParamLayout()
    lay.add("bias", (1,))
    lay.add("w", (len(feats),), list(range(len(feats))), 0)
    sched = Schedule("coordinate", 100, feats, lay.owners(), [0.2, 0.3, 0.5], 5)
    m0, m5 = sched.mask(0).numpy(), sched.mask(5).numpy()
    assert m0[0] and m5[0]  # the intercept always trains
    assert m0[1:].sum() == 1 and m5[1:].sum() == 1 and not np.array_equal(m0, m5)
    hybrid = phases("hybrid", 100, [0.2, 0.3, 0.5])
    assert [(p.name, p.start, p.end) for p in hybrid] == [("coordinate", 0, 20), ("block", 20, 50), ("joint", 50, 100)]


def test_elasticity_bounds_pull_the_price_curve_into_the_allowed_range(small):
    unbounded = {"elasticity_bounds": {"decreasing": None}}
    free = fit_nam(small, quick(model=unbounded, training={"epochs": 150}))
    e_free = float(free.elasticity("price_0", small).mean())
    lo, hi = e_free - 1.6, e_free - 1.3  # a range that excludes what the data say
    bounded = fit_nam(small, quick(model={**unbounded, "elasticity_bounds": {"price_0": [lo, hi]}},
                                   training={"epochs": 150}))
    e_b = float(bounded.elasticity("price_0", small).mean())
    assert lo - 0.1 < e_b < hi + 0.1, f"elasticity {e_b:.2f} outside [{lo:.2f}, {hi:.2f}] (free fit: {e_free:.2f})"
    penalty = bounded.history["elasticity"][:, 0]
    assert penalty[-1] < 0.05 * penalty[penalty > 0].max()
    binding = bounded.binding_constraints(small)
    assert "elasticity_bound" in set(binding["constraint"]), "a bound that holds the estimate away from the data must be reported"


def test_roas_priors_move_channel_roas_toward_the_range(small):
    base = fit_nam(small, quick(training={"epochs": 150}))
    r0 = base.channel_summary(small)["roas"].values
    target = [3 * r0[0], 4 * r0[0]]
    prior = fit_nam(small, quick(model={"roas_priors": {"media_0": target}}, loss={"roas_prior": 10.0},
                                 training={"epochs": 150}))
    r1 = prior.channel_summary(small)["roas"].values
    assert r1[0] > 1.5 * r0[0]


def test_soft_constraints_use_free_networks_with_a_reported_penalty(small):
    fitted = fit_nam(small, quick(model={"constraints": "soft"}, loss={"constraint": 10.0}))
    fams = {f.name: f.family for f in fitted.model.cfg.features}
    assert fams["price_0"] == "free" and fams["discount_0"] == "free"
    pen = fitted.history["constraint"][:, 0]
    pen = pen[np.isfinite(pen)]
    assert pen[0] > 0 and pen[-1] < 0.01 * pen.max()  # free curves start off bending the wrong way
    rates = fitted.constraint_violation_rates(small)
    assert set(rates) >= {"price_0", "discount_0"} and max(rates.values()) == 0.0
    unpenalised = fit_nam(small, quick(model={"constraints": "soft"}, loss={"constraint": 0.0}))
    assert max(unpenalised.constraint_violation_rates(small).values()) > 0.1  # the penalty is what holds them


def test_hard_constraint_penalty_is_reported_as_zero(small):
    fitted = fit_nam(small, quick())
    pen = fitted.history["constraint"][:, 0]
    assert np.nanmax(np.abs(pen)) < 1e-12 and np.isfinite(pen).sum() >= 8


@pytest.fixture(scope="module")
def noisy_node(hier):
    """``hier`` with node a's sales buried in 40% noise: its own data say little about its media."""
    data = copy.deepcopy(hier)
    noise = np.random.default_rng(0).normal(size=len(data.dates))
    data.y[:, 0] = data.y[:, 0] * (1 + 0.4 * noise)
    return data


def _gap_to_category_mate(fitted, data) -> float:
    """Summed |media amplitude of node a - that of node c| (both in category X)."""
    a, c = data.nodes.index("a"), data.nodes.index("c")
    assert data.node_category[a] == data.node_category[c]
    with torch.no_grad():
        amp = fitted.model.media_params().amplitude[0].numpy()  # [N, C]
    return float(np.abs(amp[a] - amp[c]).sum())


@pytest.mark.parametrize("mode, at_most", [("learned", 0.1), ("mix", 0.9)])
def test_pooling_pulls_a_noisy_node_toward_its_category(noisy_node, mode, at_most):
    # without pooling the noisy node's media effect wanders away from its category mate's;
    # learned pooling shrinks the gap almost to nothing, the 70/30 mix by its 30% own share
    unpooled = _gap_to_category_mate(fit_nam(noisy_node, quick(model={"pooling": {"mode": "fixed", "strength": 0.0}})),
                                     noisy_node)
    pooled = _gap_to_category_mate(fit_nam(noisy_node, quick(model={"pooling": {"mode": mode}})), noisy_node)
    assert unpooled > 0.1
    assert pooled < at_most * unpooled, (mode, pooled, unpooled)


def test_strong_fixed_pooling_keeps_nodes_on_their_category_curve(hier):
    fitted = fit_nam(hier, quick(model={"pooling": {"mode": "fixed", "strength": 1e6}}))
    dev = fitted.model.views()["monotone.a_dev"].detach()
    loose = fit_nam(hier, quick(model={"pooling": {"mode": "fixed", "strength": 0.0}}))
    dev_loose = loose.model.views()["monotone.a_dev"].detach()
    assert float(dev.abs().max()) < 0.1 * float(dev_loose.abs().max())


def test_time_terms_are_added_only_when_the_data_has_none(small):
    names = [f.name for f in resolve_features(small, {"fourier_order": 2})]
    assert "trend" in names and "season_sin1" in names
    with_trend = synthetic_model_data(4, n_periods=90, n_channels=1)[0]
    with_trend.features[-1] = FeatureSpec("trend", "free", "temporal")
    names = [f.name for f in resolve_features(with_trend, {"fourier_order": 2})]
    assert names.count("trend") == 1
