"""Resources shared by every stage: which dataset a run is for, where its values are stored,
and the executor.

The asset graph is the same for every dataset; the dataset is a run-time choice made through
the ``dataset`` resource (run config ``resources.dataset.config.dataset``, default from the
``MMM_DATASET`` environment variable of the code location, else ``retail_daily``). The IO
manager keys its files by dataset name, so running another dataset never loads (or overwrites)
this dataset's stored asset values.
"""

import functools
import hashlib
import json
import os
import pickle
import uuid
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from mmm_pipeline.core.config import (
    DEFAULT_DATASET,
    PROJECT_ROOT,
    DatasetConfig,
    dataset_config_path,
    load_dataset_config,
)
from mmm_pipeline.core.registry import ModelRegistry
from mmm_pipeline.core.wording import join_names


@functools.lru_cache(maxsize=16)
def _cached_config(path: str, stamp: tuple[float, float]) -> DatasetConfig:
    """Parse a dataset YAML once per version of it (and of defaults.yaml)."""
    return load_dataset_config(path)


def load_config_cached(name_or_path: str) -> DatasetConfig:
    from mmm_pipeline.core.config import DEFAULTS_FILE

    path = dataset_config_path(name_or_path)
    return _cached_config(str(path), (path.stat().st_mtime, DEFAULTS_FILE.stat().st_mtime))


class DatasetResource(dg.ConfigurableResource):
    """The dataset a run works on, and where its results go."""

    dataset: str = Field(
        default=os.environ.get("MMM_DATASET") or DEFAULT_DATASET,
        description="Dataset name (a file in configs/datasets/) or a path to a dataset YAML. "
        "Default: $MMM_DATASET of the code location, else retail_daily.",
    )
    output_root: str = Field(
        default=os.environ.get("MMM_OUTPUT_ROOT", ""),
        description="Folder holding outputs/<dataset>/; empty: settings.outputs.root (relative to the project).",
    )

    def load(self) -> DatasetConfig:
        """The validated dataset config with merged settings."""
        return load_config_cached(self.dataset)

    @property
    def name(self) -> str:
        return self.load().name

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.load().settings)

    def results_dir(self) -> Path:
        """``outputs/<dataset>/``: the champion's results folder and the model store."""
        root = self.output_root or str(self.settings.get("outputs", {}).get("root", "outputs"))
        base = Path(root)
        return (base if base.is_absolute() else PROJECT_ROOT / base) / self.name

    def registry(self) -> ModelRegistry:
        return ModelRegistry(self.results_dir())


class DatasetIOManager(dg.ConfigurableIOManager):
    """Pickles asset values under ``<base>/mmm/<dataset>/<asset key>/<partition>.pkl``.

    ``base`` defaults to the instance's storage folder (``$DAGSTER_HOME/storage``). Writes go
    to a temporary file and are renamed into place, so a failed step never leaves half a value.
    An unpartitioned asset that reads a partitioned one gets ``{partition key: value}`` for
    every partition of the run's partition set; a missing partition is an error naming it.

    Each value has a ``.meta.json`` beside it with fingerprints of the code and of the
    settings it was computed with (and, for a fold partition, of the data it saw). Loading a value written by other code logs a warning that
    says to re-materialize it (a pickled object of a changed class can fail in obscure ways);
    :func:`current_value` checks both, and the automation recomputes every fold month whose
    stored result is not current.
    """

    dataset: dg.ResourceDependency[DatasetResource]
    base_dir: str = Field(default="", description="Storage folder; empty: the Dagster instance's storage folder.")

    def _root(self, context: dg.OutputContext | dg.InputContext) -> Path:
        if self.base_dir:
            base = Path(self.base_dir)
        else:
            step = context.step_context if isinstance(context, dg.OutputContext) else None
            instance = step.instance if step is not None else context.instance
            base = Path(instance.storage_directory())
        return base

    def _path(self, context: dg.OutputContext | dg.InputContext, partition: str | None) -> Path:
        folder = asset_storage_dir(self._root(context), self.dataset.name, context.asset_key)
        return folder / f"{partition}.pkl" if partition is not None else folder / "value.pkl"

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if obj is None:
            return
        if context.has_asset_partitions:
            keys = list(context.asset_partition_keys)
            values = obj if len(keys) > 1 else {keys[0]: obj}
            missing = [k for k in keys if k not in values]
            if missing:
                raise ValueError(f"{context.asset_key.to_user_string()}: no value returned for partition(s) "
                                 f"{join_names(missing)}")
            for key in keys:
                self._write(self._path(context, key), values[key])
        else:
            self._write(self._path(context, None), obj)

    def _write(self, path: Path, obj: Any) -> None:
        _atomic_pickle(path, obj)
        stamp = fingerprints(self.dataset.load())
        if getattr(obj, "data_digest", ""):  # a fold partition: the data it saw, see current_value
            stamp["data"] = obj.data_digest
        _atomic_text(meta_path(path), json.dumps(stamp))

    def load_input(self, context: dg.InputContext) -> Any:
        asset, dataset = context.asset_key.to_user_string(), self.dataset.name
        if not context.has_asset_partitions:
            return _read_current(self._path(context, None), asset, dataset, context.log)
        keys = list(context.asset_partition_keys)
        paths = {k: self._path(context, k) for k in keys}
        missing = [k for k, p in paths.items() if not p.exists()]
        if missing:
            raise FileNotFoundError(
                f"{asset} has no stored value for partition(s) {join_names(missing)} of dataset '{dataset}'; materialize them "
                "first (python -m mmm_pipeline run, or a backfill)")
        return {k: _read_current(p, f"{asset}[{k}]", dataset, context.log) for k, p in paths.items()}


def asset_storage_dir(storage_directory: str | Path, dataset_name: str, asset_key: dg.AssetKey) -> Path:
    """Folder of one asset's stored values for one dataset."""
    return Path(storage_directory).joinpath("mmm", dataset_name, *asset_key.path)


def _atomic_pickle(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with tmp.open("wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def meta_path(path: Path) -> Path:
    return path.with_suffix(".meta.json")


#: settings sections that never change a stored value (thresholds and automation only)
VALUE_NEUTRAL_SETTINGS = ("automation", "outputs", "gate", "sanity")


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the package's Python sources: any code change makes stored values stale."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def settings_fingerprint(config: DatasetConfig) -> str:
    """Hash of everything in the dataset config that can change a computed value."""
    raw = config.model_dump(exclude={"config_path"})
    raw["settings"] = {k: v for k, v in raw["settings"].items() if k not in VALUE_NEUTRAL_SETTINGS}
    return hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:16]


def fingerprints(config: DatasetConfig) -> dict[str, str]:
    return {"code": code_fingerprint(), "settings": settings_fingerprint(config)}


def current_value(path: Path, config: DatasetConfig, data_digest: str | None = None) -> bool:
    """Whether the value at ``path`` exists and was computed by this code with these settings
    (and, given ``data_digest``, from this data)."""
    try:
        stored = json.loads(meta_path(path).read_text())
    except (OSError, ValueError):
        return False
    wanted = fingerprints(config) | ({"data": data_digest} if data_digest is not None else {})
    return path.exists() and all(stored.get(key) == value for key, value in wanted.items())


def _read_current(path: Path, asset: str, dataset: str, log: Any) -> Any:
    """Unpickle a stored value; warn when other code computed it (the step may then fail on a
    changed class, or compute from outdated results: the warning says what to do)."""
    if not path.exists():
        raise FileNotFoundError(f"{asset} has not been materialized for dataset '{dataset}' (no {path})")
    try:
        stored = json.loads(meta_path(path).read_text()).get("code")
    except (OSError, ValueError):
        stored = None
    if stored != code_fingerprint():
        log.warning(f"{asset} of dataset '{dataset}' was computed by another version of mmm_pipeline (code "
                    f"{stored}, running {code_fingerprint()}); if this step fails or its results look wrong, "
                    "re-materialize it and what depends on it: python -m mmm_pipeline run")
    with path.open("rb") as fh:
        return pickle.load(fh)


def _executor_config(config: dict[str, Any]) -> dict[str, Any]:
    if "multiprocess" in config:
        return {"multiprocess": {"max_concurrent": config["multiprocess"]["max_concurrent"]}}
    return {"in_process": {}}


#: In-process by default: on a small machine a process per step spends more time importing
#: torch and pandas than computing. ``execution: {config: {multiprocess: {max_concurrent: N}}}``
#: runs independent steps in parallel processes instead.
mmm_executor = dg.multi_or_in_process_executor.configured(
    _executor_config,
    name="mmm_executor",
    config_schema=dg.Field(
        dg.Selector(
            {
                "in_process": dg.Field(dict, is_required=False, default_value={}),
                "multiprocess": {"max_concurrent": dg.Field(int, default_value=2, is_required=False)},
            }
        ),
        default_value={"in_process": {}},
    ),
    description="In-process by default; multiprocess (max_concurrent processes) by run config.",
)


def dataset_run_config(dataset: str | None = None, output_root: str | None = None) -> dict[str, Any]:
    """Run config that points the ``dataset`` resource at a dataset (name or YAML path)."""
    config: dict[str, Any] = {}
    if dataset:
        config["dataset"] = dataset
    if output_root:
        config["output_root"] = output_root
    return {"resources": {"dataset": {"config": config}}} if config else {}


DATASET_RESOURCE = DatasetResource.configure_at_launch()

RESOURCES: dict[str, Any] = {
    "dataset": DATASET_RESOURCE,
    "io_manager": DatasetIOManager(dataset=DATASET_RESOURCE),
}
