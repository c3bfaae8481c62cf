"""How answers move with the budget and with each channel's spend.

Two views a planner asks for after "what is the best plan?": what happens to revenue and ROI
if the total budget is cut or raised (the budget-sensitivity curve, re-optimised at every
level), and, channel by channel, how average and marginal ROI fall as spend rises (the ROI
simulator, with the current spend marked and bootstrap bands).
"""

import logging
from typing import Any

import numpy as np

from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.infer.intervals import curve_band
from mmm_pipeline.core.plan.constraints import PlanConstraintError

log = logging.getLogger(__name__)

DEFAULT_CHANGES = (-0.5, -0.25, 0.0, 0.25, 0.5)


def budget_sensitivity(problem: Any, plan: Any, changes: list[float] | None = None) -> list[dict[str, Any]]:
    """Optimal media revenue and ROI at each budget ``plan.total_budget * (1 + change)``.

    ``problem`` is the :class:`~mmm_pipeline.core.plan.optimizer.BudgetProblem` that produced
    ``plan``; each level is re-optimised under the same constraints (percentage bounds move with
    the budget, locks stay). A level the constraints cannot meet is reported as infeasible
    rather than dropped, so the chart shows where the constraints bite.
    """
    changes = list(changes if changes is not None else problem.opt.get("sensitivity", DEFAULT_CHANGES))
    rows = []
    for change in sorted(float(c) for c in changes):
        total = plan.total_budget * (1.0 + change)
        if total <= 0:
            rows.append(_infeasible(change, total, "a budget change of -100% or more leaves nothing to plan"))
            continue
        if abs(change) < 1e-12:
            level = plan
        else:
            try:
                level = problem.solve(total, start=plan.optimal * (1.0 + change))
            except PlanConstraintError as exc:
                rows.append(_infeasible(change, total, str(exc)))
                continue
        spend = float(level.optimal_totals.sum())
        rows.append(
            {
                "budget_change": change,
                "total_budget": total,
                "spend": spend,
                "feasible": True,
                "revenue": level.revenue_optimal.to_dict(),
                "roi": level.revenue_optimal.mean / spend if spend > 0 else None,
                "revenue_current_mix": level.revenue_current.mean,
                "probability_beats_current_mix": level.probability_beats_current,
                "note": "",
            }
        )
    return rows


def _infeasible(change: float, total: float, why: str) -> dict[str, Any]:
    return {
        "budget_change": change, "total_budget": total, "spend": None, "feasible": False, "revenue": None,
        "roi": None, "revenue_current_mix": None,
        "probability_beats_current_mix": None, "note": why,
    }


def spend_grid(history: np.ndarray, current: float, saturation: float | None, n_points: int = 41) -> np.ndarray:
    """``[G]`` per-period spend grid from 0 past both the current spend and the observed range.

    The grid runs to ``max(2 x current, 1.2 x largest observed spend)`` and stretches to show the
    saturation point when it lies within three times the observed maximum (beyond that the
    curve is extrapolation and showing it would invite over-reading).
    """
    hist_max = float(np.max(history)) if np.size(history) else 0.0
    top = max(2.0 * float(current), 1.2 * hist_max)
    if saturation is not None and np.isfinite(saturation) and top < saturation <= 3.0 * max(hist_max, 1e-12):
        top = 1.1 * float(saturation)
    if top <= 0:
        top = 1.0
    return np.linspace(0.0, top, n_points)


def response_curves(
    fitted: Any,
    data: ModelData,
    settings: dict[str, Any],
    current: np.ndarray,
    *,
    optimal: np.ndarray | None = None,
    saturation: dict[str, float | None] | None = None,
    n_points: int = 41,
) -> dict[str, dict[str, Any]]:
    """response_curves.json and the ROI simulator's data, per channel.

    ``current [C]`` and ``optimal [C]`` are per-period spend (the optimizer's comparator and
    plan); ``saturation`` maps channel -> saturation spend from channels.json. Each channel gets
    the steady-state contribution per period with a bootstrap band, average ROI
    (contribution / spend) and marginal ROI (d contribution / d spend) bands, and the values
    at the current spend.
    """
    level = float((settings.get("bootstrap") or {}).get("level", 0.95))
    out: dict[str, dict[str, Any]] = {}
    spend_hist = np.asarray(data.spend, dtype=float)
    for c, ch in enumerate(data.channel_names):
        sat = (saturation or {}).get(ch)
        grid = spend_grid(spend_hist[:, c], float(current[c]), sat, n_points)
        # the current spend is put on the grid so the marked point is read off, not interpolated
        grid = np.unique(np.append(grid, float(current[c])))
        curves = np.asarray(fitted.response_curve(ch, grid, data), dtype=float)  # [K, G]
        marginal = np.gradient(curves, grid, axis=1)
        average = np.empty_like(curves)
        average[:, 1:] = curves[:, 1:] / grid[None, 1:]
        average[:, 0] = marginal[:, 0]  # contribution / spend tends to the marginal return as spend -> 0
        band = curve_band(curves, level)
        i_cur = int(np.argmin(np.abs(grid - current[c])))
        out[ch] = {
            "spend": [float(g) for g in grid],
            **band,
            "average_roi": curve_band(average, level),
            "marginal_roi": curve_band(marginal, level),
            "current_spend": float(current[c]),
            "optimal_spend": None if optimal is None else float(optimal[c]),
            "saturation_spend": None if sat is None or not np.isfinite(sat) else float(sat),
            "current_point": {
                "spend": float(grid[i_cur]),
                "contribution": band["mean"][i_cur],
                "average_roi": float(np.mean(average[:, i_cur])),
                "marginal_roi": float(np.mean(marginal[:, i_cur])),
            },
        }
    return out
