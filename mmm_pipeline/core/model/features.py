"""Which shape family each model input gets, and the model's own time terms.

A :class:`ModelFeature` is one additive term of the NAM: a data feature from
:class:`~mmm_pipeline.core.features.model_data.ModelData` or a time term the model adds
itself (trend, yearly and weekly Fourier terms). Time terms are generated from the dates, so
a forecast month gets them without any feature engineering; they are reported as parts of
the base, never as drivers. If the data already carries a trend or Fourier column the model
does not add its own (no double counting).

Families: ``media`` (adstock + saturation), ``monotone`` (increasing or decreasing by
construction), ``concave`` (monotone with diminishing returns by construction), ``free``
(small unconstrained network) and ``linear``. With ``settings.model.constraints: soft``
monotone/concave features use the free network and a penalty instead (for comparison).
"""

import logging
import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from mmm_pipeline.core.features.model_data import FeatureSpec, ModelData

log = logging.getLogger(__name__)

FAMILIES = ("media", "monotone", "concave", "free", "linear")
KNOT_FAMILIES = ("monotone", "concave", "free")


@dataclass(frozen=True)
class ModelFeature:
    """One additive term. ``direction`` is +1/-1 for monotone terms and 0 otherwise."""

    name: str
    kind: str
    family: str
    direction: int
    concave: bool
    block: str
    national: bool
    source: str  # "data" or "time"
    transform: str  # "log" | "standard" | "unit" | "raw"
    elasticity_bounds: tuple[float, float] | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["elasticity_bounds"] = list(self.elasticity_bounds) if self.elasticity_bounds else None
        return d

    @staticmethod
    def from_dict(d: dict) -> "ModelFeature":
        b = d.get("elasticity_bounds")
        return ModelFeature(**{**d, "elasticity_bounds": tuple(b) if b else None})


def _elasticity_bounds(spec: FeatureSpec, model_settings: dict) -> tuple[float, float] | None:
    """Settings by feature name win (``null`` there switches bounds off), then the FeatureSpec's
    own bounds (the features stage bakes the settings of its run into them), then settings by kind."""
    table = model_settings.get("elasticity_bounds") or {}
    if spec.name in table:
        bounds = table[spec.name]
    elif spec.elasticity_bounds is not None:
        bounds = spec.elasticity_bounds
    else:
        bounds = table.get(spec.kind)
    if bounds is None:
        return None
    lo, hi = float(bounds[0]), float(bounds[1])
    if not lo < hi:
        raise ValueError(f"elasticity bounds for '{spec.name}' must be [low, high] with low < high, got {bounds}")
    return (lo, hi)


def _data_feature(spec: FeatureSpec, values: np.ndarray, model_settings: dict) -> ModelFeature:
    soft = model_settings.get("constraints", "hard") == "soft"
    concave_names = set(model_settings.get("concave") or [])
    concave = spec.kind == "concave" or spec.name in concave_names
    direction = {"decreasing": -1, "increasing": 1, "concave": 1}.get(spec.kind, 0)
    if spec.kind == "media":
        family = "media"
    elif direction != 0:
        family = "free" if soft else ("concave" if concave else "monotone")
    elif spec.kind == "free":
        family = "free"
    elif spec.kind == "linear":
        family = "linear"
    else:
        raise ValueError(f"feature '{spec.name}' has unknown kind '{spec.kind}'")
    positive = bool(np.all(values > 0))
    log_kinds = set(model_settings.get("log_inputs", ["decreasing"]))
    if family == "media":
        transform = "raw"
    elif family == "linear":
        transform = "unit"
    elif spec.kind in log_kinds and positive:
        transform = "log"
    else:
        transform = "standard"
    return ModelFeature(
        name=spec.name,
        kind=spec.kind,
        family=family,
        direction=direction,
        concave=concave and direction != 0,
        block=spec.block,
        national=spec.national,
        source="data",
        transform=transform,
        elasticity_bounds=_elasticity_bounds(spec, model_settings),
    )


#: name prefixes by which the model recognises time terms that feature engineering already made
TREND_PREFIXES = ("trend",)
YEARLY_PREFIXES = ("fourier", "sin_", "cos_", "season", "year_sin", "year_cos")
WEEKDAY_PREFIXES = ("dow_", "weekday")


def _has(names: list[str], prefixes: tuple[str, ...]) -> bool:
    return any(n.lower().startswith(prefixes) for n in names)


def time_terms(data: ModelData, model_settings: dict) -> list[ModelFeature]:
    """The trend and Fourier terms the model adds (see module docstring)."""
    names = data.feature_names
    has_trend, has_fourier, has_weekday = (_has(names, p) for p in (TREND_PREFIXES, YEARLY_PREFIXES, WEEKDAY_PREFIXES))
    out: list[ModelFeature] = []
    if model_settings.get("time_terms", "auto") == "none":
        return out

    def term(name: str, kind: str, family: str, transform: str) -> ModelFeature:
        return ModelFeature(name, kind, family, 0, False, "temporal", True, "time", transform)

    if model_settings.get("trend", True) and not has_trend:
        out.append(term("trend", "free", "free", "raw"))
    order = int(model_settings.get("fourier_order", 2) or 0)
    if order > 0 and not has_fourier and data.frequency != "monthly":
        for k in range(1, order + 1):
            out += [term(f"season_sin{k}", "linear", "linear", "raw"), term(f"season_cos{k}", "linear", "linear", "raw")]
    weekly = model_settings.get("weekly_seasonality", "auto")
    if data.frequency == "daily" and weekly in ("auto", True) and not has_weekday:
        for k in range(1, 4):
            out += [term(f"weekday_sin{k}", "linear", "linear", "raw"), term(f"weekday_cos{k}", "linear", "linear", "raw")]
    return out


def resolve_features(data: ModelData, model_settings: dict) -> list[ModelFeature]:
    """Data features in data order, then the model's time terms."""
    feats = [_data_feature(s, data.X[:, :, i], model_settings) for i, s in enumerate(data.features)]
    return feats + time_terms(data, model_settings)


def time_values(dates: pd.DatetimeIndex, names: list[str], origin: float, span: float) -> np.ndarray:
    """``[T, len(names)]`` values of time terms for ``dates``.

    ``trend`` is days since the training start over the training span (0..1 in training);
    seasonal terms use the day of the year (period 365.25 days) and the day of the week.
    """
    days = (dates.values.astype("datetime64[D]").astype(np.int64)).astype(float)
    doy = dates.dayofyear.values.astype(float)
    dow = dates.dayofweek.values.astype(float)
    cols = []
    for name in names:
        if name == "trend":
            cols.append((days - origin) / span)
        elif name.startswith("season_"):
            k = int(name[len("season_sin") :])
            fn = np.sin if name.startswith("season_sin") else np.cos
            cols.append(fn(2 * math.pi * k * doy / 365.25))
        elif name.startswith("weekday_"):
            k = int(name[len("weekday_sin") :])
            fn = np.sin if name.startswith("weekday_sin") else np.cos
            cols.append(fn(2 * math.pi * k * dow / 7.0))
        else:
            raise ValueError(f"unknown time term '{name}'")
    return np.stack(cols, 1) if cols else np.zeros((len(dates), 0))
