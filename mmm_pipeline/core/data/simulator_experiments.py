"""Lift tests drawn from a simulation's truth: what an experiment on the simulated market would
have measured.

A test changes one channel's spend over a window (times a multiplier: 0 is go-dark, 1.2 is
+20%); its true lift is the change in the true media contribution over the window, carry-over
inside the window included, for the whole market or one node (a node receives its share of
the channel's contribution, ``node_allocation``). The measurement adds Gaussian noise with a
standard error that is a stated fraction of the true lift's size, as a geo test's would be.
The result has the layout of an ``experiments`` source (docs/experiments.md).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmm_pipeline.core.data import periods
from mmm_pipeline.core.data.simulator_truth import TrueModel


@dataclass(frozen=True)
class LiftTestDesign:
    """One experiment: which channel, when, for how many modelling periods, and how spend changes."""

    channel: str
    start: str
    periods: int
    multiplier: float
    node: str | None = None


def design_window(dates: pd.DatetimeIndex, design: LiftTestDesign) -> np.ndarray:
    """``[T]`` boolean: the modelling periods the test runs in."""
    first = int(dates.searchsorted(pd.Timestamp(design.start)))
    if first >= len(dates) or dates[first] != pd.Timestamp(design.start):
        raise ValueError(f"test of {design.channel} starts on {design.start}, which is not a period of the data")
    if first + design.periods > len(dates):
        raise ValueError(f"test of {design.channel} runs past the last period of the data")
    window = np.zeros(len(dates), dtype=bool)
    window[first:first + design.periods] = True
    return window


def true_lift(truth: TrueModel, spend: np.ndarray, window: np.ndarray, design: LiftTestDesign) -> float:
    """Change of the true outcome over ``window`` when ``design``'s spend change is applied there."""
    c = truth.channel_index(design.channel)
    varied = np.array(spend, dtype=float)
    varied[window, c] *= design.multiplier
    delta = truth.node_contributions(varied)[window, :, c] - truth.node_contributions(spend)[window, :, c]
    if design.node is None:
        return float(delta.sum())
    return float(delta[:, truth.nodes.index(design.node)].sum())


def simulate_lift_tests(truth: TrueModel, spend: np.ndarray, dates: pd.DatetimeIndex, frequency: str,
                        designs: list[LiftTestDesign], se_fraction: float | list[float], seed: int) -> pd.DataFrame:
    """One row per design in the ``experiments`` file layout; ``se_fraction`` (one, or one per
    design) sets each test's standard error relative to its true lift, and the measured lift
    is the true one plus that noise, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    fractions = np.broadcast_to(np.asarray(se_fraction, dtype=float), (len(designs),))
    last_days = periods.next_start(dates, frequency) - pd.Timedelta(days=1)
    rows = []
    for design, fraction in zip(designs, fractions):
        window = design_window(dates, design)
        lift = true_lift(truth, spend, window, design)
        se = fraction * abs(lift)
        rows.append({"channel": design.channel, "start": str(dates[window][0].date()),
                     "end": str(last_days[window][-1].date()), "node": design.node or "",
                     "lift": float(f"{lift + se * rng.standard_normal():.4g}"), "lift_se": float(f"{se:.3g}"),
                     "spend_multiplier": design.multiplier, "true_lift": float(f"{lift:.6g}")})
    return pd.DataFrame(rows)
