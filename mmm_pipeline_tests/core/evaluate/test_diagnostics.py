"""Residual diagnostics detect what they claim to, and sanity checks flag implausible models."""

import json

import numpy as np
import pandas as pd
import pytest

from mmm_pipeline.core.evaluate import diagnostics, sanity


def frame(resid: np.ndarray, predicted: np.ndarray | None = None, nodes: int = 1) -> pd.DataFrame:
    n = len(resid) // nodes
    predicted = np.full(len(resid), 100.0) + np.arange(len(resid)) % 7 if predicted is None else predicted
    return pd.DataFrame({
        "date": np.tile(pd.date_range("2020-01-01", periods=n, freq="D"), nodes),
        "node": np.repeat([f"n{i}" for i in range(nodes)], n),
        "actual": predicted + resid, "predicted": predicted,
    })


def test_white_noise_looks_clean():
    rng = np.random.default_rng(0)
    d = diagnostics.residual_diagnostics(frame(rng.normal(size=400)))
    assert 1.7 < d.durbin_watson < 2.3
    assert d.normality_p > 0.01 and d.breusch_pagan_p > 0.01
    assert max(abs(a) for a in d.acf) < 0.2
    assert d.notes == []
    json.dumps(d.to_dict())


def test_autocorrelated_residuals_lower_durbin_watson_and_raise_acf():
    rng = np.random.default_rng(1)
    e = np.zeros(600)
    for t in range(1, 600):
        e[t] = 0.8 * e[t - 1] + rng.normal()
    d = diagnostics.residual_diagnostics(frame(e, nodes=2))  # two nodes of 300: per-node series
    assert d.durbin_watson < 0.6  # DW ~ 2(1 - rho)
    assert d.acf[0] == pytest.approx(0.8, abs=0.1)
    assert any("serially correlated" in n for n in d.notes)


def test_heteroscedastic_and_heavy_tailed_residuals_are_flagged():
    rng = np.random.default_rng(2)
    pred = np.linspace(10, 1000, 500)
    d = diagnostics.residual_diagnostics(frame(rng.normal(size=500) * pred / 50, predicted=pred))
    assert d.breusch_pagan_p < 1e-3
    heavy = diagnostics.residual_diagnostics(frame(rng.standard_t(2, size=500)))
    assert heavy.normality_p < 1e-3


def test_too_few_residuals_are_rejected_and_plot_is_png():
    with pytest.raises(ValueError, match="too few"):
        diagnostics.residual_diagnostics(frame(np.ones(4)))
    png = diagnostics.residual_plot(frame(np.random.default_rng(3).normal(size=60), nodes=2), title="t")
    assert png[:4] == b"\x89PNG"


def test_price_elasticity_range():
    ok = sanity.check_price_elasticity({"a": -1.2, "b": -0.8}, (-3.0, -0.5))
    assert ok.passed
    passed, message, meta = sanity.check_price_elasticity({"a": -1.2, "b": 0.3}, (-3.0, -0.5))
    assert not passed and "b 0.30" in message and meta["outside"] == {"b": 0.3}


def test_media_share_range():
    assert sanity.check_media_share(25.0, 100.0, (0.1, 0.4)).passed
    result = sanity.check_media_share(55.0, 100.0, (0.1, 0.4))
    assert not result.passed and "55.0% is above" in result.message
    assert sanity.check_media_share(5.0, 100.0, (0.1, 0.4)).metadata["share"] == pytest.approx(0.05)


def test_diminishing_returns_accepts_s_curves_and_rejects_convex_tails():
    x = np.linspace(0, 10, 101)
    hill = x**2 / (4 + x**2)  # S-shaped: accelerates to the inflection, then saturates
    assert sanity.check_diminishing_returns("tv", x, hill).passed
    assert sanity.check_diminishing_returns("tv", x, np.log1p(x)).passed
    bad = np.where(x < 5, np.sqrt(x), np.sqrt(5) + (x - 5) ** 2)  # concave, then convex
    result = sanity.check_diminishing_returns("radio", x, bad)
    assert not result.passed and "rises again" in result.message
    with pytest.raises(ValueError, match="strictly increasing"):
        sanity.check_diminishing_returns("tv", x[::-1], hill)


def test_a_curve_convex_over_the_whole_grid_is_not_diminishing():
    x = np.linspace(0, 10, 51)
    assert not sanity.check_diminishing_returns("tv", x, x**2).passed
    assert sanity.check_diminishing_returns("tv", x, 3 * x).passed  # linear: marginal never rises


def test_biased_predictions_are_noted():
    rng = np.random.default_rng(4)
    d = diagnostics.residual_diagnostics(frame(rng.normal(size=300) + 1.0))
    assert d.mean_residual == pytest.approx(1.0, abs=0.2)
    assert any("biased" in n for n in d.notes)


def test_sanity_checks_on_a_fitted_nam():
    """Hill/logistic saturation after adstock must show diminishing returns for any weights."""
    from mmm_pipeline.core.config import deep_merge, load_defaults
    from mmm_pipeline.core.model.synthetic import synthetic_model_data
    from mmm_pipeline.core.train.trainer import fit_nam

    data, _ = synthetic_model_data(2, n_periods=60, n_channels=2)
    cfg = deep_merge(load_defaults(), {"training": {"epochs": 20, "threads": 1}})
    results = sanity.sanity_checks(fit_nam(data, cfg), data, cfg, grid_points=21)
    assert set(results) == {"price_elasticity:price_0", "media_share", "diminishing_returns:media_0",
                            "diminishing_returns:media_1"}
    assert results["diminishing_returns:media_0"].passed and results["diminishing_returns:media_1"].passed
    share = results["media_share"].metadata["share"]
    assert 0.0 < share < 1.0
    assert results["price_elasticity:price_0"].metadata["bounds"] == [-8.0, 0.0]
