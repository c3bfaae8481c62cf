"""Helpers, not tests: a tiny dataset for Dagster tests: PyMC-Marketing's weekly example copied into a temporary
folder (so tests may corrupt it and the sensor may watch it), with settings that make the
whole graph run in seconds: two walk-forward folds, few epochs, four bootstrap replicates."""

import shutil
from pathlib import Path

import yaml

from mmm_pipeline.core.config import PROJECT_ROOT

SOURCE_YAML = PROJECT_ROOT / "configs" / "datasets" / "pymc_example.yaml"
SOURCE_CSV = PROJECT_ROOT / "data" / "pymc_marketing" / "mmm_example.csv"
TINY_SETTINGS = {
    "model": {"media": {"saturation": "logistic"}, "hidden_units": 4},
    "walk_forward": {"initial_months": 39},  # 41 months of data -> folds 2021-07 and 2021-08
    "training": {"epochs": 25, "patience": 10},
    "bootstrap": {"replicates": 4},
    "baselines": {"models": ["ols"]},
    "optimizer": {"sensitivity": [0.0]},
    # two monthly folds of weekly data: blocks of 4 periods, so the block spread is computable
    "gate": {"min_oos_r2": 0.0, "min_block_periods": 4, "max_block_r2_std": 1.0, "max_block_r2_range": 2.0,
             "min_naive_skill": -10.0, "max_elasticity_cv": 10.0, "max_constraint_violations": 1.0},
    "automation": {"settle_seconds": 5},
}


def write_tiny_dataset(folder: Path, name: str = "tiny", **settings_override) -> Path:
    """Copy the data into ``folder/data`` and write ``folder/<name>.yaml``; returns the YAML path."""
    data_dir = folder / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    if not (data_dir / SOURCE_CSV.name).exists():
        shutil.copy(SOURCE_CSV, data_dir / SOURCE_CSV.name)
    raw = yaml.safe_load(SOURCE_YAML.read_text())
    raw["name"] = name
    raw["truth_file"] = None
    raw["sources"]["main"]["path"] = str(data_dir / SOURCE_CSV.name)
    settings = {**TINY_SETTINGS}
    for key, value in settings_override.items():
        settings[key] = {**settings.get(key, {}), **value} if isinstance(value, dict) else value
    raw["settings"] = settings
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path
