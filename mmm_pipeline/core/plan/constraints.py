"""Budget constraints: per-channel bounds, locks, masks, linear constraints and the total.

The optimizer's decision variable is ``x[b, c]``: spend per period on channel ``c`` during
block ``b`` of the horizon (block ``b`` lasts ``n_b`` periods; one block means a flat plan).
Bounds are per-period spend; the total and the linear constraints are on horizon money
(``sum_b n_b x[b, c]``), which is how budgets are agreed in practice ("TV gets at least as
much as radio this quarter"). Everything is validated against the channel list with messages
that name the setting at fault.
"""

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linprog

from mmm_pipeline.core.plan.trust_region import TrustRegion, trust_region
from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)


#: relative slack (of the total budget) the feasibility programme allows on every linear row
FEASIBILITY_RTOL = 1e-9


class PlanConstraintError(ValueError):
    """The optimizer settings are inconsistent or cannot all be met."""


@dataclass(frozen=True)
class LinearConstraint:
    """``lower <= sum_c coefficients[c] * horizon_spend[c] <= upper`` (``None``: unbounded)."""

    coefficients: np.ndarray  # [C]
    lower: float | None
    upper: float | None
    label: str


@dataclass
class PlanConstraints:
    """Everything a feasible plan must satisfy, resolved to arrays in channel order."""

    channels: list[str]
    block_lengths: np.ndarray  # [B] periods per block, sums to the horizon
    lower: np.ndarray  # [B, C] per-period spend
    upper: np.ndarray  # [B, C]
    total_budget: float  # horizon money
    min_total: float  # horizon money
    linear: list[LinearConstraint] = field(default_factory=list)
    locked: list[str] = field(default_factory=list)
    off: list[str] = field(default_factory=list)

    @property
    def fixed(self) -> np.ndarray:
        """``[B, C]`` entries whose bounds leave no choice (locked, masked, zero-width bounds)."""
        return np.isclose(self.lower, self.upper, rtol=1e-12, atol=1e-12)

    def totals(self, x: np.ndarray) -> np.ndarray:
        """``[C]`` horizon spend of plan ``x [B, C]``."""
        return (self.block_lengths[:, None] * np.asarray(x, dtype=float)).sum(axis=0)

    def violations(self, x: np.ndarray, rtol: float = 1e-6) -> list[str]:
        """Human-readable list of every constraint ``x`` breaks (empty when feasible)."""
        x = np.asarray(x, dtype=float)
        scale = max(self.total_budget, 1.0)
        tol = rtol * scale
        problems: list[str] = []
        per_period_tol = tol / max(float(self.block_lengths.sum()), 1.0)
        for b, c in zip(*np.nonzero(x < self.lower - per_period_tol)):
            problems.append(f"{self.channels[c]} block {b}: {x[b, c]:.6g} below lower bound {self.lower[b, c]:.6g}")
        for b, c in zip(*np.nonzero(x > self.upper + per_period_tol)):
            problems.append(f"{self.channels[c]} block {b}: {x[b, c]:.6g} above upper bound {self.upper[b, c]:.6g}")
        totals = self.totals(x)
        total = float(totals.sum())
        if total > self.total_budget + tol:
            problems.append(f"total {total:.6g} exceeds the budget {self.total_budget:.6g}")
        if total < self.min_total - tol:
            problems.append(f"total {total:.6g} is below the minimum total {self.min_total:.6g}")
        for con in self.linear:
            value = float(con.coefficients @ totals)
            if con.lower is not None and value < con.lower - tol:
                problems.append(f"{con.label}: {value:.6g} < {con.lower:.6g}")
            if con.upper is not None and value > con.upper + tol:
                problems.append(f"{con.label}: {value:.6g} > {con.upper:.6g}")
        return problems

    def matrix(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """Rows ``A`` over flattened ``x [B*C]`` with bounds ``lo <= A x <= hi`` and row labels.

        Row 0 is the total; the rest are the linear constraints.
        """
        n_b, n_c = self.lower.shape
        per_x = np.repeat(self.block_lengths.astype(float), n_c)  # weight of x[b, c] in horizon money
        rows = [per_x]
        lo = [self.min_total]
        hi = [self.total_budget]
        labels = ["total budget"]
        for con in self.linear:
            rows.append(np.tile(con.coefficients, n_b) * per_x)
            lo.append(-np.inf if con.lower is None else con.lower)
            hi.append(np.inf if con.upper is None else con.upper)
            labels.append(con.label)
        return np.vstack(rows), np.asarray(lo, dtype=float), np.asarray(hi, dtype=float), labels


def block_lengths(horizon: int, n_blocks: int) -> np.ndarray:
    """Split ``horizon`` periods into ``n_blocks`` near-equal consecutive blocks."""
    if not 1 <= n_blocks <= horizon:
        raise PlanConstraintError(f"settings.optimizer.plan_blocks must be between 1 and the horizon ({horizon}), got {n_blocks}")
    base, extra = divmod(horizon, n_blocks)
    return np.array([base + (1 if b < extra else 0) for b in range(n_blocks)], dtype=np.int64)


def _channel_list(names: Any, channels: list[str], what: str) -> list[str]:
    names = list(names or [])
    unknown = [n for n in names if n not in channels]
    if unknown:
        raise PlanConstraintError(
            f"settings.optimizer.{what} names unknown channels {join_names(unknown)}; the channels are {join_names(channels)}"
        )
    return names


def _bounds(
    opt: dict[str, Any], channels: list[str], current: np.ndarray, scale: float, region: TrustRegion
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel per-period bounds: the trust region around the (scaled) current mix, overridable.

    ``region`` gives each channel's allowed cut and increase (the plain ``bounds_pct`` box, or
    wider where the evidence is strong). ``settings.optimizer.bounds`` may give, per channel,
    absolute ``lower``/``upper`` per-period spend or ``lower_pct``/``upper_pct`` changes relative
    to current (e.g. -1.0 and 2.0); those replace the region's bounds.
    """
    centre = current * scale
    lower = np.maximum(centre * (1.0 - region.down), 0.0)
    upper = centre * (1.0 + region.up)
    overrides = opt.get("bounds") or {}
    _channel_list(overrides.keys(), channels, "bounds")
    for ch, spec in overrides.items():
        c = channels.index(ch)
        allowed = {"lower", "upper", "lower_pct", "upper_pct"}
        extra = set(spec) - allowed
        if extra:
            raise PlanConstraintError(
                f"settings.optimizer.bounds.{ch}: unknown keys {join_names(sorted(extra))}; "
                f"use {join_names(sorted(allowed), 'or')}"
            )
        if spec.get("lower_pct") is not None:
            lower[c] = max(centre[c] * (1.0 + float(spec["lower_pct"])), 0.0)
        if spec.get("upper_pct") is not None:
            upper[c] = centre[c] * (1.0 + float(spec["upper_pct"]))
        if spec.get("lower") is not None:
            lower[c] = float(spec["lower"])
        if spec.get("upper") is not None:
            upper[c] = float(spec["upper"])
        if lower[c] < 0 or upper[c] < lower[c]:
            raise PlanConstraintError(
                f"settings.optimizer.bounds.{ch}: need 0 <= lower <= upper, got lower {lower[c]:.6g}, upper {upper[c]:.6g}"
            )
    return lower, upper


def _linear(opt: dict[str, Any], channels: list[str]) -> list[LinearConstraint]:
    out = []
    for i, spec in enumerate(opt.get("linear_constraints") or []):
        where = f"settings.optimizer.linear_constraints[{i}]"
        coefs = spec.get("coefficients") or {}
        if not coefs:
            raise PlanConstraintError(f"{where}: needs `coefficients`, e.g. {{TV: 1, Radio: -1}}")
        _channel_list(coefs.keys(), channels, f"linear_constraints[{i}].coefficients")
        vector = np.zeros(len(channels))
        for ch, value in coefs.items():
            vector[channels.index(ch)] = float(value)
        lower, upper = spec.get("lower"), spec.get("upper")
        if lower is None and upper is None:
            raise PlanConstraintError(f"{where}: give `lower`, `upper` or both")
        label = spec.get("name") or " + ".join(f"{v:g}*{k}" for k, v in coefs.items())
        lower = None if lower is None else float(lower)
        upper = None if upper is None else float(upper)
        out.append(LinearConstraint(vector, lower, upper, label))
    return out


def build_constraints(
    opt: dict[str, Any],
    channels: list[str],
    current: np.ndarray,
    *,
    horizon: int,
    n_blocks: int,
    total_budget: float,
    maximise_profit: bool,
    extra_locked: list[str] | None = None,
    mask: np.ndarray | None = None,
    region: TrustRegion | None = None,
) -> PlanConstraints:
    """Resolve ``settings.optimizer`` into :class:`PlanConstraints` for one total budget.

    Percentage bounds are taken around the current mix scaled to ``total_budget`` (so the
    sensitivity curve at -50% budget keeps the same freedom around a halved mix); ``region`` is
    the evidence-scaled trust region (default: the plain ``bounds_pct`` box). Locked channels stay at their *current* spend. ``mask`` (``[C]`` or ``[B, C]`` bool,
    False = must not spend) and ``settings.optimizer.exclude`` force spend to zero. The total must
    lie in ``[min_total, total_budget]``; without ``min_total`` a revenue objective spends the
    whole budget and a profit objective may spend less.
    """
    current = np.asarray(current, dtype=float)
    if current.shape != (len(channels),):
        raise PlanConstraintError(f"current spend has shape {current.shape}, expected ({len(channels)},)")
    if total_budget <= 0:
        raise PlanConstraintError(f"total budget must be positive, got {total_budget:.6g}")
    lengths = block_lengths(horizon, n_blocks)
    current_total = float(current.sum()) * horizon
    scale = total_budget / current_total if current_total > 0 else 1.0
    lower, upper = _bounds(opt, channels, current, scale, region or trust_region(opt, channels))
    lower = np.tile(lower, (n_blocks, 1))
    upper = np.tile(upper, (n_blocks, 1))
    locked = list(dict.fromkeys(_channel_list(opt.get("locked"), channels, "locked") + list(extra_locked or [])))
    for ch in locked:
        c = channels.index(ch)
        lower[:, c] = upper[:, c] = current[c]
    off = _channel_list(opt.get("exclude"), channels, "exclude")
    allowed = np.ones((n_blocks, len(channels)), dtype=bool)
    for ch in off:
        allowed[:, channels.index(ch)] = False
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape not in {(len(channels),), (n_blocks, len(channels))}:
            raise PlanConstraintError(f"mask must have shape ({len(channels)},) or ({n_blocks}, {len(channels)}), got {m.shape}")
        allowed &= np.broadcast_to(m, allowed.shape)
    lower[~allowed] = 0.0
    upper[~allowed] = 0.0
    min_total = opt.get("min_total")
    min_total = (0.0 if maximise_profit else total_budget) if min_total is None else float(min_total)
    if min_total > total_budget:
        raise PlanConstraintError(
            f"settings.optimizer.min_total ({min_total:.6g}) exceeds the total budget ({total_budget:.6g})"
        )
    return PlanConstraints(
        channels=list(channels),
        block_lengths=lengths,
        lower=lower,
        upper=upper,
        total_budget=float(total_budget),
        min_total=float(min_total),
        linear=_linear(opt, channels),
        locked=locked,
        off=off,
    )


def feasible_point(cons: PlanConstraints, target: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The feasible plan closest to ``target [B, C]`` in scaled L1 distance (a linear programme).

    SLSQP needs a feasible start to behave; when the constraints cannot all hold, this is also
    where the person gets told which ones clash.
    """
    n = cons.lower.size
    a, lo, hi, labels = cons.matrix()
    s = np.asarray(scale, dtype=float).reshape(-1)
    s = np.tile(s, n // s.size) if s.size != n else s
    # variables: x (n), d (n) with d >= |x - target| / s
    cost = np.concatenate([np.zeros(n), np.ones(n)])
    eye = np.eye(n)
    inv_s = np.diag(1.0 / s)
    a_ub = [np.hstack([inv_s, -eye]), np.hstack([-inv_s, -eye])]
    t = np.asarray(target, dtype=float).reshape(-1)
    b_ub = [t / s, -t / s]
    # A budget equal to the sum of pinned bounds is feasible; rounding in either sum must not
    # make the solver (absolute tolerance ~1e-7) call it infeasible at money scales of 1e9.
    slack = FEASIBILITY_RTOL * max(cons.total_budget, 1.0)
    lo, hi = lo - slack, hi + slack
    finite_hi = np.isfinite(hi)
    finite_lo = np.isfinite(lo)
    if finite_hi.any():
        a_ub.append(np.hstack([a[finite_hi], np.zeros((finite_hi.sum(), n))]))
        b_ub.append(hi[finite_hi])
    if finite_lo.any():
        a_ub.append(np.hstack([-a[finite_lo], np.zeros((finite_lo.sum(), n))]))
        b_ub.append(-lo[finite_lo])
    bounds = list(zip(cons.lower.reshape(-1), cons.upper.reshape(-1))) + [(0, None)] * n
    res = linprog(cost, A_ub=np.vstack(a_ub), b_ub=np.concatenate(b_ub), bounds=bounds, method="highs")
    if not res.success:
        raise PlanConstraintError(_infeasible_message(cons, labels))
    return res.x[:n].reshape(cons.lower.shape)


def _infeasible_message(cons: PlanConstraints, labels: list[str]) -> str:
    lo_total = float((cons.block_lengths[:, None] * cons.lower).sum())
    hi_total = float((cons.block_lengths[:, None] * cons.upper).sum())
    hints = [
        f"the per-channel bounds allow a horizon total between {lo_total:.6g} and {hi_total:.6g}",
        f"the total must lie between {cons.min_total:.6g} and {cons.total_budget:.6g}",
    ]
    if cons.locked:
        hints.append(f"locked at current spend: {join_names(cons.locked)}")
    if cons.off:
        hints.append(f"switched off: {join_names(cons.off)}")
    if len(labels) > 1:
        hints.append(f"linear constraints: {join_names(labels[1:])}")
    return (
        "no spend plan satisfies settings.optimizer: " + "; ".join(hints)
        + ". Widen bounds_pct or the channel bounds, unlock channels, or change the budget."
    )
