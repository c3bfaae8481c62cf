"""ModelData straight from a weekly simulation, skipping the CSV round trip.

Recovery tests and benchmarks fit the simulator's own table many times; going through the
dataset YAML and the loaders each time would test the loaders, not the model.
"""

from typing import Any

from mmm_pipeline.core.features.model_data import FeatureSpec, ModelData


def weekly_simulation_model_data(sim: Any) -> ModelData:
    """Media spend, competitor sales (free shape) and the promo event (linear) of ``simulate_weekly``."""
    frame = sim.tables["weekly.csv"]
    cols = [f"{c}_spend" for c in sim.channels] + ["competitor_sales", "promo_event"]
    feats = [FeatureSpec(c, "media", "marketing") for c in sim.channels]
    feats += [FeatureSpec("competitor_sales", "free", "brand"), FeatureSpec("promo_event", "linear", "temporal")]
    return ModelData(dates=sim.dates, nodes=["total"], node_category=["total"],
                     X=frame[cols].to_numpy(float)[:, None, :], y=sim.target_observed.astype(float),
                     features=feats, frequency="weekly", target_name="revenue", dataset=sim.name)
