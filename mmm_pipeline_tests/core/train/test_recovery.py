"""Parameter recovery on simulated data with known truth (the simulator's, not the model's own form).

Weekly single market: channel shares of media contribution within 5 percentage points and
adstock decays within 0.15 of the truth. Daily multi-category retailer (the embedded default
dataset, built by the real ingestion and feature code): own-price elasticity within 0.3 of
the truth for every category. benchmarks/recovery.py runs the same study over many seeds.
"""

import json

import numpy as np
import pytest
import torch

from mmm_pipeline.core.config import PROJECT_ROOT, load_dataset_config, load_defaults
from mmm_pipeline.core.data.simulator import simulate_weekly
from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.features.simulated import weekly_simulation_model_data
from mmm_pipeline.core.train.trainer import fit_nam

torch.set_num_threads(1)


def weekly_model_data(seed: int) -> tuple[ModelData, dict]:
    sim = simulate_weekly(seed)
    return weekly_simulation_model_data(sim), sim.truth


@pytest.mark.parametrize("seed", [1, 2])
def test_weekly_channel_shares_and_decays_are_recovered(seed):
    data, truth = weekly_model_data(seed)
    fitted = fit_nam(data, load_defaults())
    summary = fitted.channel_summary(data).set_index("channel")
    for channel in data.channel_names:
        true = truth["media"][channel]
        share_err = abs(summary.loc[channel, "share"] - true["share_of_media"])
        decay_err = abs(summary.loc[channel, "decay"] - true["adstock"]["decay"])
        assert share_err < 0.05, f"{channel}: share {summary.loc[channel, 'share']:.3f} vs {true['share_of_media']:.3f}"
        assert decay_err < 0.15, f"{channel}: decay {summary.loc[channel, 'decay']:.2f} vs {true['adstock']['decay']:.2f}"


def test_daily_own_price_elasticity_is_recovered_for_every_category():
    from mmm_pipeline.core.data.modeling_table import load_dataset
    from mmm_pipeline.core.features.build import build_model_data

    config = load_dataset_config("retail_daily")
    truth_path = PROJECT_ROOT / "data" / "retail_daily" / "truth.json"
    if not truth_path.is_file():
        pytest.skip("data/retail_daily has not been generated (python -m mmm_pipeline simulate retail_daily)")
    truth = json.loads(truth_path.read_text())["elasticity"]["own_price"]["by_category"]
    data = build_model_data(load_dataset(config).table, config)
    fitted = fit_nam(data, config.settings)
    e = fitted.elasticity("price", data)[0]
    cats = np.asarray(data.node_category)
    for category, true in truth.items():
        est = float(e[cats == category].mean())
        assert abs(est - true) < 0.3, f"{category}: own-price elasticity {est:.2f} vs true {true:.2f}"
