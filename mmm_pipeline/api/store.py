"""Reading a dataset's champion back from the model store: results, checkpoints and data.

The pipeline leaves everything a served model needs in ``outputs/<dataset>/``
(:mod:`mmm_pipeline.core.registry`): ``registry.json`` names the champion, its results folder
is archived in ``champions/<version>/`` and its checkpoints in ``models/<model version>/`` -
``model.pt`` (the final model) and ``replicates.pt`` (the bootstrap replicates every interval
comes from). The data are rebuilt from the dataset's own files with the pipeline's functions,
so "current spend" and the history a plan's carry-over starts from are the newest the files hold.

Nothing is refitted here: a champion from before replicates were stored is served from its
final model alone, and :attr:`Champion.interval_note` says what that means for intervals.
"""

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmm_pipeline.core.config import PROJECT_ROOT, ConfigError, DatasetConfig, list_datasets, load_dataset_config
from mmm_pipeline.core.data.modeling_table import load_dataset
from mmm_pipeline.core.features.build import build_model_data
from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.features.roles import media_view
from mmm_pipeline.core.model.fitted import FittedNAM
from mmm_pipeline.core.registry import REGISTRY_FILE, ModelRegistry, VersionRecord
from mmm_pipeline.core.results import JSON_FILES
from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

MODEL_FILE = "model.pt"
REPLICATES_FILE = "replicates.pt"


class NotFound(LookupError):
    """The dataset is not configured, or it has no promoted model yet."""


@dataclass
class Champion:
    """One dataset's promoted model, loaded: what every API answer is computed from."""

    config: DatasetConfig
    record: VersionRecord
    results: dict[str, Any]  # the champion's results-folder JSON files by file name
    fitted: FittedNAM  # the replicates when stored, else the final model
    point: FittedNAM  # the one model whose features match ``fitted`` (objective "point")
    data: ModelData  # the dataset's data as ``fitted`` reads it
    has_replicates: bool

    @property
    def interval_note(self) -> str:
        """Where the intervals of on-request answers come from, in words."""
        if self.has_replicates:
            return f"intervals across the {self.fitted.n_models} bootstrap replicates of the champion"
        return ("this champion was stored before its bootstrap replicates were kept: on-request answers "
                f"(predict, optimize, ad-hoc scenarios) vary over the final model's {self.fitted.n_models} "
                "member(s) only, so their intervals are too narrow; channels, curves and elasticities "
                "keep the stored bootstrap intervals")


def results_root(config: DatasetConfig, output_root: str | Path | None = None) -> Path:
    """``<output root>/<dataset>/``: the same place the pipeline writes (``MMM_OUTPUT_ROOT``, else settings)."""
    root = output_root or os.environ.get("MMM_OUTPUT_ROOT") or str((config.settings.get("outputs") or {}).get("root", "outputs"))
    base = Path(root)
    return (base if base.is_absolute() else PROJECT_ROOT / base) / config.name


def dataset_config(name: str) -> DatasetConfig:
    """The dataset's config; an unknown name is :class:`NotFound` listing the configured datasets."""
    try:
        return load_dataset_config(name)
    except ConfigError as exc:
        if "not found" in str(exc):
            raise NotFound(f"no dataset '{name}'; the datasets are {join_names(list_datasets())}") from None
        raise


def registry_stamp(root: Path) -> tuple[int, int] | None:
    """``(mtime, size)`` of ``registry.json``: it changes on every promotion and rollback."""
    try:
        stat = (root / REGISTRY_FILE).stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


def champion_version(root: Path) -> str | None:
    """The champion named in ``registry.json``, read without touching the store (None: no champion)."""
    try:
        return json.loads((root / REGISTRY_FILE).read_text()).get("champion")
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def load_champion(config: DatasetConfig, root: Path) -> Champion:
    """Load the champion of ``config``'s dataset from the store under ``root``."""
    if registry_stamp(root) is None:
        raise NotFound(f"dataset '{config.name}' has no model store at {root}; run "
                       f"`python -m mmm_pipeline run --dataset {config.name}` first")
    record = ModelRegistry(root).champion()
    if record is None:
        raise NotFound(f"dataset '{config.name}' has no promoted model yet (no model has passed the deployment "
                       f"gate; see {root / REGISTRY_FILE})")
    results = {name: json.loads((root / record.results_dir / name).read_text()) for name in JSON_FILES}
    model_dir = root / record.model_dir
    final = FittedNAM.load(model_dir / MODEL_FILE)
    has_replicates = (model_dir / REPLICATES_FILE).is_file()
    fitted = FittedNAM.load(model_dir / REPLICATES_FILE) if has_replicates else final
    data = _data_for(config, fitted)
    point = final if final.feature_names == fitted.feature_names else fitted.member(0)
    log.info("loaded %s champion %s (%d model member(s)%s)", config.name, record.version, fitted.n_models,
             ", bootstrap replicates" if has_replicates else ", final model only")
    return Champion(config, record, results, fitted, point, data, has_replicates)


def _data_for(config: DatasetConfig, fitted: FittedNAM) -> ModelData:
    """The dataset's data with the features ``fitted`` reads (the replicates leave mediators out)."""
    data = build_model_data(load_dataset(config).table, config)
    return data if data.feature_names == fitted.feature_names else media_view(data)
