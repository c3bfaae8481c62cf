"""Delayed and Weibull adstock fitted on data simulated with that adstock: the lag shape comes back.

Geometric adstock is recovered in test_recovery.py; the other two forms are options a user
can set (``settings.model.media.adstock``), so each gets data whose true carry-over has its
form, bursty spend that shows the lags, and a fit that must find the decay and the peak (or
the Weibull shape and scale) within a tolerance.
"""

import numpy as np
import pytest
import torch

from mmm_pipeline.core.config import deep_merge, load_defaults
from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.model.synthetic import synthetic_model_data
from mmm_pipeline.core.train.trainer import fit_nam
from mmm_pipeline.core.transforms.adstock import bounded

torch.set_num_threads(1)
L_MAX = 8


def delayed_truth(decay: float, peak: float) -> np.ndarray:
    raw = decay ** ((np.arange(L_MAX) - peak) ** 2)
    return raw / raw.sum()


def weibull_truth(shape: float, scale: float) -> np.ndarray:
    lags = np.arange(L_MAX) + 0.5
    pdf = shape / scale * (lags / scale) ** (shape - 1) * np.exp(-((lags / scale) ** shape))
    return pdf / pdf.sum()


def media_only_data(weights: list[np.ndarray], seed: int = 0, noise: float = 0.01) -> ModelData:
    """Weekly sales = level x (1 + sum of Hill(adstocked spend)) with the given lag weights."""
    data, _ = synthetic_model_data(seed, n_periods=156, n_channels=len(weights), n_decreasing=0, n_increasing=0,
                                   n_free=0, n_linear=0, l_max=L_MAX)
    rng = np.random.default_rng(seed + 100)
    spend = data.X[:, 0, :]  # [T, C]
    lift = np.zeros(len(spend))
    for c, w in enumerate(weights):
        ad = np.convolve(spend[:, c], w)[: len(spend)]
        half = 1.5 * ad[ad > 0].mean()
        lift += 0.3 * ad / (half + ad)
    data.y = (1000.0 * (1 + lift) * (1 + noise * rng.standard_normal(len(spend))))[:, None]
    return data


def fit(data: ModelData, form: str):
    settings = deep_merge(load_defaults(), {"model": {"time_terms": "none",
                                                       "media": {"adstock": form, "l_max": L_MAX}}})
    return fit_nam(data, settings, seed=0)


def raw_adstock(fitted) -> np.ndarray:
    """``[C, 2]`` raw adstock parameters of member 0."""
    with torch.no_grad():
        return fitted.model.views()["media.adstock"][0].double()


@pytest.mark.parametrize("decay, peak", [(0.5, 2.0), (0.3, 4.0)])
def test_delayed_adstock_decay_and_peak_are_recovered(decay, peak):
    fitted = fit(media_only_data([delayed_truth(decay, peak)]), "delayed")
    raw = raw_adstock(fitted)
    est_decay = float(bounded(raw[0, 0], *fitted.model.cfg.media_bounds["decay"]))
    est_peak = float(bounded(raw[0, 1], 0.0, L_MAX - 1.0))
    assert abs(est_decay - decay) < 0.15 and abs(est_peak - peak) < 0.5, (est_decay, est_peak)
    assert np.abs(fitted.adstock_weights()[0, 0] - delayed_truth(decay, peak)).max() < 0.1


@pytest.mark.parametrize("shape, scale", [(2.0, 3.0), (0.8, 2.0)])
def test_weibull_adstock_shape_and_scale_are_recovered(shape, scale):
    fitted = fit(media_only_data([weibull_truth(shape, scale)]), "weibull")
    raw = raw_adstock(fitted)
    est_shape = float(bounded(raw[0, 0], *fitted.model.cfg.media_bounds["weibull_shape"]))
    est_scale = float(bounded(raw[0, 1], 0.1, float(L_MAX)))
    assert abs(est_shape - shape) < 0.25 * shape and abs(est_scale - scale) < 0.25 * scale, (est_shape, est_scale)
    assert np.abs(fitted.adstock_weights()[0, 0] - weibull_truth(shape, scale)).max() < 0.1
