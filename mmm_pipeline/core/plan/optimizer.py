"""Risk-aware budget optimizer: the best media plan the bootstrap evidence can back.

The plan maximises, by default, a low quantile (``settings.optimizer.quantile``) of the
*lift over the current mix* across bootstrap replicates, so a plan that is great under a few
replicates and poor under the rest loses to one that is good under most. Gradients come from
torch autograd through ``fitted.media_revenue`` (adstock carry-over from the observed history
included) and feed scipy's SLSQP with every bound, lock, mask, linear constraint and the total
as explicit constraints. How far each channel may move is an evidence-scaled trust region
(:mod:`mmm_pipeline.core.plan.trust_region`): the ``bounds_pct`` box, wider for channels whose
ROAS interval is tight.

Two guards keep the recommendation honest. The replicates are split: half choose the plan,
the other half judge it, so the reported probability that the plan beats the current mix is
not flattered by having been optimised on the same draws. And a plan is recommended only when
that probability reaches ``settings.optimizer.min_probability``; otherwise the answer is
"keep the current mix" with the reason. Optimality is checked after the fact: at an optimum
the marginal return of every channel not held by a constraint must be equal, and the spread
is reported.
"""

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.optimize import minimize

from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.infer.intervals import Interval, harrell_davis_weights, interval, probability_positive
from mmm_pipeline.core.plan.constraints import PlanConstraints, block_lengths, build_constraints, feasible_point
from mmm_pipeline.core.plan.evaluate import PlanEvaluator
from mmm_pipeline.core.plan.horizon import current_spend, horizon_periods
from mmm_pipeline.core.plan.trust_region import trust_region
from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

OBJECTIVES = ("conservative", "mean", "point")
#: below this many replicates the split into choosing and judging halves is not made
MIN_REPLICATES_TO_SPLIT = 20


@dataclass
class BudgetPlan:
    """One optimised plan, its comparison with the current mix, and the evidence for it.

    Spend arrays are per period: ``current [C]`` (the current mix scaled to the budget, the
    comparator), ``optimal [B, C]`` for each block of the horizon. Revenue intervals are over
    the judging replicates and cover media revenue over the horizon plus its carry-over tail.
    """

    channels: list[str]
    horizon: int
    block_lengths: np.ndarray
    total_budget: float
    current: np.ndarray
    optimal: np.ndarray
    objective: str
    recommended: bool
    reason: str
    probability_beats_current: float
    revenue_current: Interval
    revenue_optimal: Interval
    lift: Interval
    lift_pct: Interval
    marginal_returns: dict[str, float]
    marginal_spread: float | None
    interior_channels: list[str]
    active_constraints: list[str]
    movable_channels: list[str]
    converged: bool
    message: str
    locked: list[str]
    margin: float | None
    quantile: float
    n_replicates_optimised: int
    n_replicates_evaluated: int
    carryover_periods: int
    start_date: pd.Timestamp | None = None
    freq: str | None = None
    maintain_tolerance: float = 0.05
    bounds: np.ndarray | None = None  # [2, C] lowest lower and highest upper per-period bound
    notes: list[str] = field(default_factory=list)
    sensitivity: list[dict[str, Any]] = field(default_factory=list)

    @property
    def current_totals(self) -> np.ndarray:
        return self.current * self.horizon

    @property
    def optimal_totals(self) -> np.ndarray:
        return (self.block_lengths[:, None] * self.optimal).sum(axis=0)

    def per_period(self) -> np.ndarray:
        """``[H, C]`` optimal spend for every period of the horizon."""
        return np.repeat(self.optimal, self.block_lengths, axis=0)

    def actions(self) -> dict[str, dict[str, Any]]:
        """Per channel: current and optimal horizon spend, % change and increase/decrease/maintain."""
        out = {}
        for c, ch in enumerate(self.channels):
            cur, opt = float(self.current_totals[c]), float(self.optimal_totals[c])
            change = (opt - cur) / cur if cur > 0 else (math.inf if opt > 0 else 0.0)
            if change > self.maintain_tolerance:
                action = "increase"
            elif change < -self.maintain_tolerance:
                action = "decrease"
            else:
                action = "maintain"
            out[ch] = {
                "current": cur,
                "optimal": opt,
                "current_per_period": float(self.current[c]),
                "optimal_per_period": float(self.optimal_totals[c] / self.horizon),
                "change_pct": None if math.isinf(change) else 100.0 * change,
                "action": action,
                "recommended_action": action if self.recommended else "maintain",
                "locked": ch in self.locked,
                "marginal_return": self.marginal_returns.get(ch),
                **self._bounds_of(c),
            }
        return out

    def _bounds_of(self, c: int) -> dict[str, float | None]:
        """Per-period spend range the constraints allowed channel ``c`` (trust region, user bounds, locks)."""
        if self.bounds is None:
            return {"lower_per_period": None, "upper_per_period": None}
        return {"lower_per_period": float(self.bounds[0, c]), "upper_per_period": float(self.bounds[1, c])}

    def plan_rows(self) -> list[dict[str, Any]]:
        """``[{period, date, <channel>: spend}]`` for each period of the horizon."""
        spend = self.per_period()
        dates = _future_dates(self.start_date, self.freq, self.horizon)
        rows = []
        for h in range(self.horizon):
            row: dict[str, Any] = {"period": h + 1}
            if dates is not None:
                row["date"] = dates[h].strftime("%Y-%m-%d")
            row.update({ch: float(spend[h, c]) for c, ch in enumerate(self.channels)})
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        """optimal_allocation.json (see docs/outputs.md)."""
        return {
            "total_budget": self.total_budget,
            "horizon_periods": self.horizon,
            "objective": self.objective,
            "quantile": self.quantile if self.objective == "conservative" else None,
            "margin": self.margin,
            "recommended": self.recommended,
            "reason": self.reason,
            "probability_beats_current": _finite_or_none(self.probability_beats_current),
            "channels": self.actions(),
            "revenue_current": self.revenue_current.to_dict(),
            "revenue_optimal": self.revenue_optimal.to_dict(),
            "lift": self.lift.to_dict(),
            "lift_pct": self.lift_pct.to_dict(),
            "revenue_definition": (
                f"predicted media revenue over the {self.horizon}-period horizon plus "
                f"{self.carryover_periods} periods of carry-over after it, summed over nodes"
            ),
            "optimality": {
                "converged": self.converged,
                "message": self.message,
                "marginal_spread": self.marginal_spread,
                "interior_channels": self.interior_channels,
                "active_constraints": self.active_constraints,
            },
            "replicates": {"optimised": self.n_replicates_optimised, "evaluated": self.n_replicates_evaluated},
            "locked": self.locked,
            "movable_channels": self.movable_channels,
            "notes": self.notes,
            "plan": self.plan_rows(),
            "sensitivity": self.sensitivity,
        }


def _finite_or_none(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _future_dates(start: pd.Timestamp | None, freq: str | None, n: int) -> pd.DatetimeIndex | None:
    if start is None or freq is None:
        return None
    return pd.date_range(start=start, periods=n, freq=freq)


def _next_period(dates: pd.DatetimeIndex) -> tuple[pd.Timestamp | None, str | None]:
    """First date after the data and a pandas frequency to continue it."""
    if len(dates) < 3:
        return None, None
    freq = pd.infer_freq(dates[-min(len(dates), 12):])
    if freq is None:
        return None, None
    return dates[-1] + pd.tseries.frequencies.to_offset(freq), freq


def split_replicates(n_models: int, split: bool) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the replicates that choose the plan and of those that judge it."""
    idx = np.arange(n_models)
    if not split or n_models < MIN_REPLICATES_TO_SPLIT:
        return idx, idx
    return idx[0::2], idx[1::2]


def _linear_constraint(row: np.ndarray, value: float, kind: str) -> dict[str, Any]:
    """SLSQP constraint ``row @ z - value`` (``== 0`` or ``>= 0``), scaled to order one."""
    scale = max(abs(value), 1.0)
    return {"type": kind, "fun": lambda z: (row @ z - value) / scale, "jac": lambda z: row / scale}


class BudgetProblem:
    """Everything about a budget question that does not change with the total budget.

    Build once, then :meth:`solve` for the main budget and for every point of the
    sensitivity curve (they share the model evaluations' setup and the replicate split).
    """

    def __init__(
        self,
        fitted: Any,
        data: ModelData,
        settings: dict[str, Any],
        *,
        horizon: int | None = None,
        objective: str | None = None,
        point_model: Any | None = None,
        not_identified: list[str] | None = None,
        mask: np.ndarray | None = None,
        overrides: dict[str, Any] | None = None,
        evidence: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.opt = {**(settings.get("optimizer") or {}), **(overrides or {})}
        self.data = data
        self.channels = list(data.channel_names)
        self.objective = objective or self.opt.get("objective", "conservative")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"settings.optimizer.objective must be one of {OBJECTIVES}, got '{self.objective}'")
        self.quantile = float(self.opt.get("quantile", 0.2))
        margin = self.opt.get("margin")
        self.margin = None if margin is None else float(margin)
        self.min_probability = float(self.opt.get("min_probability", 0.8))
        self.horizon = int(horizon or horizon_periods({"optimizer": self.opt}, data.frequency))
        self.n_blocks = int(self.opt.get("plan_blocks", 1))
        self.mask = mask
        self.current = current_spend(data, self.horizon)
        self.current_total = float(self.current.sum()) * self.horizon
        if self.current_total <= 0:
            raise ValueError(
                f"no media spend in the last {self.horizon} periods of {data.dataset or 'the data'}: "
                "there is no current mix to re-allocate; pass total_budget and absolute bounds"
            )
        self.extra_locked: list[str] = []
        self.notes: list[str] = []
        if not_identified and self.opt.get("lock_not_identified", True):
            self.extra_locked = [ch for ch in not_identified if ch in self.channels]
            self.notes.append(
                f"held at current spend because the data do not identify their returns: {join_names(self.extra_locked)}"
            )
        self.region = trust_region(self.opt, self.channels, evidence)
        if self.region.widened():
            self.notes.append(self.region.note())
        self.block_lengths = block_lengths(self.horizon, self.n_blocks)
        carry = bool(self.opt.get("count_carryover", True))
        self.evaluator = PlanEvaluator(fitted, data, self.block_lengths, count_carryover=carry)
        self.point_evaluator = (
            PlanEvaluator(point_model, data, self.block_lengths, count_carryover=carry) if point_model is not None else None
        )
        n_models = int(fitted.n_models)
        self.opt_idx, self.eval_idx = split_replicates(n_models, bool(self.opt.get("split_replicates", True)))
        if n_models < MIN_REPLICATES_TO_SPLIT:
            self.notes.append(
                f"only {n_models} replicates: the same replicates choose and judge the plan, so the "
                "probability of beating the current mix is optimistic"
            )
        self.hd_weights = torch.as_tensor(harrell_davis_weights(len(self.opt_idx), self.quantile), dtype=torch.float64)
        self.start_date, self.freq = _next_period(data.dates)

    # -- objective -------------------------------------------------------------------------
    def _value(self, revenue: torch.Tensor, spend: torch.Tensor, base_revenue: torch.Tensor, base_spend: float) -> torch.Tensor:
        """Per-replicate lift of revenue (or profit with a margin) over the comparator plan."""
        if self.margin is None:
            return revenue - base_revenue
        return self.margin * (revenue - base_revenue) - (spend - base_spend)

    def _objective(self, x: torch.Tensor, base: dict[str, Any]) -> torch.Tensor:
        spend = (torch.as_tensor(self.block_lengths, dtype=x.dtype)[:, None] * x).sum()
        if self.objective == "point" and self.point_evaluator is not None:
            rev = self.point_evaluator.revenue(x)
            return self._value(rev, spend, base["point"], base["spend"]).mean()
        rev = self.evaluator.revenue(x)[torch.as_tensor(self.opt_idx)]
        lift = self._value(rev, spend, base["opt"], base["spend"])
        if self.objective == "conservative":
            return (torch.sort(lift).values * self.hd_weights).sum()
        return lift.mean()

    # -- solve -----------------------------------------------------------------------------
    def constraints(self, total_budget: float) -> PlanConstraints:
        return build_constraints(
            self.opt,
            self.channels,
            self.current,
            horizon=self.horizon,
            n_blocks=self.n_blocks,
            total_budget=total_budget,
            maximise_profit=self.margin is not None,
            extra_locked=self.extra_locked,
            mask=self.mask,
            region=self.region,
        )

    def solve(self, total_budget: float | None = None, *, start: np.ndarray | None = None) -> BudgetPlan:
        """Optimise the plan for ``total_budget`` (horizon money; default: the current run-rate)."""
        total = float(total_budget) if total_budget is not None else self.current_total
        cons = self.constraints(total)
        comparator = self.current * (total / self.current_total)  # current mix at this budget
        comp_plan = self.evaluator.flat(comparator)
        scale = np.maximum(comp_plan, total / self.horizon / max(len(self.channels), 1) * 1e-2)
        x0 = feasible_point(cons, comp_plan if start is None else start, scale)
        base_all = self.evaluator.revenue_np(comp_plan)
        base = {
            "opt": torch.as_tensor(base_all[self.opt_idx]),
            "spend": float(cons.totals(comp_plan).sum()),
            "point": torch.as_tensor(self.point_evaluator.revenue_np(comp_plan)) if self.point_evaluator else None,
        }
        norm = max(abs(float(base_all.mean())), 1e-12)
        x, converged, message = self._run_slsqp(cons, x0, scale, base, norm)
        problems = cons.violations(x)
        if problems:
            log.warning("optimizer result breaks constraints (%s); projecting back", problems)
            x = feasible_point(cons, x, scale)
        if self._objective_np(x, base) < self._objective_np(x0, base):
            log.warning("optimizer ended below its feasible start; keeping the start")
            x, converged, message = x0, False, f"{message}; kept the feasible start (better objective)"
        return self._report(cons, x, comparator, comp_plan, base_all, base, converged, message)

    def _objective_np(self, x: np.ndarray, base: dict[str, Any]) -> float:
        with torch.no_grad():
            return float(self._objective(torch.as_tensor(x, dtype=torch.float64), base))

    def _run_slsqp(
        self, cons: PlanConstraints, x0: np.ndarray, scale: np.ndarray, base: dict[str, Any], norm: float
    ) -> tuple[np.ndarray, bool, str]:
        shape = cons.lower.shape
        free = ~cons.fixed.reshape(-1)
        if not free.any():
            return x0, True, "every channel is fixed by locks, masks or bounds"
        s = scale.reshape(-1)[free]
        fixed_x = torch.as_tensor(np.where(free, 0.0, cons.lower.reshape(-1)), dtype=torch.float64)
        free_idx = torch.as_tensor(np.flatnonzero(free))
        s_t = torch.as_tensor(s, dtype=torch.float64)

        def fun(z: np.ndarray) -> tuple[float, np.ndarray]:
            zt = torch.as_tensor(z, dtype=torch.float64).requires_grad_(True)
            x = fixed_x.index_put((free_idx,), zt * s_t).reshape(shape)
            value = -self._objective(x, base) / norm
            (grad,) = torch.autograd.grad(value, zt)
            return float(value.detach()), grad.numpy()

        a, lo, hi, _ = cons.matrix()
        a_fixed = a[:, ~free] @ cons.lower.reshape(-1)[~free]
        a_z = a[:, free] * s[None, :]
        constraints = []
        for i in range(a.shape[0]):
            lo_i, hi_i = lo[i] - a_fixed[i], hi[i] - a_fixed[i]
            if np.isfinite(lo_i) and np.isfinite(hi_i) and math.isclose(lo_i, hi_i, rel_tol=1e-12, abs_tol=1e-9):
                constraints.append(_linear_constraint(a_z[i], lo_i, "eq"))
                continue
            if np.isfinite(lo_i):
                constraints.append(_linear_constraint(a_z[i], lo_i, "ineq"))
            if np.isfinite(hi_i):
                constraints.append(_linear_constraint(-a_z[i], -hi_i, "ineq"))
        bounds = list(zip(cons.lower.reshape(-1)[free] / s, cons.upper.reshape(-1)[free] / s))
        z0 = x0.reshape(-1)[free] / s
        res = minimize(
            fun, z0, jac=True, method="SLSQP", bounds=bounds, constraints=constraints,
            options={"maxiter": int(self.opt.get("max_iterations", 300)), "ftol": float(self.opt.get("ftol", 1e-10))},
        )
        z = np.clip(res.x, [b[0] for b in bounds], [b[1] for b in bounds])
        x = cons.lower.reshape(-1).copy()
        x[free] = z * s
        log.info("optimizer: %s after %d iterations", res.message, res.nit)
        return x.reshape(shape), bool(res.success), str(res.message)

    # -- report ----------------------------------------------------------------------------
    def _marginals(self, x: np.ndarray, base: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Per channel: marginal objective and marginal mean revenue per unit of horizon money."""
        xt = torch.as_tensor(x, dtype=torch.float64).requires_grad_(True)
        obj = self._objective(xt, base)
        (g_obj,) = torch.autograd.grad(obj, xt)
        xt2 = torch.as_tensor(x, dtype=torch.float64).requires_grad_(True)
        rev = self.evaluator.revenue(xt2)[torch.as_tensor(self.eval_idx)].mean()
        (g_rev,) = torch.autograd.grad(rev, xt2)
        # x[b, c] is spend per period over n_b periods, so d/d(money) averages the gradient over the horizon
        per_money_obj = g_obj.sum(0) / self.horizon
        per_money_rev = g_rev.sum(0) / self.horizon
        return per_money_obj.numpy(), per_money_rev.numpy()

    def _report(
        self,
        cons: PlanConstraints,
        x: np.ndarray,
        comparator: np.ndarray,
        comp_plan: np.ndarray,
        base_all: np.ndarray,
        base: dict[str, Any],
        converged: bool,
        message: str,
    ) -> BudgetPlan:
        level = 0.95
        rev_opt_all = self.evaluator.revenue_np(x)
        spend_opt = float(cons.totals(x).sum())
        spend_cur = float(cons.totals(comp_plan).sum())
        ev = self.eval_idx
        rev_cur, rev_opt = base_all[ev], rev_opt_all[ev]
        if self.margin is None:
            lift = rev_opt - rev_cur
        else:
            lift = self.margin * (rev_opt - rev_cur) - (spend_opt - spend_cur)
        lift_pct = 100.0 * (rev_opt - rev_cur) / np.where(np.abs(rev_cur) > 0, np.abs(rev_cur), np.nan)
        prob = probability_positive(lift)
        g_obj, g_rev = self._marginals(x, base)
        interior, active = self._interior(cons, x)
        marg = g_rev if self.margin is None else self.margin * g_rev - 1.0
        # at an optimum the objective's marginal is equal across channels no constraint holds
        gross = g_obj if self.margin is None else g_obj + 1.0
        spread = None
        if len(interior) >= 2:
            pick = [self.channels.index(ch) for ch in interior]
            spread = float((g_obj[pick].max() - g_obj[pick].min()) / max(abs(float(gross[pick].mean())), 1e-300))
        recommended, reason = self._recommendation(lift, prob, rev_cur)
        movable = [ch for c, ch in enumerate(self.channels) if not cons.fixed[:, c].all()]
        if not movable:
            recommended, reason = False, self._nothing_to_move(cons)
        return BudgetPlan(
            channels=self.channels,
            horizon=self.horizon,
            block_lengths=self.block_lengths,
            total_budget=cons.total_budget,
            current=comparator,
            optimal=x,
            objective=self.objective,
            recommended=recommended,
            reason=reason,
            probability_beats_current=prob,
            revenue_current=interval(rev_cur, level),
            revenue_optimal=interval(rev_opt, level),
            lift=interval(lift, level),
            lift_pct=interval(lift_pct, level),
            marginal_returns={ch: float(marg[c]) for c, ch in enumerate(self.channels)},
            marginal_spread=spread,
            interior_channels=interior,
            active_constraints=active,
            movable_channels=movable,
            converged=converged,
            message=message,
            locked=list(cons.locked),
            margin=self.margin,
            quantile=self.quantile,
            n_replicates_optimised=len(self.opt_idx),
            n_replicates_evaluated=len(self.eval_idx),
            carryover_periods=self.evaluator.tail,
            start_date=self.start_date,
            freq=self.freq,
            maintain_tolerance=float(self.opt.get("maintain_tolerance", 0.05)),
            bounds=np.vstack([cons.lower.min(axis=0), cons.upper.max(axis=0)]),
            notes=list(self.notes),
        )

    def _interior(self, cons: PlanConstraints, x: np.ndarray) -> tuple[list[str], list[str]]:
        """Channels held by no bound or active linear constraint, and the active constraints."""
        a, lo, hi, labels = cons.matrix()
        ax = a @ x.reshape(-1)
        tol = 1e-5 * max(cons.total_budget, 1.0)
        active = [labels[i] for i in range(len(labels)) if abs(ax[i] - lo[i]) <= tol or abs(ax[i] - hi[i]) <= tol]
        span = np.maximum(cons.upper - cons.lower, 1e-12)
        at_bound = ((x - cons.lower) <= 1e-4 * span) | ((cons.upper - x) <= 1e-4 * span) | cons.fixed
        held = at_bound.any(axis=0)
        for i, con in enumerate(cons.linear, start=1):
            if labels[i] in active:
                held |= con.coefficients != 0
        return [ch for c, ch in enumerate(self.channels) if not held[c]], active

    def _nothing_to_move(self, cons: PlanConstraints) -> str:
        """Why the plan is the current mix when locks, masks and bounds pin every channel."""
        dark = [ch for c, ch in enumerate(self.channels) if self.current[c] <= 0 and ch not in cons.locked]
        parts = [f"held at current spend: {join_names(cons.locked)}"] if cons.locked else []
        if dark:
            parts.append(f"no recent spend, and bounds relative to zero spend are zero: {join_names(dark)}")
        if cons.off:
            parts.append(f"switched off: {join_names(cons.off)}")
        return "keep the current mix: no channel is free to move (" + "; ".join(parts or ["zero-width bounds"]) + ")"

    def _recommendation(self, lift: np.ndarray, prob: float, rev_cur: np.ndarray) -> tuple[bool, str]:
        min_rel = float(self.opt.get("min_lift_pct", 0.1)) / 100.0
        mean_lift = float(np.mean(lift))
        rel = mean_lift / max(abs(float(np.mean(rev_cur))), 1e-12)
        what = "profit" if self.margin is not None else "media revenue"
        if not math.isfinite(prob):
            return False, "keep the current mix: the replicates gave no finite revenue for the plan"
        if mean_lift <= 0 or rel < min_rel:
            return False, (
                f"keep the current mix: the best plan changes expected {what} by {rel:+.2%}, below the "
                f"{min_rel:.2%} worth acting on - the current mix is already close to optimal under these constraints"
            )
        if prob < self.min_probability:
            return False, (
                f"keep the current mix: the optimised plan beats it in only {prob:.0%} of bootstrap replicates "
                f"(needs {self.min_probability:.0%}); expected {what} lift {rel:+.2%} is not backed by the evidence"
            )
        return True, (
            f"the plan beats the current mix in {prob:.0%} of bootstrap replicates it was not optimised on "
            f"(threshold {self.min_probability:.0%}); expected {what} lift {rel:+.2%}"
        )


def optimize_budget(
    fitted: Any,
    data: ModelData,
    settings: dict[str, Any],
    *,
    total_budget: float | None = None,
    horizon: int | None = None,
    objective: str | None = None,
    point_model: Any | None = None,
    not_identified: list[str] | None = None,
    mask: np.ndarray | None = None,
    overrides: dict[str, Any] | None = None,
    evidence: dict[str, dict[str, Any]] | None = None,
    sensitivity: bool = True,
) -> BudgetPlan:
    """Optimise the media plan over the horizon and attach the budget-sensitivity curve.

    ``fitted``: a FittedNAM whose members are bootstrap replicates (one member works, but then
    the probability is not meaningful and a note says so). ``point_model``: the full-data fit,
    used by objective ``point``. ``not_identified``: channels to hold at current spend
    (``settings.optimizer.lock_not_identified``). ``overrides``: keys that replace
    ``settings.optimizer`` for this call (bounds, locked, linear_constraints ...).
    ``evidence``: the channels.json mapping (``roas`` interval and ``identified`` per channel);
    with it, channels whose ROAS is pinned down may move beyond ``bounds_pct``
    (:mod:`mmm_pipeline.core.plan.trust_region`); without it every channel gets the plain box.
    ``total_budget`` is horizon money; default the current run-rate times the horizon.
    """
    problem = BudgetProblem(
        fitted, data, settings, horizon=horizon, objective=objective, point_model=point_model,
        not_identified=not_identified, mask=mask, overrides=overrides, evidence=evidence,
    )
    plan = problem.solve(total_budget)
    if sensitivity:
        from mmm_pipeline.core.plan.sensitivity import budget_sensitivity

        plan.sensitivity = budget_sensitivity(problem, plan)
    return plan
