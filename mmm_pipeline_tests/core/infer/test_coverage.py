"""The simulation-based coverage check: data simulated from the fitted model, refitted, counted."""

import numpy as np
import torch

from mmm_pipeline.core.config import deep_merge, load_defaults
from mmm_pipeline.core.data.simulator import simulate_weekly
from mmm_pipeline.core.features.simulated import weekly_simulation_model_data
from mmm_pipeline.core.infer.coverage import _ar1_noise, _noise_model, simulated_coverage
from mmm_pipeline.core.train.trainer import fit_nam

torch.set_num_threads(1)


def test_the_noise_model_reads_back_the_autocorrelation_and_scale_it_was_drawn_with():
    noise = _ar1_noise(np.random.default_rng(0), 4000, np.array([0.6, 0.0]), np.array([2.0, 0.5]))
    phi, sd = _noise_model(noise, np.zeros_like(noise), np.ones(len(noise), dtype=bool))
    np.testing.assert_allclose(phi, [0.6, 0.0], atol=0.05)
    np.testing.assert_allclose(sd, [2.0, 0.5], rtol=0.08)


def test_intervals_cover_the_model_they_were_simulated_from_on_an_informative_design():
    data = weekly_simulation_model_data(simulate_weekly(seed=2, n_weeks=156))
    settings = deep_merge(load_defaults(), {"training": {"epochs": 200}})
    mask = np.ones(len(data.dates), dtype=bool)
    point = fit_nam(data, settings, train_mask=mask)
    result = simulated_coverage(point, data, settings, mask, simulations=3, replicates=12, seed=5)
    assert set(result.by_channel) == set(data.channel_names)
    assert result.coverage >= 0.7
    assert result.label().startswith("95% interval (measured coverage") and "3 simulations" in result.label()
