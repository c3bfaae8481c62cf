"""The report's charts: matplotlib (Agg, no pyplot) figures returned as PNG bytes.

Each function takes plain data and returns PNG bytes, so a chart can be tested or reused
without the rest of the report. The look is shared (one palette, a fixed colour per channel,
light grids, no chart junk) so a marketer can compare charts at a glance; intervals are
always drawn, and anything not identified is drawn grey and hollow.
"""

import io
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib import ticker
from matplotlib.figure import Figure

from mmm_pipeline.core.report.derived import ChannelRow, Interval
from mmm_pipeline.core.report.formatting import fmt_amount

log = logging.getLogger(__name__)

#: colour-blind-safe palette (Okabe-Ito, then Tableau), channels keep their colour everywhere
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#4E79A7", "#F28E2B", "#59A14F", "#B07AA1", "#9C755F", "#76B7B2", "#EDC948"]
INK = "#1f2933"
MUTED = "#9aa5b1"
GOOD = "#2f855a"
BAD = "#c53030"
BASE_COLOUR = "#cbd2d9"
STYLE = {
    "font.size": 9.5,
    "font.family": "DejaVu Sans",
    "axes.edgecolor": "#52606d",
    "axes.labelcolor": INK,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#e4e7eb",
    "grid.linewidth": 0.8,
    "xtick.color": "#52606d",
    "ytick.color": "#52606d",
    "legend.frameon": False,
    "savefig.dpi": 120,
}
#: the most drivers drawn individually in the decomposition; the rest become "other drivers"
MAX_DRIVERS = 8


@contextmanager
def _styled() -> Iterator[None]:
    with matplotlib.rc_context(STYLE):
        yield


def to_png(fig: Figure) -> bytes:
    """PNG bytes of a figure (Agg via Figure.savefig; pyplot's global state is never touched)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", facecolor="white")
    return buffer.getvalue()


def channel_colours(names: Sequence[str]) -> dict[str, str]:
    """A stable colour per channel (by position in the channel list)."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def _money_axis(axis: Any) -> None:
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: fmt_amount(v)))


def _date_axis(ax: Any) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _grid_shape(n: int, cols: int = 3) -> tuple[int, int]:
    cols = max(1, min(cols, n))
    return int(np.ceil(n / cols)), cols


# --- walk-forward and model quality -------------------------------------------------------


def fold_chart(folds: list[dict[str, Any]], min_r2: float | None) -> bytes:
    """R² and MAPE per walk-forward month: does the model hold up month after month?"""
    with _styled():
        fig = Figure(figsize=(9.5, 3.2))
        ax_r2, ax_mape = fig.subplots(1, 2)
        months = [str(f.get("month", i)) for i, f in enumerate(folds)]
        r2 = np.array([_num(f.get("r2")) for f in folds])
        colours = [GOOD if (min_r2 is None or v >= min_r2) else BAD for v in np.nan_to_num(r2, nan=-np.inf)]
        ax_r2.bar(months, np.nan_to_num(r2), color=colours, width=0.65)
        if min_r2 is not None:
            ax_r2.axhline(min_r2, color=INK, ls="--", lw=1)
            ax_r2.annotate(f"gate {min_r2:.2f}", (1.0, min_r2), xycoords=("axes fraction", "data"), xytext=(-2, 3),
                           textcoords="offset points", ha="right", fontsize=8,
                           bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"})
        ax_r2.set_ylim(min(0.0, np.nanmin(r2) if np.isfinite(r2).any() else 0.0), 1.0)
        ax_r2.set_title("Out-of-sample R² per month")
        mape = np.array([_num(f.get("mape")) for f in folds])
        ax_mape.bar(months, np.nan_to_num(mape) * 100, color=PALETTE[0], width=0.65)
        ax_mape.set_title("Typical error per month (MAPE, %)")
        for ax in (ax_r2, ax_mape):
            ax.tick_params(axis="x", rotation=45 if len(months) > 6 else 0, labelsize=8)
            ax.grid(axis="x", visible=False)
        fig.tight_layout()
        return to_png(fig)


def baseline_chart(model_r2: float, model_label: str, baselines: list[dict[str, Any]]) -> bytes:
    """The model's R² next to simple baselines: is the complexity paying for itself?"""
    with _styled():
        rows = [(model_label, model_r2, PALETTE[0])]
        rows += [(str(b.get("model")), _num(b.get("r2")), MUTED) for b in baselines]
        rows = [r for r in rows if np.isfinite(r[1])]
        fig = Figure(figsize=(6.5, 0.45 * len(rows) + 0.9))
        ax = fig.subplots()
        labels = [r[0] for r in rows][::-1]
        values = [r[1] for r in rows][::-1]
        ax.barh(labels, values, color=[r[2] for r in rows][::-1], height=0.6)
        for y, v in enumerate(values):
            ax.annotate(f"{v:.2f}", (v, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8.5)
        ax.set_xlim(min(0.0, min(values)), 1.05)
        ax.set_title("R² out of sample: model vs baselines")
        ax.grid(axis="y", visible=False)
        fig.tight_layout()
        return to_png(fig)


def holdout_chart(holdout: pd.DataFrame) -> bytes:
    """Actual vs predicted on periods the model never trained on, summed over nodes."""
    with _styled():
        per_date = holdout.groupby("date")[["actual", "predicted"]].sum().sort_index()
        fig = Figure(figsize=(9.5, 3.0))
        ax = fig.subplots()
        if "fold" in holdout.columns:
            folds = holdout.groupby("fold")["date"].agg(["min", "max"]).sort_values("min")
            for i, (_fold, span) in enumerate(folds.iterrows()):
                if i % 2 == 0:
                    ax.axvspan(span["min"], span["max"], color="#f0f4f8", lw=0)
        ax.plot(per_date.index, per_date["actual"], color=INK, lw=1.4, label="actual")
        ax.plot(per_date.index, per_date["predicted"], color=PALETTE[1], lw=1.6, ls="--", label="predicted")
        _money_axis(ax.yaxis)
        _date_axis(ax)
        ax.set_title("Hold-out: actual vs predicted (each shaded band is one walk-forward fold)")
        ax.legend(loc="upper left", ncols=2)
        fig.tight_layout()
        return to_png(fig)


# --- decomposition ------------------------------------------------------------------------


def decomposition_chart(frame: pd.DataFrame, drivers: list[str], colours: dict[str, str]) -> bytes:
    """Top: revenue stacked from base up, with actuals. Bottom: the drivers alone, around zero.

    The base is usually most of revenue, which flattens the drivers in the top panel; the
    bottom panel zooms in on what marketing and pricing moved period by period.
    """
    per_date = _driver_totals(frame, drivers)
    shown, per_date = _top_drivers(per_date, drivers)
    with _styled():
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
            _money_axis(ax.yaxis)
        _date_axis(ax_drivers)
        fig.tight_layout()
        return to_png(fig)


def _stack(ax: Any, x: Any, per_date: pd.DataFrame, shown: list[str], colours: dict[str, str], start: np.ndarray) -> None:
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
    with _styled():
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
        _money_axis(ax.xaxis)
        ax.grid(axis="y", visible=False)
        ax.set_title("Contribution waterfall over the whole window")
        fig.tight_layout()
        return to_png(fig)


# --- channels -----------------------------------------------------------------------------


def roas_chart(rows: list[ChannelRow], colours: dict[str, str]) -> bytes:
    """ROAS with interval bars; not-identified channels are grey, hollow and labelled."""
    rows = [r for r in rows if r.roas is not None]
    with _styled():
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
        return to_png(fig)


def saturation_chart(curves: dict[str, Any], rows: list[ChannelRow], colours: dict[str, str]) -> bytes:
    """Per-period response curves with current (●), optimal (◆) and saturation (dotted) spend."""
    identified = {r.name: r.identified for r in rows}
    names = [n for n in curves if isinstance(curves[n], dict) and curves[n].get("spend")]
    nrows, ncols = _grid_shape(len(names))
    with _styled():
        fig = Figure(figsize=(3.4 * ncols, 2.7 * nrows))
        axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
        for ax, name in zip(axes, names):
            _one_curve(ax, name, curves[name], colours.get(name, PALETTE[0]), identified.get(name, True))
        for ax in axes[len(names):]:
            ax.set_visible(False)
        fig.tight_layout()
        return to_png(fig)


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
    sat = _num(curve.get("saturation_spend"))
    if np.isfinite(sat) and sat <= spend.max() * 1.05:
        ax.axvline(sat, color="#52606d", ls=":", lw=1)
    for key, marker, label in (("current_spend", "o", "current"), ("optimal_spend", "D", "optimal")):
        x = _num(curve.get(key))
        if np.isfinite(x):
            ax.plot(x, np.interp(x, spend, mean), marker, color=INK if key == "current_spend" else GOOD,
                    ms=6, label=label, zorder=5)
    ax.set_title(name + ("" if identified else " (not identified)"), fontsize=10)
    _money_axis(ax.xaxis)
    _money_axis(ax.yaxis)
    ax.tick_params(labelsize=7.5)
    ax.legend(fontsize=7, loc="lower right")


def adstock_chart(rows: list[ChannelRow], colours: dict[str, str], period: str) -> bytes:
    """Share of a period's spend effect that lands 0, 1, 2 ... periods later, per channel."""
    rows = [r for r in rows if r.weights]
    with _styled():
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
        return to_png(fig)


# --- price --------------------------------------------------------------------------------


PRICE_CHANGES = np.linspace(-0.2, 0.2, 41)


def price_response(elasticity: float, changes: np.ndarray = PRICE_CHANGES) -> np.ndarray:
    """Sales change implied by a constant elasticity: (1 + Δp)^e - 1."""
    return (1.0 + changes) ** elasticity - 1.0


def price_chart(elasticities: dict[str, Interval]) -> bytes:
    """Implied sales change vs price change per category, with the interval as a band."""
    with _styled():
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
        return to_png(fig)


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
    with _styled():
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
        return to_png(fig)


# --- budget and scenarios -----------------------------------------------------------------


def budget_chart(changes: list[dict[str, Any]], period: str) -> bytes:
    """Current vs optimal spend per period, per channel."""
    with _styled():
        fig = Figure(figsize=(8, 0.55 * len(changes) + 1.2))
        ax = fig.subplots()
        y = np.arange(len(changes))
        current = [_num(c["current"]) for c in changes]
        optimal = [_num(c["optimal"]) for c in changes]
        ax.barh(y - 0.2, np.nan_to_num(current), height=0.38, color=BASE_COLOUR, label="current")
        ax.barh(y + 0.2, np.nan_to_num(optimal), height=0.38, color=PALETTE[0], label="optimal")
        for yi, change in zip(y, changes):
            if change["change"] is not None:
                ax.annotate(f"{change['change'] * 100:+.0f}%", (np.nanmax([_num(change['optimal']), 0]), yi + 0.2),
                            xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
        ax.set_yticks(y, [c["channel"] for c in changes])
        ax.invert_yaxis()
        _money_axis(ax.xaxis)
        ax.set_xlabel(f"spend per {period}")
        ax.grid(axis="y", visible=False)
        ax.legend(loc="lower right")
        ax.set_title("Budget: current vs optimal mix")
        fig.tight_layout()
        return to_png(fig)


def sensitivity_chart(points: list[dict[str, Any]]) -> bytes:
    """Revenue and ROI as the total budget moves: where does extra money stop paying?"""
    budget = np.array([_num(p.get("total_budget")) for p in points])
    revenue = [_interval_of(p.get("revenue")) for p in points]
    roi = np.array([_num(p.get("roi")) for p in points])
    change = np.array([_num(p.get("budget_change")) for p in points])
    order = np.argsort(budget)
    with _styled():
        fig = Figure(figsize=(9.5, 3.2))
        ax_rev, ax_roi = fig.subplots(1, 2)
        mean = np.array([r[0] for r in revenue])
        lo, hi = np.array([r[1] for r in revenue]), np.array([r[2] for r in revenue])
        if np.isfinite(lo).all() and np.isfinite(hi).all():
            ax_rev.fill_between(budget[order], lo[order], hi[order], color=PALETTE[0], alpha=0.18, lw=0)
        ax_rev.plot(budget[order], mean[order], "o-", color=PALETTE[0], lw=2)
        ax_roi.plot(budget[order], roi[order], "o-", color=PALETTE[1], lw=2)
        now = np.where(np.isclose(change, 0.0))[0]
        for ax, values in ((ax_rev, mean), (ax_roi, roi)):
            if now.size:
                ax.plot(budget[now[0]], values[now[0]], "o", ms=10, mfc="none", mec=INK, mew=1.5)
                ax.annotate("current total", (budget[now[0]], values[now[0]]), xytext=(6, -12),
                            textcoords="offset points", fontsize=8)
            _money_axis(ax.xaxis)
            ax.set_xlabel("total budget over the horizon")
        _money_axis(ax_rev.yaxis)
        ax_rev.set_title("Predicted revenue vs total budget")
        ax_roi.set_title("Return per unit of media spend")
        fig.tight_layout()
        return to_png(fig)


def scenario_chart(names: list[str], lifts: list[Interval]) -> bytes:
    """Each scenario's revenue change vs the current plan, with its interval."""
    with _styled():
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
        ax.set_xlabel("revenue change vs current plan (%)")
        ax.grid(axis="y", visible=False)
        ax.set_title("Scenarios")
        fig.tight_layout()
        return to_png(fig)


# --- residuals ----------------------------------------------------------------------------


def residual_chart(in_sample: pd.Series | None, holdout: pd.Series | None, acf: list[float], n_obs: int | None) -> bytes:
    """Residuals over time, their distribution, and their autocorrelation."""
    with _styled():
        fig = Figure(figsize=(10, 3.1))
        ax_time, ax_hist, ax_acf = fig.subplots(1, 3, gridspec_kw={"width_ratios": [2.2, 1, 1.2]})
        pooled = []
        for series, colour, label in ((in_sample, MUTED, "in sample"), (holdout, PALETTE[1], "hold-out")):
            if series is not None and len(series):
                ax_time.plot(series.index, series.to_numpy(), ".", color=colour, ms=3.5, label=label)
                pooled.append(series.to_numpy())
        ax_time.axhline(0, color=INK, lw=0.8)
        _money_axis(ax_time.yaxis)
        _date_axis(ax_time)
        ax_time.set_title("Residuals (actual − predicted)")
        if pooled:
            ax_time.legend(loc="upper left", ncols=2, fontsize=8)
            values = np.concatenate(pooled)
            ax_hist.hist(values, bins=min(30, max(8, values.size // 8)), color=PALETTE[0], alpha=0.75)
            _money_axis(ax_hist.xaxis)
        ax_hist.set_title("Distribution")
        ax_hist.tick_params(axis="x", labelsize=7, rotation=30)
        _acf_panel(ax_acf, acf, n_obs)
        fig.tight_layout()
        return to_png(fig)


def _acf_panel(ax: Any, acf: list[float], n_obs: int | None) -> None:
    values = np.asarray([v for v in acf], dtype=float)
    lags = np.arange(len(values))
    if values.size and np.isclose(values[0], 1.0):  # lag 0 carries no information
        lags, values = lags[1:], values[1:]
    ax.bar(lags, values, color=PALETTE[0], width=0.5)
    if n_obs:
        band = 1.96 / np.sqrt(n_obs)
        ax.axhspan(-band, band, color="#e4e7eb", alpha=0.8, lw=0)
    ax.axhline(0, color=INK, lw=0.8)
    ax.set_xlabel("lag")
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_title("Autocorrelation")


# --- helpers ------------------------------------------------------------------------------


def _num(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return number


def _interval_of(value: Any) -> tuple[float, float, float]:
    if isinstance(value, dict):
        return _num(value.get("mean")), _num(value.get("lo")), _num(value.get("hi"))
    return _num(value), float("nan"), float("nan")
