"""Charts of model quality: walk-forward folds, baselines, hold-out fit, residuals.

They answer "can I trust the rest of the report?", so they show out-of-sample numbers only
(except the in-sample residuals, drawn next to the hold-out ones for contrast).
"""

from typing import Any

import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.figure import Figure

from mmm_pipeline.core.report import chart_style as style
from mmm_pipeline.core.report.chart_style import (
    BAD,
    GOOD,
    INK,
    MUTED,
    PALETTE,
    date_axis,
    money_axis,
    num,
    styled,
)


def fold_chart(folds: list[dict[str, Any]], min_r2: float | None) -> bytes:
    """R² and MAPE per walk-forward month: does the model hold up month after month?"""
    with styled():
        fig = Figure(figsize=(9.5, 3.2))
        ax_r2, ax_mape = fig.subplots(1, 2)
        months = [str(f.get("month", i)) for i, f in enumerate(folds)]
        r2 = np.array([num(f.get("r2")) for f in folds])
        colours = [GOOD if (min_r2 is None or v >= min_r2) else BAD for v in np.nan_to_num(r2, nan=-np.inf)]
        ax_r2.bar(months, np.nan_to_num(r2), color=colours, width=0.65)
        if min_r2 is not None:
            ax_r2.axhline(min_r2, color=INK, ls="--", lw=1)
            ax_r2.annotate(f"gate {min_r2:.2f}", (1.0, min_r2), xycoords=("axes fraction", "data"), xytext=(-2, 3),
                           textcoords="offset points", ha="right", fontsize=8,
                           bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"})
        ax_r2.set_ylim(min(0.0, np.nanmin(r2) if np.isfinite(r2).any() else 0.0), 1.0)
        ax_r2.set_title("Out-of-sample R² per month")
        mape = np.array([num(f.get("mape")) for f in folds])
        ax_mape.bar(months, np.nan_to_num(mape) * 100, color=PALETTE[0], width=0.65)
        ax_mape.set_title("Typical error per month (MAPE, %)")
        for ax in (ax_r2, ax_mape):
            ax.tick_params(axis="x", rotation=45 if len(months) > 6 else 0, labelsize=8)
            ax.grid(axis="x", visible=False)
        fig.tight_layout()
        return style.to_png(fig)


def baseline_chart(model_r2: float, model_label: str, baselines: list[dict[str, Any]]) -> bytes:
    """The model's R² next to simple baselines: is the complexity paying for itself?"""
    with styled():
        rows = [(model_label, model_r2, PALETTE[0])]
        rows += [(str(b.get("model")), num(b.get("r2")), MUTED) for b in baselines]
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
        return style.to_png(fig)


def holdout_chart(holdout: pd.DataFrame) -> bytes:
    """Actual vs predicted on periods the model never trained on, summed over nodes."""
    with styled():
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
        money_axis(ax.yaxis)
        date_axis(ax)
        ax.set_title("Hold-out: actual vs predicted (each shaded band is one walk-forward fold)")
        ax.legend(loc="upper left", ncols=2)
        fig.tight_layout()
        return style.to_png(fig)


def residual_chart(in_sample: pd.Series | None, holdout: pd.Series | None, acf: list[float],
                   acf_bound: float | None) -> bytes:
    """Residuals over time, their distribution, and their autocorrelation (lags 1, 2, ...)."""
    with styled():
        fig = Figure(figsize=(10, 3.1))
        ax_time, ax_hist, ax_acf = fig.subplots(1, 3, gridspec_kw={"width_ratios": [2.2, 1, 1.2]})
        pooled = []
        for series, colour, label in ((in_sample, MUTED, "in sample"), (holdout, PALETTE[1], "hold-out")):
            if series is not None and len(series):
                ax_time.plot(series.index, series.to_numpy(), ".", color=colour, ms=3.5, label=label)
                pooled.append(series.to_numpy())
        ax_time.axhline(0, color=INK, lw=0.8)
        money_axis(ax_time.yaxis)
        date_axis(ax_time)
        ax_time.set_title("Residuals (actual − predicted)")
        if pooled:
            ax_time.legend(loc="upper left", ncols=2, fontsize=8)
            values = np.concatenate(pooled)
            ax_hist.hist(values, bins=min(30, max(8, values.size // 8)), color=PALETTE[0], alpha=0.75)
            money_axis(ax_hist.xaxis)
        ax_hist.set_title("Distribution")
        ax_hist.tick_params(axis="x", labelsize=7, rotation=30)
        _acf_panel(ax_acf, acf, acf_bound)
        fig.tight_layout()
        return style.to_png(fig)


def _acf_panel(ax: Any, acf: list[float], bound: float | None) -> None:
    """ACF bars from lag 1; a leading lag-0 value of 1 (some writers include it) is dropped."""
    values = np.asarray(acf, dtype=float)
    if values.size and np.isclose(values[0], 1.0):
        values = values[1:]
    lags = np.arange(1, values.size + 1)
    ax.bar(lags, values, color=PALETTE[0], width=0.5)
    if bound:
        ax.axhspan(-bound, bound, color="#e4e7eb", alpha=0.8, lw=0, zorder=0)
    ax.axhline(0, color=INK, lw=0.8)
    ax.set_xlabel("lag (periods)")
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_title("Autocorrelation")
