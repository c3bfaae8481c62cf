"""Charts of the budget plan: current vs optimal mix, budget sensitivity, scenarios."""

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from mmm_pipeline.core.report import chart_style as style
from mmm_pipeline.core.report.chart_style import (
    BAD,
    BASE_COLOUR,
    GOOD,
    INK,
    MUTED,
    PALETTE,
    interval_of,
    money_axis,
    num,
    styled,
)
from mmm_pipeline.core.report.derived import Interval


def budget_chart(changes: list[dict[str, Any]], period: str) -> bytes:
    """Current vs optimal spend per period, per channel."""
    with styled():
        fig = Figure(figsize=(8, 0.55 * len(changes) + 1.2))
        ax = fig.subplots()
        y = np.arange(len(changes))
        current = [num(c["current"]) for c in changes]
        optimal = [num(c["optimal"]) for c in changes]
        ax.barh(y - 0.2, np.nan_to_num(current), height=0.38, color=BASE_COLOUR, label="current")
        ax.barh(y + 0.2, np.nan_to_num(optimal), height=0.38, color=PALETTE[0], label="optimal")
        for yi, change in zip(y, changes):
            label = "held" if change.get("locked") else (
                f"{change['change'] * 100:+.0f}%" if change["change"] is not None else "")
            ax.annotate(label, (np.nanmax([num(change["optimal"]), 0]), yi + 0.2),
                        xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
        ax.set_yticks(y, [c["channel"] for c in changes])
        ax.invert_yaxis()
        money_axis(ax.xaxis)
        ax.set_xlabel(f"spend per {period}")
        ax.grid(axis="y", visible=False)
        ax.legend(loc="lower right")
        ax.set_title("Budget: current vs optimal mix")
        fig.tight_layout()
        return style.to_png(fig)


def sensitivity_chart(points: list[dict[str, Any]]) -> bytes:
    """Revenue and return as the total budget moves: where does extra money stop paying?"""
    points = sorted((p for p in points if p.get("feasible", True) is not False),
                    key=lambda p: num(p.get("total_budget")))
    budget = np.array([num(p.get("total_budget")) for p in points])
    revenue = np.array([interval_of(p.get("revenue"))[0] for p in points])
    lo = np.array([num(p.get("revenue_lo", interval_of(p.get("revenue"))[1])) for p in points])
    hi = np.array([num(p.get("revenue_hi", interval_of(p.get("revenue"))[2])) for p in points])
    current_mix = np.array([num(p.get("revenue_current_mix")) for p in points])
    roi = np.array([num(p.get("roi")) for p in points])
    change = np.array([num(p.get("budget_change")) for p in points])
    with styled():
        fig = Figure(figsize=(9.5, 3.2))
        ax_rev, ax_roi = fig.subplots(1, 2)
        if np.isfinite(lo).all() and np.isfinite(hi).all():
            ax_rev.fill_between(budget, lo, hi, color=PALETTE[0], alpha=0.18, lw=0)
        ax_rev.plot(budget, revenue, "o-", color=PALETTE[0], lw=2, label="best mix at that budget")
        if np.isfinite(current_mix).all():
            ax_rev.plot(budget, current_mix, "s--", color=MUTED, lw=1.5, ms=4, label="current mix, scaled")
        ax_rev.legend(loc="upper left", fontsize=8)
        ax_roi.plot(budget, roi, "o-", color=PALETTE[1], lw=2)
        now = np.where(np.isclose(change, 0.0))[0]
        for ax, values in ((ax_rev, revenue), (ax_roi, roi)):
            if now.size:
                ax.plot(budget[now[0]], values[now[0]], "o", ms=10, mfc="none", mec=INK, mew=1.5)
                ax.annotate("today's budget", (budget[now[0]], values[now[0]]), xytext=(6, -12),
                            textcoords="offset points", fontsize=8)
            money_axis(ax.xaxis)
            ax.set_xlabel("total budget over the horizon")
        money_axis(ax_rev.yaxis)
        ax_rev.set_title("Media revenue vs total budget")
        ax_roi.set_title("Revenue per unit of media spend")
        fig.tight_layout()
        return style.to_png(fig)


def scenario_chart(names: list[str], lifts: list[Interval]) -> bytes:
    """Each scenario's revenue change vs the current plan, with its interval."""
    with styled():
        fig = Figure(figsize=(7.5, 0.5 * len(names) + 1.2))
        ax = fig.subplots()
        for y, iv in enumerate(lifts):
            colour = GOOD if (iv["mean"] or 0) >= 0 else BAD
            if iv["lo"] is not None and iv["hi"] is not None:
                ax.plot([iv["lo"] * 100, iv["hi"] * 100], [y, y], color=colour, lw=5, alpha=0.4,
                        solid_capstyle="round")
            ax.plot(iv["mean"] * 100, y, "o", color=colour, ms=8)
            ax.annotate(f"{iv['mean'] * 100:+.1f}%", (iv["mean"] * 100, y), xytext=(0, 8),
                        textcoords="offset points", ha="center", fontsize=8)
        ax.axvline(0, color=INK, lw=1)
        ax.set_yticks(range(len(names)), names)
        ax.set_ylim(len(names) - 0.4, -0.8)
        ax.set_xlabel("revenue change vs what actually ran (%)")
        ax.grid(axis="y", visible=False)
        ax.set_title("Scenarios")
        fig.tight_layout()
        return style.to_png(fig)
