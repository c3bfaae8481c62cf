"""Charts of what drove revenue: decomposition, ROAS, saturation, carry-over, price.

Intervals are always drawn, and a not-identified channel is grey and labelled, never given a
confident-looking dot.
"""

from typing import Any

import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.figure import Figure

from mmm_pipeline.core.report import chart_style as style
from mmm_pipeline.core.report.chart_style import (
    BAD,
    BASE_COLOUR,
    GOOD,
    INK,
    MUTED,
    PALETTE,
    date_axis,
    grid_shape,
    money_axis,
    num,
    styled,
)
from mmm_pipeline.core.report.derived import ChannelRow, Interval
from mmm_pipeline.core.report.formatting import fmt_amount

#: the most drivers drawn individually in the decomposition; the rest become "other drivers"
MAX_DRIVERS = 8


def decomposition_chart(frame: pd.DataFrame, drivers: list[str], colours: dict[str, str]) -> bytes:
    """Top: revenue stacked from base up, with actuals. Bottom: the drivers alone, around zero.

    The base is usually most of revenue, which flattens the drivers in the top panel; the
    bottom panel zooms in on what marketing and pricing moved period by period.
    """
    per_date = _driver_totals(frame, drivers)
    shown, per_date = _top_drivers(per_date, drivers)
    with styled():
        fig = Figure(figsize=(10, 6.0))
        ax_all, ax_drivers = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1.25, 1]})
        x = per_date.index
        ax_all.fill_between(x, 0, per_date["base"].to_numpy(), color=BASE_COLOUR, lw=0, label="base")
        _stack(ax_all, x, per_date, shown, colours, start=per_date["base"].to_numpy())
        ax_all.plot(x, per_date["actual"], color=INK, lw=1.1, label="actual")
        ax_all.set_title("Revenue by driver each period (stacked on the base)")
        ax_all.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8.5)
        _stack(ax_drivers, x, per_date, shown, colours, start=np.zeros(len(x)))
        ax_drivers.axhline(0, color="#52606d", lw=0.8)
        ax_drivers.set_title("Drivers only (above zero: adds revenue; below: takes it away)")
        for ax in (ax_all, ax_drivers):
            money_axis(ax.yaxis)
        date_axis(ax_drivers)
        fig.tight_layout()
        return style.to_png(fig)


def _stack(
    ax: Any, x: Any, per_date: pd.DataFrame, shown: list[str], colours: dict[str, str], start: np.ndarray
) -> None:
    """Stack positive parts upward from ``start`` and negative parts downward from it."""
    pos, neg = start.astype(float).copy(), start.astype(float).copy()
    for name in shown:
        values = per_date[name].to_numpy(dtype=float)
        colour = colours.get(name, MUTED)
        up, down = np.clip(values, 0, None), np.clip(values, None, 0)
        ax.fill_between(x, pos, pos + up, color=colour, lw=0, label=name, alpha=0.9)
        ax.fill_between(x, neg + down, neg, color=colour, lw=0, alpha=0.9)
        pos, neg = pos + up, neg + down


def _driver_totals(frame: pd.DataFrame, drivers: list[str]) -> pd.DataFrame:
    """Sum over nodes per date; daily data is summed to weeks so the areas stay legible."""
    per_date = frame.groupby("date")[["actual", "predicted", "base", *drivers]].sum().sort_index()
    if len(per_date) > 200:
        per_date = per_date.resample("W-MON", label="left", closed="left").sum()
    return per_date


def _top_drivers(per_date: pd.DataFrame, drivers: list[str]) -> tuple[list[str], pd.DataFrame]:
    size = per_date[drivers].abs().sum().sort_values(ascending=False)
    shown = list(size.index[:MAX_DRIVERS])
    rest = [d for d in drivers if d not in shown]
    if rest:
        per_date = per_date.assign(**{"other drivers": per_date[rest].sum(axis=1)})
        shown.append("other drivers")
    return shown, per_date


def waterfall_chart(frame: pd.DataFrame, drivers: list[str], colours: dict[str, str]) -> bytes:
    """Total contribution of each driver over the whole window, from base to prediction."""
    totals = frame[["base", *drivers]].sum()
    order = totals[drivers].abs().sort_values(ascending=False).index
    steps = [("base", float(totals["base"]))] + [(d, float(totals[d])) for d in order]
    with styled():
        fig = Figure(figsize=(8.5, 0.36 * (len(steps) + 1) + 1.0))
        ax = fig.subplots()
        start = 0.0
        for y, (name, value) in enumerate(steps):
            colour = BASE_COLOUR if name == "base" else colours.get(name, GOOD if value >= 0 else BAD)
            ax.barh(y, value, left=start, color=colour, height=0.62)
            label = fmt_amount(value) if name == "base" else f"{'+' if value >= 0 else ''}{fmt_amount(value)}"
            ax.annotate(label, (start + max(value, 0), y), xytext=(4, 0), textcoords="offset points",
                        va="center", fontsize=8)
            start += value
        total_y = len(steps)
        ax.barh(total_y, start, color=INK, height=0.62)
        ax.annotate(fmt_amount(start), (start, total_y), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=8, fontweight="bold")
        ax.set_yticks(range(total_y + 1), [s[0] for s in steps] + ["predicted total"])
        ax.invert_yaxis()
        money_axis(ax.xaxis)
        ax.grid(axis="y", visible=False)
        ax.set_title("Contribution waterfall over the whole window")
        fig.tight_layout()
        return style.to_png(fig)


def roas_chart(rows: list[ChannelRow], colours: dict[str, str]) -> bytes:
    """ROAS with interval bars; not-identified channels are grey, hollow and labelled."""
    rows = [r for r in rows if r.roas is not None]
    with styled():
        fig = Figure(figsize=(8, 0.5 * len(rows) + 1.2))
        ax = fig.subplots()
        for y, row in enumerate(rows):
            lo, hi, mean = row.roas["lo"], row.roas["hi"], row.roas["mean"]
            colour = colours.get(row.name, PALETTE[0]) if row.identified else MUTED
            if lo is not None and hi is not None:
                ax.plot([lo, hi], [y, y], color=colour, lw=5 if row.identified else 3, alpha=0.55,
                        solid_capstyle="round")
            if row.identified and mean is not None:
                ax.plot(mean, y, "o", color=colour, ms=8)
                ax.annotate(f"{mean:.2f}", (mean, y), xytext=(0, 8), textcoords="offset points", ha="center",
                            fontsize=8)
            else:
                ax.annotate("not identified", ((lo or 0) if hi is None else hi, y), xytext=(6, 0),
                            textcoords="offset points", va="center", fontsize=8, color="#52606d", style="italic")
        ax.axvline(1.0, color=INK, ls="--", lw=1)
        ax.annotate("break-even", (1.0, -0.6), xytext=(3, 0), textcoords="offset points", fontsize=8)
        ax.set_yticks(range(len(rows)), [r.name for r in rows])
        ax.set_ylim(len(rows) - 0.4, -0.9)
        ax.set_xlim(left=0)
        ax.set_xlabel("revenue per unit of spend (ROAS)")
        ax.grid(axis="y", visible=False)
        ax.set_title("Return on ad spend with intervals")
        fig.tight_layout()
        return style.to_png(fig)


def saturation_chart(curves: dict[str, Any], rows: list[ChannelRow], colours: dict[str, str]) -> bytes:
    """Per-period response curves with current (●), optimal (◆) and saturation (dotted) spend."""
    identified = {r.name: r.identified for r in rows}
    names = [n for n in curves if isinstance(curves[n], dict) and curves[n].get("spend")]
    nrows, ncols = grid_shape(len(names))
    with styled():
        fig = Figure(figsize=(3.4 * ncols, 2.7 * nrows))
        axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
        for ax, name in zip(axes, names):
            _one_curve(ax, name, curves[name], colours.get(name, PALETTE[0]), identified.get(name, True))
        for ax in axes[len(names):]:
            ax.set_visible(False)
        fig.tight_layout()
        return style.to_png(fig)


def _one_curve(ax: Any, name: str, curve: dict[str, Any], colour: str, identified: bool) -> None:
    spend = np.asarray(curve["spend"], dtype=float)
    mean = np.asarray(curve.get("mean", []), dtype=float)
    if mean.shape != spend.shape:
        ax.set_title(f"{name}: curve unreadable")
        return
    colour = colour if identified else MUTED
    lo, hi = curve.get("lo"), curve.get("hi")
    if lo is not None and hi is not None and len(lo) == len(spend) == len(hi):
        ax.fill_between(spend, np.asarray(lo, float), np.asarray(hi, float), color=colour, alpha=0.18, lw=0)
    ax.plot(spend, mean, color=colour, lw=2)
    sat = num(curve.get("saturation_spend"))
    if np.isfinite(sat) and sat <= spend.max() * 1.05:
        ax.axvline(sat, color="#52606d", ls=":", lw=1)
    for key, marker, label in (("current_spend", "o", "current"), ("optimal_spend", "D", "optimal")):
        x = num(curve.get(key))
        if np.isfinite(x):
            ax.plot(x, np.interp(x, spend, mean), marker, color=INK if key == "current_spend" else GOOD,
                    ms=6, label=label, zorder=5)
    ax.set_title(name + ("" if identified else " (not identified)"), fontsize=10)
    money_axis(ax.xaxis)
    money_axis(ax.yaxis)
    ax.tick_params(labelsize=7.5)
    ax.legend(fontsize=7, loc="lower right")


def adstock_chart(rows: list[ChannelRow], colours: dict[str, str], period: str) -> bytes:
    """Share of a period's spend effect that lands 0, 1, 2 ... periods later, per channel."""
    rows = [r for r in rows if r.weights]
    with styled():
        fig = Figure(figsize=(8.5, 3.3))
        ax = fig.subplots()
        for row in rows:
            weights = np.asarray(row.weights, dtype=float)
            total = weights.sum()
            shares = weights / total if total > 0 else weights
            ax.plot(np.arange(len(shares)), shares * 100, "o-", color=colours.get(row.name, MUTED), lw=1.8, ms=4,
                    label=row.name, alpha=1.0 if row.identified else 0.5)
        ax.set_xlabel(f"{period}s after the spend")
        ax.set_ylabel("% of the effect")
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        ax.set_title("Carry-over (adstock): when the effect of spend arrives")
        ax.legend(loc="upper right", ncols=2 if len(rows) > 5 else 1)
        fig.tight_layout()
        return style.to_png(fig)


PRICE_CHANGES = np.linspace(-0.2, 0.2, 41)


def price_response(elasticity: float, changes: np.ndarray = PRICE_CHANGES) -> np.ndarray:
    """Sales change implied by a constant elasticity: (1 + Δp)^e - 1."""
    return (1.0 + changes) ** elasticity - 1.0


def price_chart(elasticities: dict[str, Interval]) -> bytes:
    """Implied sales change vs price change per category, with the interval as a band."""
    with styled():
        fig = Figure(figsize=(7.5, 3.8))
        ax = fig.subplots()
        x = PRICE_CHANGES * 100
        for i, (name, iv) in enumerate(elasticities.items()):
            colour = PALETTE[i % len(PALETTE)]
            if iv["lo"] is not None and iv["hi"] is not None:
                a, b = price_response(iv["lo"]), price_response(iv["hi"])
                ax.fill_between(x, np.minimum(a, b) * 100, np.maximum(a, b) * 100, color=colour, alpha=0.15, lw=0)
            ax.plot(x, price_response(iv["mean"]) * 100, color=colour, lw=2, label=f"{name} ({iv['mean']:.2f})")
        ax.axhline(0, color="#52606d", lw=0.8)
        ax.axvline(0, color="#52606d", lw=0.8)
        ax.set_xlabel("price change (%)")
        ax.set_ylabel("sales change (%)")
        ax.set_title("Price response implied by the elasticity (band = interval)")
        ax.legend(title="category (elasticity)", fontsize=8, title_fontsize=8)
        fig.tight_layout()
        return style.to_png(fig)


def hierarchy_chart(categories: dict[str, Interval], leaves: dict[str, Interval], mapping: dict[str, str]) -> bytes:
    """Sub-category elasticities next to their category's: how much does pooling let them differ?"""
    labels, values, colours, weights = [], [], [], []
    for i, (cat, iv) in enumerate(categories.items()):
        colour = PALETTE[i % len(PALETTE)]
        labels.append(cat)
        values.append(iv)
        colours.append(colour)
        weights.append("bold")
        for node, leaf in leaves.items():
            if mapping.get(node) == cat:
                labels.append(f"   {node}")
                values.append(leaf)
                colours.append(colour)
                weights.append("normal")
    for node, leaf in leaves.items():
        if mapping.get(node) not in categories:  # sub-categories whose category is unknown
            labels.append(f"{node} (category unknown)")
            values.append(leaf)
            colours.append(MUTED)
            weights.append("normal")
    with styled():
        fig = Figure(figsize=(7.5, 0.38 * len(labels) + 1.2))
        ax = fig.subplots()
        for y, (iv, colour, weight) in enumerate(zip(values, colours, weights)):
            if iv["lo"] is not None and iv["hi"] is not None:
                ax.plot([iv["lo"], iv["hi"]], [y, y], color=colour, lw=4 if weight == "bold" else 2.5, alpha=0.5,
                        solid_capstyle="round")
            ax.plot(iv["mean"], y, "s" if weight == "bold" else "o", color=colour, ms=7 if weight == "bold" else 5)
        ax.set_yticks(range(len(labels)), labels)
        for tick, weight in zip(ax.get_yticklabels(), weights):
            tick.set_fontweight(weight)
        ax.invert_yaxis()
        ax.axvline(0, color="#52606d", lw=0.8)
        ax.set_xlabel("own-price elasticity (% sales per 1% price)")
        ax.grid(axis="y", visible=False)
        ax.set_title("Category (bold) vs sub-category price elasticity")
        fig.tight_layout()
        return style.to_png(fig)
