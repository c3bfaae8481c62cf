"""The charts' shared look: palette, matplotlib style, axis formatters, PNG output.

Every chart module draws with these, so a marketer sees one visual language across the
report: one colour per channel everywhere, light grids, money in compact units. Figures are
built with ``matplotlib.figure.Figure`` (Agg), never pyplot, so rendering touches no global
state and is safe inside a Dagster run.
"""

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib
import numpy as np
from matplotlib import dates as mdates
from matplotlib import ticker
from matplotlib.figure import Figure

from mmm_pipeline.core.report.formatting import fmt_amount

#: colour-blind-safe palette (Okabe-Ito, then Tableau), channels keep their colour everywhere
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#4E79A7", "#F28E2B", "#59A14F", "#B07AA1", "#9C755F", "#76B7B2", "#EDC948"]
#: muted tones for drivers that are not paid media (price, season, brand, events)
SUPPORT_PALETTE = ["#8d99ae", "#c2b280", "#a3c4bc", "#c9ada7", "#6d6875", "#b5838d", "#84a98c", "#bfc0c0",
                   "#9a8c98", "#d4a373"]
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


@contextmanager
def styled() -> Iterator[None]:
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


def money_axis(axis: Any) -> None:
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: fmt_amount(v)))


def date_axis(ax: Any) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def grid_shape(n: int, cols: int = 3) -> tuple[int, int]:
    cols = max(1, min(cols, n))
    return int(np.ceil(n / cols)), cols


def num(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return number


def interval_of(value: Any) -> tuple[float, float, float]:
    if isinstance(value, dict):
        return num(value.get("mean")), num(value.get("lo")), num(value.get("hi"))
    return num(value), float("nan"), float("nan")
