"""Evidence-scaled trust region: how far each channel's spend may move from the current mix.

A fixed box (every channel within +/-``bounds_pct`` of its current spend) is the right guard
when the model knows little, and needlessly timid when a channel's return is pinned down: the
true optimum may cut a precisely measured channel to zero, and the box forbids it. The rule
here scales each channel's allowed move with the precision of its returns, read from the
intervals channels.json reports (``roas`` and ``mroas``: ``{mean, lo, hi}``, the intervals that
already include every source of uncertainty the pipeline knows about, not just the bootstrap
spread):

    h    = the larger relative half-width, (hi - lo) / 2 / |mean|, of the ROAS and mROAS intervals
    move = bounds_pct * max(1, reference_half_width / h)

so the revenue at stake from the channel's uncertainty - roughly the moved money times the
error of its return, ``move * h`` per unit of current spend - never exceeds what the plain box
risks on a channel known to +/-``reference_half_width``. Both intervals count because a plan
moves money by marginal returns: an average return that is pinned down says little about the
next unit of money when the curve's shape is not. Evidence at or below that reference keeps the box
exactly (weak data plan as before); tighter evidence widens it in proportion. A cut can go at
most to zero; an increase at most to ``max_multiple`` times current spend, because spend far
beyond what the channel has run at is an extrapolation of its saturation curve that no ROAS
interval vouches for. Only identified channels earn a wider region; explicit per-channel
bounds, locks and exclusions in ``settings.optimizer`` are applied on top and always win.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmm_pipeline.core.wording import join_names

#: defaults of ``settings.optimizer.trust_region`` (see configs/defaults.yaml)
DEFAULT_REFERENCE_HALF_WIDTH = 0.30
DEFAULT_MAX_MULTIPLE = 2.0


class TrustRegionError(ValueError):
    """``settings.optimizer.trust_region`` is inconsistent."""


@dataclass(frozen=True)
class TrustRegion:
    """Per channel, the largest allowed cut and increase as fractions of current spend.

    ``down[c] = 1`` lets channel ``c`` go to zero; ``up[c] = 1`` lets it double.
    ``half_width[c]`` is the relative half-width of the channel's returns the rule used (NaN: no
    usable evidence, so the box applies).
    """

    channels: list[str]
    down: np.ndarray
    up: np.ndarray
    half_width: np.ndarray
    box: float

    def widened(self) -> list[str]:
        """Channels whose evidence earned more room than the plain box."""
        return [ch for c, ch in enumerate(self.channels) if self.down[c] > self.box or self.up[c] > self.box]

    def note(self) -> str:
        """One sentence a planner can read: which channels may move further, and why."""
        parts = []
        for c, ch in enumerate(self.channels):
            if ch in self.widened():
                low = "0" if self.down[c] >= 1.0 else f"{-self.down[c]:+.0%}"
                parts.append(f"{ch} between {low} and {self.up[c]:+.0%} (returns known to +/-{self.half_width[c]:.0%})")
        return (
            f"the evidence is strong enough to move some channels beyond +/-{self.box:.0%} of current spend: "
            + join_names(parts)
        )


def relative_half_width(band: Mapping[str, Any] | None) -> float:
    """``(hi - lo) / 2 / |mean|`` of a channels.json interval ``{mean, lo, hi}``; NaN when it cannot be read."""
    if not band:
        return math.nan
    try:
        mean, lo, hi = (float(band[k]) for k in ("mean", "lo", "hi"))
    except (KeyError, TypeError, ValueError):
        return math.nan
    if not all(math.isfinite(v) for v in (mean, lo, hi)) or mean == 0.0 or hi < lo:
        return math.nan
    return 0.5 * (hi - lo) / abs(mean)


def evidence_half_width(entry: Mapping[str, Any]) -> float:
    """The larger relative half-width of a channels.json entry's ROAS and mROAS intervals.

    NaN when the ROAS interval cannot be read; an unreported mROAS leaves the ROAS to decide.
    """
    roas = relative_half_width(entry.get("roas"))
    marginal = relative_half_width(entry.get("mroas"))
    return roas if math.isnan(marginal) else max(roas, marginal)


def allowed_move(half_width: float, box: float, reference: float) -> float:
    """Largest move (fraction of current spend) the evidence backs: ``box * max(1, reference / h)``."""
    if not math.isfinite(half_width):
        return box
    if half_width <= 0.0:
        return math.inf
    return box * max(1.0, reference / half_width)


def _settings(opt: Mapping[str, Any]) -> tuple[bool, float, float]:
    spec = opt.get("trust_region") or {}
    allowed = {"enabled", "reference_half_width", "max_multiple"}
    extra = set(spec) - allowed
    if extra:
        raise TrustRegionError(
            f"settings.optimizer.trust_region: unknown keys {join_names(sorted(extra))}; use {join_names(sorted(allowed), 'or')}"
        )
    reference = float(spec.get("reference_half_width", DEFAULT_REFERENCE_HALF_WIDTH))
    multiple = float(spec.get("max_multiple", DEFAULT_MAX_MULTIPLE))
    if not reference > 0.0:
        raise TrustRegionError(
            f"settings.optimizer.trust_region.reference_half_width must be > 0 (e.g. 0.3 for a ROAS known to +/-30%), "
            f"got {reference}"
        )
    if not multiple >= 1.0:
        raise TrustRegionError(
            f"settings.optimizer.trust_region.max_multiple must be >= 1 (1 forbids any increase), got {multiple}"
        )
    return bool(spec.get("enabled", True)), reference, multiple


def trust_region(
    opt: Mapping[str, Any], channels: list[str], evidence: Mapping[str, Mapping[str, Any]] | None = None
) -> TrustRegion:
    """Per-channel allowed moves from ``settings.optimizer`` and the channels.json ``evidence``.

    Without evidence (or with ``trust_region.enabled: false``) every channel gets the plain
    +/-``bounds_pct`` box. A channel that is not identified, or whose ROAS interval cannot be
    read, also gets the box (holding it altogether is ``lock_not_identified``'s job). The box
    is a floor: a user's wide ``bounds_pct`` is never narrowed by ``max_multiple``.
    """
    box = float(opt.get("bounds_pct", 0.3))
    if box < 0:
        raise TrustRegionError(f"settings.optimizer.bounds_pct must be >= 0, got {box}")
    enabled, reference, multiple = _settings(opt)
    n = len(channels)
    half = np.full(n, math.nan)
    if enabled and evidence:
        for c, ch in enumerate(channels):
            entry = evidence.get(ch) or {}
            if entry.get("identified", False):
                half[c] = evidence_half_width(entry)
    move = np.array([allowed_move(h, box, reference) for h in half])
    down = np.minimum(move, 1.0)
    up = np.maximum(np.minimum(move, multiple - 1.0), box)
    return TrustRegion(list(channels), down, up, half, box)
