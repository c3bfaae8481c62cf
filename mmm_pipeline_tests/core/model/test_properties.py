"""Properties that must hold for ANY parameters, not just trained ones (hypothesis over random weights)."""

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmm_pipeline.core.config import deep_merge, load_defaults
from mmm_pipeline.core.features.model_data import FeatureSpec, ModelData
from mmm_pipeline.core.infer.decomposition import forward_prediction
from mmm_pipeline.core.model.diagnostics import feature_log_derivative
from mmm_pipeline.core.model.fitted import FittedNAM
from mmm_pipeline.core.model.synthetic import synthetic_model_data
from mmm_pipeline.core.train.trainer import fit_nam

torch.set_num_threads(1)
DATA, _ = synthetic_model_data(8, n_periods=60, nodes=("a", "b", "c"), categories=("X", "Y"), n_channels=2)
ONE_EPOCH = {"training": {"epochs": 2, "min_epochs": 1}}


def _skeleton(scale: str) -> FittedNAM:
    return fit_nam(DATA, deep_merge(load_defaults(), {**ONE_EPOCH, "model": {"target_scale": scale}}), n_models=2)


SKELETONS = {"level": _skeleton("level"), "log": _skeleton("log")}


def _randomised(scale: str, seed: int, spread: float) -> FittedNAM:
    fitted = SKELETONS[scale]
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        fitted.model.flat.copy_(torch.randn(fitted.model.flat.shape, generator=gen) * spread)
    return fitted


def _float32_tolerance(fitted: FittedNAM, network: np.ndarray) -> np.ndarray:
    """``[K, T, N]`` what float32 sums allow: 1e-5 of the summed |terms| of eta, in revenue units.

    Random parameters make terms of hundreds that cancel, so a tolerance on the prediction
    alone would be too tight; on the log scale an error in eta is a relative error of the level.
    """
    model = fitted.model
    with torch.no_grad():
        out = model(fitted.inputs(DATA))
        terms = (model.feature_contributions(out).abs().sum(-1) + out.bias.abs().unsqueeze(1)).double().numpy()
    unit = network if model.cfg.target_scale == "log" else model.scalers.target_mean[None, None, :]
    return 1e-5 * terms * np.abs(unit)


@given(st.integers(0, 10_000), st.floats(0.1, 2.0), st.sampled_from(["level", "log"]))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_contributions_sum_to_the_forward_pass_for_random_parameters(seed, spread, scale):
    fitted = _randomised(scale, seed, spread)
    dec = fitted.decompose(DATA)
    assert np.all(np.isfinite(dec.contributions))
    network = forward_prediction(fitted, DATA)  # eta from the network, none of decompose's code
    # plus a millionth of the node's mean level: random weights can drive exp(eta) to 1e-11, where
    # float32 rounding of eta alone exceeds any relative tolerance and no number a reader sees moves
    floor = 1e-6 * fitted.model.scalers.target_mean[None, None, :]
    np.testing.assert_array_less(np.abs(dec.base + dec.contributions.sum(-1) - network),
                                 _float32_tolerance(fitted, network) + floor)
    np.testing.assert_allclose(sum(dec.base_parts.values()), dec.base, rtol=1e-10)


@given(st.integers(0, 10_000), st.floats(0.1, 3.0))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_constraints_hold_for_random_parameters(seed, spread):
    fitted = _randomised("level", seed, spread)
    assert all(v == 0.0 for v in fitted.constraint_violation_rates(DATA).values())
    # the promise is about the curve's slope (an elasticity also divides by the prediction,
    # whose sign random parameters do not fix)
    inputs = fitted.inputs(DATA)
    price, _ = feature_log_derivative(fitted.model, inputs, DATA.feature_index("price_0"))
    discount, _ = feature_log_derivative(fitted.model, inputs, DATA.feature_index("discount_0"))
    assert torch.all(price <= 1e-7) and torch.all(discount >= -1e-7)


@given(st.integers(0, 10_000))
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_checkpoints_round_trip_for_random_parameters(tmp_path_factory, seed):
    fitted = _randomised("level", seed, 1.0)
    path = fitted.save(tmp_path_factory.mktemp("ckpt") / "m.pt")
    loaded = FittedNAM.load(path)
    assert torch.equal(loaded.model.flat, fitted.model.flat)
    np.testing.assert_array_equal(loaded.predict(DATA), fitted.predict(DATA))


def test_a_channel_with_no_effect_is_reported_not_dropped():
    rng = np.random.default_rng(0)
    ghost = np.where(rng.random(len(DATA.dates)) < 0.5, rng.uniform(1e3, 5e3, len(DATA.dates)), 0.0)
    X = np.concatenate([DATA.X, np.repeat(ghost[:, None, None], 3, axis=1)], axis=2)
    data = ModelData(dates=DATA.dates, nodes=DATA.nodes, node_category=DATA.node_category, X=X, y=DATA.y,
                     features=[*DATA.features, FeatureSpec("ghost", "media", "marketing")], frequency="weekly",
                     target_name="sales")
    fitted = fit_nam(data, load_defaults())
    with torch.no_grad():  # pin the ghost's amplitude at zero, as a fit with no evidence would
        fitted.model.views()["media.amp_cat"][..., 2] = -30.0
    summary = fitted.channel_summary(data)
    assert "ghost" in set(summary["channel"])
    flags = fitted.binding_constraints(data)
    ghost_flags = flags[(flags.feature == "ghost") & (flags.constraint == "effect_near_zero")]
    assert len(ghost_flags) == 1 and "not identified" in ghost_flags.note.iloc[0]
