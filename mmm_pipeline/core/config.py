"""Dataset and pipeline configuration, read from YAML.

A dataset is described entirely by a YAML file in ``configs/datasets/``; pipeline settings
(model, training, walk-forward, gate, bootstrap, optimizer, report, automation) have defaults
in ``configs/defaults.yaml`` that a dataset file may override key by key under ``settings:``.
Nothing dataset-specific lives in Python, so adding a dataset is a YAML edit.
"""

import codecs
import logging
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mmm_pipeline.core.config_errors import ConfigError, read_yaml, unknown_settings, validation_problems
from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = PROJECT_ROOT / "configs"
DATASET_DIR = CONFIG_DIR / "datasets"
DEFAULTS_FILE = CONFIG_DIR / "defaults.yaml"
DEFAULT_DATASET = "retail_daily"
SHARED_DATA_ENV = "MMM_SHARED_DATA"

Frequency = Literal["daily", "weekly", "monthly"]
FeatureKind = Literal["media", "decreasing", "increasing", "concave", "free", "linear"]
#: settings maps whose keys the user names (channels, feature kinds or names, settings paths,
#: Optuna arguments); every other key under `settings:` must exist in configs/defaults.yaml
OPEN_SETTINGS = ("model.keyword_kinds", "model.elasticity_bounds", "model.roas_priors", "optimizer.bounds",
                 "tuning.space", "tuning.pruner")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DateSpec(_Strict):
    """How a source encodes its period: one date column, or separate year and month columns."""

    column: str | None = None
    format: str | None = None  # strftime format; None lets pandas infer ISO dates
    year_column: str | None = None
    month_column: str | None = None

    @model_validator(mode="after")
    def _one_encoding(self) -> "DateSpec":
        if bool(self.column) == bool(self.year_column and self.month_column):
            raise ValueError("give either `column` or both `year_column` and `month_column`")
        return self


class WideLayout(_Strict):
    """Sources with one column per category (``Revenue_Camera``): melted to long form on read."""

    pattern: str = "{measure}_{category}"
    measures: dict[str, str]  # canonical name -> column prefix in the file
    categories: list[str]


class SourceConfig(_Strict):
    """One raw file. ``path`` is relative to the project root; ``${MMM_SHARED_DATA}`` expands."""

    path: str
    date: DateSpec | None = None  # only reference tables (no time axis) leave it out
    frequency: Frequency | None = None
    kind: Literal["fact", "media", "brand", "calendar", "reference", "experiments"] = "fact"
    required_columns: list[str] = Field(default_factory=list)
    na_values: list[str] = Field(default_factory=list)
    thousands: str | None = None
    drop_rows: dict[str, list[str]] = Field(default_factory=dict)  # column -> values to drop
    filter: dict[str, str] = Field(default_factory=dict)  # keep rows where column == value
    name_column: str | None = None  # calendar sources: which column names the event
    unit_multiplier: float = 1.0  # e.g. 1e7 for spend recorded in crores
    wide: WideLayout | None = None
    ignore_columns: list[str] = Field(default_factory=list)
    encoding: str | None = None  # of the file's text; None: UTF-8 (a byte-order mark is fine). E.g. cp1252

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"'{value}' is not an encoding Python knows; use e.g. utf-8, cp1252 or latin-1") from None
        return value

    @model_validator(mode="after")
    def _dated_unless_reference(self) -> "SourceConfig":
        # experiments carry their own start and end dates (docs/experiments.md)
        if self.kind not in ("reference", "experiments") and (self.date is None or self.frequency is None):
            raise ValueError(f"source {self.path}: `date` and `frequency` are required for kind {self.kind}")
        return self


class ColumnRef(_Strict):
    """A modelled quantity: its name in outputs and where it is read from."""

    name: str
    column: str
    source: str = "main"
    kind: FeatureKind | None = None  # None: keyword rules in features decide


class ControlRef(ColumnRef):
    """A control or brand item, with its role toward the media effects (see
    :mod:`mmm_pipeline.core.features.roles`); ``None``: inferred from the data and stated."""

    role: Literal["confounder", "precision", "mediator"] | None = None


class ChannelConfig(_Strict):
    """A paid-media channel. ``spend`` is the money column; ``exposure`` optional impressions."""

    name: str
    spend: str
    source: str = "main"
    exposure: str | None = None
    fill: Literal["reject", "zero"] = "reject"  # "zero": blank months mean the channel was dark


class EventConfig(_Strict):
    """Events: a 0/1 or categorical column in a source, or a calendar source of event days."""

    name: str
    source: str = "main"
    column: str | None = None
    none_value: str | None = None  # categorical marker for "no event", e.g. Robyn's "na"
    window_days: int = 0  # calendar events: also flag this many days after each event day


class PriceConfig(_Strict):
    """List price and discount columns of the fact source, per hierarchy node."""

    list_price: str | None = None  # MRP per unit (or total MRP when ``list_price_is_total``)
    list_price_is_total: bool = False
    discount: str | None = None
    discount_kind: Literal["fraction", "amount"] = "fraction"
    units: str | None = None


class HierarchyConfig(_Strict):
    category: str
    subcategory: str | None = None
    level: Literal["category", "subcategory"] = "subcategory"


class HoldoutConfig(_Strict):
    periods: int = 0  # the final periods kept out of every fit, for the final hold-out check


class FillRule(_Strict):
    """A named repair for missing values in one field; anything not named here is rejected."""

    column: str
    source: str = "main"
    rule: Literal["ffill_median", "zero", "interpolate"]


class DatasetConfig(_Strict):
    name: str
    title: str
    simulated: bool
    licence: str | None = None
    provenance: str = ""
    frequency: Frequency
    sources: dict[str, SourceConfig]
    target: ColumnRef
    channels: list[ChannelConfig]
    organic: list[ColumnRef] = Field(default_factory=list)
    controls: list[ControlRef] = Field(default_factory=list)
    brand: list[ControlRef] = Field(default_factory=list)
    events: list[EventConfig] = Field(default_factory=list)
    price: PriceConfig | None = None
    hierarchy: HierarchyConfig | None = None
    holdout: HoldoutConfig = HoldoutConfig()
    window: dict[str, str] = Field(default_factory=dict)  # optional {"start": ..., "end": ...}
    fill: list[FillRule] = Field(default_factory=list)
    winsorize_spend: bool = False
    truth_file: str | None = None  # simulator truth, for recovery studies
    settings: dict[str, Any] = Field(default_factory=dict)
    config_path: str = ""

    @model_validator(mode="after")
    def _references_exist(self) -> "DatasetConfig":
        refs = [("target", self.target.source)]
        refs += [(f"channel {c.name}", c.source) for c in self.channels]
        refs += [(f"{r.name}", r.source) for r in self.organic + self.controls + self.brand]
        refs += [(f"event {e.name}", e.source) for e in self.events]
        refs += [(f"fill {f.column}", f.source) for f in self.fill]
        missing = [f"{what} reads source '{src}'" for what, src in refs if src not in self.sources]
        if missing:
            raise ValueError(f"{join_names(missing)}, which `sources` does not define; "
                             f"the sources are {join_names(sorted(self.sources))}")
        names = [c.name for c in self.channels]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"channel names must be unique; {join_names(repeated)} appear(s) more than once")
        return self

    def source_path(self, source: str) -> Path:
        return resolve_data_path(self.sources[source].path)

    @property
    def channel_names(self) -> list[str]:
        return [c.name for c in self.channels]


def shared_data_dir() -> Path:
    """Where the read-only reference datasets live (``../shared/data`` beside the repo)."""
    return Path(os.environ.get(SHARED_DATA_ENV, PROJECT_ROOT.parent / "shared" / "data"))


def resolve_data_path(path: str) -> Path:
    expanded = path.replace("${" + SHARED_DATA_ENV + "}", str(shared_data_dir()))
    p = Path(expanded)
    return p if p.is_absolute() else PROJECT_ROOT / p


def dataset_config_path(name_or_path: str | None = None) -> Path:
    """Resolve a dataset name (``robyn_weekly``) or a YAML path; default from ``MMM_DATASET``."""
    ref = name_or_path or os.environ.get("MMM_DATASET") or DEFAULT_DATASET
    candidate = Path(ref)
    if candidate.suffix in {".yaml", ".yml"} or candidate.exists():
        path = candidate if candidate.is_absolute() else Path.cwd() / candidate
    else:
        path = DATASET_DIR / f"{ref}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in DATASET_DIR.glob("*.yaml"))
        raise ConfigError(f"dataset '{ref}' not found (looked for {path}); the datasets are {join_names(known)}")
    return path


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Override nested keys of ``base`` without dropping its siblings."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_defaults() -> dict[str, Any]:
    return dict(read_yaml(DEFAULTS_FILE).data or {})


def load_dataset_config(name_or_path: str | None = None) -> DatasetConfig:
    """Read and validate a dataset YAML; settings are the defaults merged with its overrides.

    Every problem (unknown or misspelt keys at any level, settings the defaults do not have,
    wrong values) is reported at once, each with its line and YAML path.
    """
    parsed = read_yaml(dataset_config_path(name_or_path))
    raw = parsed.data if parsed.data is not None else {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{parsed.path}: a dataset YAML is a mapping of keys (name, sources, channels, ...), "
                          f"not a {type(raw).__name__}")
    defaults = load_defaults()
    overrides = raw.get("settings") or {}
    problems = unknown_settings(overrides, defaults, OPEN_SETTINGS)
    raw = {**raw, "config_path": str(parsed.path),
           "settings": deep_merge(defaults, overrides) if isinstance(overrides, dict) else overrides}
    try:
        config = DatasetConfig(**raw)
    except ValidationError as exc:
        problems = validation_problems(exc, DatasetConfig) + problems
    parsed.fail(problems)
    return config


def settings_section(config: DatasetConfig, section: str) -> dict[str, Any]:
    """One section of the merged settings (``model``, ``training``, ``gate`` ...)."""
    if section not in config.settings:
        raise ConfigError(f"{config.config_path}: settings have no section '{section}'")
    return dict(config.settings[section])


def list_datasets() -> list[str]:
    return sorted(p.stem for p in DATASET_DIR.glob("*.yaml"))
