"""Feature drift: is the newest month's data like the data the model was trained on?

Plain Python (scipy), used by the ``feature_drift`` asset check. Per feature, the newest month's
per-period values are compared with the training window (every earlier period outside the
hold-out): a two-sample Kolmogorov-Smirnov test when the month has enough distinct values, and
a range check when it does not (monthly media spread over days, or a monthly dataset, give one
value per month, where a KS test would flag every month). Deterministic calendar terms (events,
Fourier, weekdays, trend) are left out: they change by design.

Business series are autocorrelated (a daily NPS interpolated from monthly surveys moves
slowly), and the textbook KS p-value treats 30 such days as 30 independent draws, so it would
flag nearly every month. The p-value here uses effective sample sizes n (1 - r) / (1 + r), with
r the lag-1 autocorrelation in the training window (the AR(1) variance-inflation rule), in the
asymptotic Kolmogorov distribution.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from mmm_pipeline.core.features.model_data import ModelData

SKIPPED_KINDS = ("linear",)
SKIPPED_NAMES = ("trend",)
MIN_DISTINCT_FOR_KS = 5


@dataclass
class FeatureDrift:
    feature: str
    test: str  # "ks" | "range"
    statistic: float
    p_value: float | None
    drifted: bool
    detail: str


@dataclass
class DriftReport:
    month: str
    reference: str  # "YYYY-MM-DD..YYYY-MM-DD"
    alpha: float
    features: list[FeatureDrift] = field(default_factory=list)

    @property
    def drifted(self) -> list[FeatureDrift]:
        return [f for f in self.features if f.drifted]

    @property
    def message(self) -> str:
        if not self.features:
            return f"{self.month}: no feature to compare"
        if not self.drifted:
            return f"{self.month}: {len(self.features)} features in line with the training window {self.reference}"
        names = ", ".join(f"{f.feature} ({f.detail})" for f in self.drifted)
        return f"{self.month}: {len(self.drifted)} of {len(self.features)} features drifted from {self.reference}: {names}"


def _per_period(data: ModelData, index: int) -> np.ndarray:
    """``[T]`` values of one feature: national features are the same for every node; others are
    averaged over nodes (the level the business sees)."""
    values = data.X[:, :, index]
    return values[:, 0] if data.features[index].national else values.mean(axis=1)


def feature_drift(data: ModelData, alpha: float = 0.01, holdout_periods: int | None = None) -> DriftReport:
    """Compare the newest month with the training window, feature by feature."""
    months = np.asarray(data.dates.strftime("%Y-%m"))
    newest = months[-1]
    holdout = int(data.meta.get("holdout_periods", 0) if holdout_periods is None else holdout_periods)
    train = np.ones(len(months), dtype=bool)
    if holdout:
        train[-holdout:] = False
    train &= months != newest
    recent = months == newest
    if not train.any():
        return DriftReport(newest, "none", alpha)
    span = f"{data.dates[train].min().date()}..{data.dates[train].max().date()}"
    report = DriftReport(newest, span, alpha)
    for i, spec in enumerate(data.features):
        if spec.kind in SKIPPED_KINDS or spec.name in SKIPPED_NAMES:
            continue
        series = _per_period(data, i)
        reference, current = series[train], series[recent]
        report.features.append(_compare(spec.name, reference, current, alpha))
    return report


def effective_size(n: int, lag1: float) -> float:
    """Independent-equivalent size of ``n`` AR(1)-correlated values (at least 1)."""
    r = min(max(float(lag1), 0.0), 0.999) if np.isfinite(lag1) else 0.0
    return max(1.0, n * (1.0 - r) / (1.0 + r))


def lag1_autocorrelation(values: np.ndarray) -> float:
    x = np.asarray(values, dtype=float)
    if len(x) < 3 or np.std(x[:-1]) == 0 or np.std(x[1:]) == 0:
        return 0.0
    return float(np.corrcoef(x[:-1], x[1:])[0, 1])


def ks_drift_test(reference: np.ndarray, current: np.ndarray) -> tuple[float, float, float]:
    """KS statistic D, autocorrelation-adjusted p-value, and the lag-1 autocorrelation used."""
    d = float(stats.ks_2samp(reference, current).statistic)
    r = lag1_autocorrelation(reference)
    n, m = effective_size(len(current), r), effective_size(len(reference), r)
    p = float(stats.kstwobign.sf(d * np.sqrt(n * m / (n + m))))
    return d, p, r


def _compare(name: str, reference: np.ndarray, current: np.ndarray, alpha: float) -> FeatureDrift:
    if len(np.unique(current)) >= MIN_DISTINCT_FOR_KS and len(np.unique(reference)) >= MIN_DISTINCT_FOR_KS:
        d, p, r = ks_drift_test(reference, current)
        return FeatureDrift(name, "ks", d, p, bool(p < alpha), f"KS D={d:.2f}, p={p:.2g} (lag-1 autocorrelation {r:.2f})")
    lo, hi = float(np.min(reference)), float(np.max(reference))
    width = hi - lo
    below = max(0.0, lo - float(np.min(current)))
    above = max(0.0, float(np.max(current)) - hi)
    outside = max(below, above)
    statistic = outside / width if width > 0 else float(outside > 0)
    drifted = outside > 0
    span = f"{np.min(current):.4g}" if np.ptp(current) == 0 else f"{np.min(current):.4g}..{np.max(current):.4g}"
    where = f"{span} vs training range {lo:.4g}..{hi:.4g}"
    return FeatureDrift(name, "range", float(statistic), None, drifted,
                        ("outside: " if drifted else "within: ") + where)
