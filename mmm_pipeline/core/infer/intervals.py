"""Interval arithmetic over bootstrap replicates, and the "not identified" rule.

Every uncertain number the pipeline reports is summarised the same way: the replicate mean,
a percentile interval and its width, so a reader sees how wide the evidence is next to the
estimate. Keeping the maths in one place keeps channels.json, the optimizer and the report
consistent with each other.
"""

import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Interval:
    """A replicate mean with a two-sided percentile interval at ``level``."""

    mean: float
    lo: float
    hi: float
    level: float = 0.95

    @property
    def width(self) -> float:
        return self.hi - self.lo

    @property
    def half_width(self) -> float:
        return 0.5 * (self.hi - self.lo)

    def crosses_zero(self) -> bool:
        """True when the interval contains zero (either end on or beyond it)."""
        return self.lo <= 0.0 <= self.hi

    def to_dict(self) -> dict[str, float | None]:
        """The results-folder form: ``{mean, lo, hi, width}``; NaN becomes ``None`` (JSON null)."""
        return {k: _plain(v) for k, v in (("mean", self.mean), ("lo", self.lo), ("hi", self.hi), ("width", self.width))}


def _plain(value: float) -> float | None:
    value = float(value)
    return None if not math.isfinite(value) else value


def percentile_bounds(samples: np.ndarray, level: float = 0.95, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, lower and upper percentile bounds of ``samples`` along ``axis`` (replicates).

    Percentile intervals need no normality assumption, which matters for ROAS and mROAS:
    they are bounded below by zero and skewed when a channel is weakly identified.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"interval level must be in (0, 1), got {level}")
    arr = np.asarray(samples, dtype=float)
    if arr.shape[axis] == 0:
        raise ValueError("cannot form an interval from zero replicates")
    alpha = 0.5 * (1.0 - level)
    lo, hi = np.nanquantile(arr, [alpha, 1.0 - alpha], axis=axis)
    return np.nanmean(arr, axis=axis), lo, hi


def interval(samples: np.ndarray, level: float = 0.95) -> Interval:
    """One :class:`Interval` from a 1-D array of replicate values."""
    arr = np.asarray(samples, dtype=float).reshape(-1)
    mean, lo, hi = percentile_bounds(arr, level)
    return Interval(float(mean), float(lo), float(hi), level)


def interval_dict(samples: np.ndarray, level: float = 0.95) -> dict[str, float | None]:
    """Shorthand for ``interval(samples, level).to_dict()``."""
    return interval(samples, level).to_dict()


def curve_band(samples: np.ndarray, level: float = 0.95) -> dict[str, list[float | None]]:
    """Pointwise band of a ``[K, G]`` family of curves: ``{mean: [G], lo: [G], hi: [G]}``."""
    mean, lo, hi = percentile_bounds(np.asarray(samples, dtype=float), level, axis=0)
    return {"mean": _plain_list(mean), "lo": _plain_list(lo), "hi": _plain_list(hi)}


def _plain_list(values: np.ndarray) -> list[float | None]:
    return [_plain(v) for v in np.asarray(values, dtype=float).reshape(-1)]


def at_least(iv: Interval, rel_se: float, floor: float | None = 0.0) -> Interval:
    """``iv`` widened to at least ``mean ± z·rel_se·|mean|`` (``z`` of its level), the width the
    information in the data supports; never narrowed. ``floor`` clips the lower end (ROAS,
    contribution and marginal ROAS of a media channel cannot be negative by construction).

    The bootstrap percentile interval measures how the regularised estimate moves across
    resampled periods; the information bound measures how far any unbiased estimate must be
    allowed to move. Where the regularisation holds the replicates together, the second is
    wider and is what the data can support; where the estimate is non-linear or skewed, the
    bootstrap is wider and keeps that shape. Taking the outer envelope keeps both honest.
    """
    if not (math.isfinite(iv.mean) and rel_se >= 0):
        return iv
    half = float(stats.norm.ppf(0.5 + iv.level / 2.0)) * rel_se * abs(iv.mean) if math.isfinite(rel_se) else math.inf
    lo, hi = min(iv.lo, iv.mean - half), max(iv.hi, iv.mean + half)
    if floor is not None:
        lo = max(lo, floor)
    return Interval(iv.mean, lo, hi, iv.level)


def identification(roas: Interval, max_half_width: float = 0.5) -> tuple[bool, str]:
    """Whether the data pin a channel's ROAS down, and if not, a reason a person can act on.

    A channel is "not identified" when its ROAS interval contains zero (the data cannot tell
    whether it works at all) or when the interval's half-width exceeds ``max_half_width``
    times the estimate (the data cannot tell a good channel from a mediocre one). Both cases
    make a budget shift toward or away from that channel a guess, so the optimizer and the
    report treat it differently.
    """
    if not (math.isfinite(roas.mean) and math.isfinite(roas.lo) and math.isfinite(roas.hi)):
        return False, "ROAS could not be estimated (non-finite bootstrap replicates)"
    if roas.crosses_zero():
        return False, (
            f"ROAS interval [{roas.lo:.3g}, {roas.hi:.3g}] includes zero: the data cannot tell "
            "whether this channel drives revenue at all"
        )
    limit = max_half_width * abs(roas.mean)
    if roas.half_width > limit:
        rel = roas.half_width / abs(roas.mean) if roas.mean else math.inf
        return False, (
            f"ROAS {roas.mean:.3g} has a {roas.level:.0%} interval [{roas.lo:.3g}, {roas.hi:.3g}] whose "
            f"half-width is {rel:.0%} of the estimate (limit {max_half_width:.0%}): more varied spend "
            "or a longer history is needed to pin it down"
        )
    return True, ""


def probability_positive(samples: np.ndarray) -> float:
    """Share of replicates with a strictly positive value (e.g. a plan's lift over the current mix)."""
    arr = np.asarray(samples, dtype=float).reshape(-1)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return float("nan")
    return float(np.mean(arr > 0.0))


def harrell_davis_weights(n: int, q: float) -> np.ndarray:
    """Weights on the sorted sample giving the Harrell-Davis estimate of quantile ``q``.

    The optimizer maximises a lower quantile of revenue over replicates. A plain empirical
    quantile picks one order statistic, so its gradient jumps whenever two replicates swap
    rank and SLSQP stalls; the Harrell-Davis weights spread smoothly over neighbouring order
    statistics, which keeps the objective nearly differentiable and lowers its variance.
    """
    if n < 1:
        raise ValueError("need at least one replicate")
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile must be in (0, 1), got {q}")
    if n == 1:
        return np.ones(1)
    a, b = (n + 1) * q, (n + 1) * (1.0 - q)
    edges = stats.beta.cdf(np.arange(n + 1) / n, a, b)
    return np.diff(edges)
