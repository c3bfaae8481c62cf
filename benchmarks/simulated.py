"""Shared set-up for the benchmark scripts: a simulated weekly dataset through the real pipeline.

The simulation is written to a temporary folder with its dataset YAML and read back through
ingestion and feature building exactly as a user's data would be, so the benchmarks measure
the pipeline, not a hand-built shortcut.
"""

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from mmm_pipeline.core.config import deep_merge, load_dataset_config
from mmm_pipeline.core.data.modeling_table import load_dataset
from mmm_pipeline.core.data.simulator import simulate_weekly, write_simulation
from mmm_pipeline.core.features.build import build_model_data
from mmm_pipeline.core.features.model_data import ModelData


def simulated_weekly(seed: int, overrides: dict[str, Any] | None = None, **sim_kwargs: Any) -> tuple[Any, ModelData, dict]:
    """(simulation, ModelData, merged settings) for ``simulate_weekly(seed)``."""
    sim = simulate_weekly(seed=seed, **sim_kwargs)
    with tempfile.TemporaryDirectory(prefix="mmm_bench_") as tmp:
        folder = Path(tmp)
        write_simulation(sim, folder, dataset_yaml=folder / "dataset.yaml")
        config = load_dataset_config(str(folder / "dataset.yaml"))
        data = build_model_data(load_dataset(config).table, config)
    settings = deep_merge(config.settings, overrides or {})
    return sim, data, settings


def base_revenue(sim: Any, periods: int) -> float:
    """True non-media revenue over the last ``periods`` periods (to express regret as % of revenue)."""
    frame = sim.contributions
    return float((frame["revenue_noiseless"] - frame["media_total"]).to_numpy()[-periods:].sum())


def percent(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:+.2f}%"
