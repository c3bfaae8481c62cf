"""The fitted NAM: exact decomposition, batched members, outputs in business units, checkpoints."""

import numpy as np
import pytest
import torch

from mmm_pipeline.core.config import deep_merge, load_defaults
from mmm_pipeline.core.infer.decomposition import forward_prediction
from mmm_pipeline.core.model.fitted import FittedNAM
from mmm_pipeline.core.model.scaling import prepare_inputs
from mmm_pipeline.core.model.synthetic import synthetic_model_data
from mmm_pipeline.core.train.trainer import fit_nam

torch.set_num_threads(1)
NODES = ("a1", "a2", "b1", "b2", "b3")


def quick_settings(**overrides) -> dict:
    base = load_defaults()
    base = deep_merge(base, {"training": {"epochs": 120, "min_epochs": 40, "patience": 40}})
    return deep_merge(base, overrides)


@pytest.fixture(scope="module")
def hier_data():
    data, truth = synthetic_model_data(3, n_periods=104, nodes=NODES, categories=("A", "B"), n_channels=2)
    return data, truth


@pytest.fixture(scope="module")
def fitted(hier_data):
    data, _ = hier_data
    return fit_nam(data, quick_settings(), n_models=3, seed=11)


def test_decomposition_adds_up_to_the_networks_own_forward_pass(fitted, hier_data):
    # predict() is base + contributions by definition; the check that means something is
    # against eta, which the network computes without any of the decomposition's code
    data, _ = hier_data
    dec = fitted.decompose(data)
    assert dec.contributions.shape == (3, 104, len(NODES), len(data.features))
    network = forward_prediction(fitted, data)
    assert network.shape == (3, 104, len(NODES))
    np.testing.assert_allclose(dec.base + dec.contributions.sum(-1), network, rtol=2e-6, atol=1e-6 * data.y.max())
    np.testing.assert_allclose(sum(dec.base_parts.values()), dec.base, rtol=1e-12)


def test_non_media_contributions_are_centred_on_the_training_periods(fitted, hier_data):
    data, _ = hier_data
    dec = fitted.decompose(data)
    non_media = [i for i, f in enumerate(data.features) if f.kind != "media"]
    np.testing.assert_allclose(dec.contributions[..., non_media].mean(1), 0.0, atol=1e-6 * data.y.mean())


def test_training_fast_path_matches_the_detailed_forward_pass(fitted, hier_data):
    data, _ = hier_data
    m = fitted.model
    inputs = prepare_inputs(data, m.cfg.features, m.scalers, m.cfg.l_max, "level", dense_operators=True)
    with torch.no_grad():
        fast, slow = m(inputs, detail=False), m(inputs, detail=True)
    torch.testing.assert_close(fast.eta, slow.eta, rtol=1e-5, atol=1e-5)


def test_member_k_predicts_like_the_batch_member(fitted, hier_data):
    data, _ = hier_data
    whole = fitted.predict(data)
    one = fitted.member(1)
    assert one.n_models == 1
    np.testing.assert_allclose(one.predict(data)[0], whole[1], rtol=1e-6)
    assert one.history["fit"].shape[1] == 1


def test_members_of_an_ensemble_differ_but_each_is_a_complete_model(fitted, hier_data):
    data, _ = hier_data
    pred = fitted.predict(data)
    assert not np.allclose(pred[0], pred[1])
    assert np.all(np.isfinite(pred))


def test_members_are_independent_of_each_other(hier_data):
    data, _ = hier_data
    rng = np.random.default_rng(0)
    w = rng.poisson(1.0, (2, len(data.dates))).astype(float)
    s = quick_settings(training={"epochs": 60, "min_epochs": 20})
    batch = fit_nam(data, s, sample_weights=w, seed=5)
    w_other = w.copy()
    w_other[0] = rng.poisson(1.0, len(data.dates))  # change only member 0's data
    other = fit_nam(data, s, sample_weights=w_other, seed=5)
    np.testing.assert_allclose(other.predict(data)[1], batch.predict(data)[1], rtol=1e-6)
    assert not np.allclose(other.predict(data)[0], batch.predict(data)[0], rtol=1e-6)
    # and a batch member is the single fit with its weights: compared after a few steps, because
    # float32 summation order differs between batch sizes and Adam amplifies it over hundreds
    few = quick_settings(training={"epochs": 8, "min_epochs": 1})
    batch, single = (fit_nam(data, few, sample_weights=ws, seed=5) for ws in (w, w[1:2]))
    np.testing.assert_allclose(batch.predict(data)[1], single.predict(data)[0], rtol=1e-3)


def test_channel_summary_reports_every_member_and_channel_in_money(fitted, hier_data):
    data, _ = hier_data
    cs = fitted.channel_summary(data)
    assert len(cs) == 3 * 2
    for col in ("spend", "contribution", "share", "roas", "mroas", "saturation_spend", "mroas_one_spend", "decay",
                "half_saturation", "slope", "amplitude"):
        assert col in cs.columns
    np.testing.assert_allclose(cs.groupby("member")["share"].sum(), 1.0)
    np.testing.assert_allclose(cs["spend"].values[:2], data.spend.sum(0))
    dec = fitted.decompose(data)
    np.testing.assert_allclose(cs["contribution"].values[:2], dec.contributions[0][..., :2].sum(axis=(0, 1)), rtol=1e-5)
    assert np.all(cs["decay"].between(0, 0.9))


def test_response_curve_is_steady_state_and_rises_to_its_saturation(fitted, hier_data):
    data, _ = hier_data
    ch = data.channel_names[0]
    sat = fitted.saturation_params()
    grid = np.linspace(0, 5 * data.spend[:, 0].max(), 200)
    curve = fitted.response_curve(ch, grid, data)
    assert curve.shape == (3, 200) and np.all(curve[:, 0] == 0)
    assert np.all(np.diff(curve, axis=1) >= -1e-9)
    # steady state: spending s every period forever gives the curve value per period
    plan = torch.full((60, 2), 0.0, dtype=torch.float64)
    plan[:, 0] = float(grid[50])
    rev = fitted.media_revenue(torch.zeros(10, 2, dtype=torch.float64), plan, data)
    np.testing.assert_allclose(rev[:, -1].detach().numpy(), curve[:, 50], rtol=1e-4)
    assert np.all(curve[:, -1] <= sat["amplitude"][:, 0] + 1e-6)


def test_media_revenue_is_differentiable_and_uses_the_carry_over(fitted, hier_data):
    data, _ = hier_data
    plan = torch.full((5, 2), float(data.spend.mean()), dtype=torch.float64, requires_grad=True)
    hist = torch.as_tensor(data.spend[-20:])
    rev = fitted.media_revenue(hist, plan, data)
    rev.sum().backward()
    assert rev.shape == (3, 5) and torch.all(plan.grad >= 0) and plan.grad.abs().sum() > 0
    no_hist = fitted.media_revenue(torch.zeros(20, 2, dtype=torch.float64), plan.detach(), data)
    assert torch.all(rev[:, 0] >= no_hist[:, 0])
    per_member = fitted.media_revenue(hist, plan.detach().expand(3, -1, -1), data)
    torch.testing.assert_close(per_member, rev.detach())


def test_adstock_weights_and_saturation_params_have_member_and_channel_axes(fitted):
    w = fitted.adstock_weights()
    assert w.shape == (3, 2, 8)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-6)
    sp = fitted.saturation_params()
    assert {"half_saturation", "slope", "amplitude", "saturation_spend", "decay"} <= set(sp)
    assert all(v.shape == (3, 2) for v in sp.values())


def test_elasticity_of_price_has_a_value_per_member_and_node_and_is_negative(fitted, hier_data):
    data, _ = hier_data
    e = fitted.elasticity("price_0", data)
    assert e.shape == (3, len(NODES)) and np.all(e < 0)
    media_e = fitted.elasticity(data.channel_names[0], data)
    assert np.all(media_e >= 0)
    with pytest.raises(KeyError, match="no feature"):
        fitted.elasticity("nope", data)


def test_by_construction_constraints_are_never_violated(fitted, hier_data):
    data, _ = hier_data
    rates = fitted.constraint_violation_rates(data)
    assert set(rates) >= {"price_0", "discount_0", *data.channel_names}
    assert all(v == 0.0 for v in rates.values())


def test_checkpoint_round_trips_to_identical_predictions(fitted, hier_data, tmp_path):
    data, _ = hier_data
    path = fitted.save(tmp_path / "nam.pt")
    loaded = FittedNAM.load(path)
    np.testing.assert_array_equal(loaded.predict(data), fitted.predict(data))
    np.testing.assert_array_equal(loaded.channel_summary(data)["roas"], fitted.channel_summary(data)["roas"])
    assert loaded.feature_names == fitted.feature_names and loaded.nodes == fitted.nodes
    assert loaded.model.cfg.node_category == fitted.model.cfg.node_category
    np.testing.assert_array_equal(loaded.history["fit"], fitted.history["fit"])
    assert loaded.settings["training"]["epochs"] == 120


def test_loading_something_else_fails_with_a_clear_message(tmp_path):
    bad = tmp_path / "bad.pt"
    torch.save({"format": "other"}, bad)
    with pytest.raises(ValueError, match="not an mmm_pipeline NAM checkpoint"):
        FittedNAM.load(bad)
    with pytest.raises(FileNotFoundError):
        FittedNAM.load(tmp_path / "missing.pt")


def test_data_with_other_nodes_or_features_is_rejected(fitted, hier_data):
    data, _ = hier_data
    other, _ = synthetic_model_data(3, n_periods=30, nodes=("x",), n_channels=2)
    with pytest.raises(ValueError, match="nodes"):
        fitted.predict(other)


@pytest.mark.parametrize("form", ["beta_gamma", "logistic"])
def test_other_saturation_forms_fit_and_report_their_parameters(form):
    data, _ = synthetic_model_data(1, n_periods=80, n_channels=2)
    fitted = fit_nam(data, quick_settings(model={"media": {"saturation": form}}, training={"epochs": 50}))
    sp = fitted.saturation_params()
    expected = {"beta_gamma": {"alpha", "beta", "peak"}, "logistic": {"lam"}}[form]
    assert expected <= set(sp)
    cs = fitted.channel_summary(data)
    if form == "beta_gamma":
        np.testing.assert_allclose(cs["saturation_spend"], sp["peak"].reshape(-1), rtol=1e-6)
    assert all(v == 0.0 for v in fitted.constraint_violation_rates(data).values())


def test_log_target_scale_decomposes_exactly_and_allocates_the_lift():
    data, _ = synthetic_model_data(2, n_periods=80, n_channels=2)
    fitted = fit_nam(data, quick_settings(model={"target_scale": "log"}, training={"epochs": 60}))
    dec = fitted.decompose(data)
    pred = fitted.predict(data)
    np.testing.assert_array_equal(dec.base + dec.contributions.sum(-1), pred)
    m = fitted.model
    inputs = prepare_inputs(data, m.cfg.features, m.scalers, m.cfg.l_max, "log")
    with torch.no_grad():
        eta = m(inputs).eta.double().numpy()
    np.testing.assert_allclose(pred, np.exp(eta) * m.scalers.target_mean, rtol=1e-4)
    cs = fitted.channel_summary(data)
    assert np.all(cs["contribution"] >= 0)


def test_price_curve_is_decreasing_in_raw_price_for_every_node(fitted, hier_data):
    data, _ = hier_data
    prices = np.linspace(data.X[:, :, 2].min(), data.X[:, :, 2].max(), 30)
    curve = fitted.curve("price_0", prices)
    assert curve.shape == (3, len(NODES), 30)
    assert np.all(np.diff(curve, axis=-1) <= 1e-7)
    with pytest.raises(ValueError, match="shaped features"):
        fitted.curve("event_0", prices)
