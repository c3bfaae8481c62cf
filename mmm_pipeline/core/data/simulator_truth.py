"""The true media response of a simulation, and the container every simulated shape returns.

Recovery tests and benchmarks must judge a fitted model against the functions that generated
the data, not against another model of them. :class:`TrueModel` is rebuilt from ``truth.json``
alone and re-evaluates any spend plan (including carry-over from a spend history) with exactly
the adstock, saturation and coefficients the simulator used.
"""

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

TRUTH_SCHEMA_VERSION = 1


def geometric_weights(decay: np.ndarray | float, l_max: int) -> np.ndarray:
    """``[C, L]`` normalised geometric adstock weights ``w_l ∝ decay**l``, ``l = 0..l_max-1``.

    Normalised to sum to 1 so a constant spend ``x`` has steady-state adstock ``x``: the Hill
    half-saturation point is then in plain per-period spend units and the steady-state response
    curve is simply ``coefficient * hill(x)``.
    """
    if l_max < 1:
        raise ValueError(f"l_max must be at least 1, got {l_max}")
    d = np.atleast_1d(np.asarray(decay, dtype=float))
    if np.any((d < 0) | (d >= 1)):
        raise ValueError(f"adstock decay must lie in [0, 1), got {d.tolist()}")
    w = d[:, None] ** np.arange(l_max)[None, :]
    return w / w.sum(axis=1, keepdims=True)


def adstock(spend: np.ndarray, weights: np.ndarray, history: np.ndarray | None = None) -> np.ndarray:
    """``[T, C]`` adstocked spend: ``a[t, c] = sum_l w[c, l] * x[t - l, c]``.

    ``history`` (``[T0, C]``) is the spend just before ``spend``; without it earlier spend is
    zero, which is also what a pipeline that sees only the data window assumes.
    """
    spend = np.asarray(spend, dtype=float)
    n_lag = weights.shape[1]
    pad = np.zeros((n_lag - 1, spend.shape[1]))
    if history is not None and n_lag > 1:
        hist = np.asarray(history, dtype=float)[-(n_lag - 1):]
        pad[n_lag - 1 - len(hist):] = hist
    full = np.vstack([pad, spend])
    windows = sliding_window_view(full, n_lag, axis=0)  # [T, C, L]; last entry is lag 0
    return np.einsum("tcj,cj->tc", windows, weights[:, ::-1])


def hill(x: np.ndarray, half: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """Hill saturation ``x^s / (x^s + K^s)`` in [0, 1); 0 at zero spend, 0.5 at ``x = K``."""
    x = np.maximum(np.asarray(x, dtype=float), 0.0)
    ratio = np.power(x / half, slope)
    return ratio / (1.0 + ratio)


def hill_derivative(x: np.ndarray, half: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """``d hill / dx``: the marginal response per unit of spend at a steady spend ``x``."""
    x = np.maximum(np.asarray(x, dtype=float), 1e-300)
    ratio = np.power(x / half, slope)
    return slope * ratio / (x * (1.0 + ratio) ** 2)


def sig(value: float, digits: int = 6) -> float:
    """Round to ``digits`` significant figures so truth.json stays readable and byte-stable."""
    return float(f"{float(value):.{digits}g}")


@dataclass(frozen=True)
class TrueModel:
    """The generating media response, summed over nodes, in target (revenue) units per period.

    Shapes: ``C`` channels in :attr:`channels` order, ``N`` nodes. ``coefficient[c]`` is the
    per-period contribution at full saturation summed over nodes; ``node_allocation[c, n]`` the
    share of channel ``c``'s contribution that lands in node ``n`` (rows sum to 1).
    """

    channels: list[str]
    decay: np.ndarray
    l_max: int
    half_saturation: np.ndarray
    slope: np.ndarray
    coefficient: np.ndarray
    nodes: list[str]
    node_allocation: np.ndarray
    frequency: str
    truth: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_truth(cls, truth: dict[str, Any]) -> "TrueModel":
        """Build from a parsed truth.json (or a :class:`Simulation`'s ``truth`` dict)."""
        if truth.get("schema_version") != TRUTH_SCHEMA_VERSION:
            raise ValueError(
                f"truth schema_version {truth.get('schema_version')!r} is not {TRUTH_SCHEMA_VERSION}; "
                "regenerate the data with `python -m mmm_pipeline simulate`"
            )
        channels = list(truth["channels"])
        media = truth["media"]
        nodes = list(truth["nodes"])
        return cls(
            channels=channels,
            decay=np.array([media[c]["adstock"]["decay"] for c in channels]),
            l_max=int(truth["l_max"]),
            half_saturation=np.array([media[c]["saturation"]["half_saturation"] for c in channels]),
            slope=np.array([media[c]["saturation"]["slope"] for c in channels]),
            coefficient=np.array([media[c]["coefficient"] for c in channels]),
            nodes=nodes,
            node_allocation=np.array([[media[c]["node_allocation"][n] for n in nodes] for c in channels]),
            frequency=truth["frequency"],
            truth=truth,
        )

    @classmethod
    def load(cls, path: str | Path) -> "TrueModel":
        path = Path(path)
        try:
            truth = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: cannot read a simulator truth file: {exc}") from exc
        return cls.from_truth(truth)

    @property
    def weights(self) -> np.ndarray:
        """``[C, L]`` adstock weights (lag 0 first)."""
        return geometric_weights(self.decay, self.l_max)

    def channel_index(self, channel: str) -> int:
        try:
            return self.channels.index(channel)
        except ValueError:
            raise KeyError(f"no channel '{channel}' in the truth; channels are {self.channels}") from None

    def _check_spend(self, spend: np.ndarray, what: str) -> np.ndarray:
        spend = np.asarray(spend, dtype=float)
        if spend.ndim != 2 or spend.shape[1] != len(self.channels):
            raise ValueError(
                f"{what} must have shape [T, {len(self.channels)}] (one column per channel in order "
                f"{join_names(self.channels)}), got {' x '.join(str(d) for d in spend.shape)}"
            )
        bad = ~np.isfinite(spend) | (spend < 0)
        if bad.any():
            rows = sorted(set(np.nonzero(bad)[0].tolist()))[:10]
            raise ValueError(f"{what} has negative or non-finite spend in row(s) {join_names(rows)}")
        return spend

    def channel_contributions(self, spend: np.ndarray, history: np.ndarray | None = None) -> np.ndarray:
        """``[T, C]`` true contribution per period and channel, summed over nodes.

        ``spend`` is per-period money at the dataset frequency (daily data: monthly spend spread
        by days in month); ``history`` is the spend before it, for carry-over.
        """
        spend = self._check_spend(spend, "spend")
        if history is not None:
            history = self._check_spend(history, "history")
        saturated = hill(adstock(spend, self.weights, history), self.half_saturation, self.slope)
        return saturated * self.coefficient[None, :]

    def node_contributions(self, spend: np.ndarray, history: np.ndarray | None = None) -> np.ndarray:
        """``[T, N, C]`` true contribution per period, node and channel."""
        per_channel = self.channel_contributions(spend, history)
        return per_channel[:, None, :] * self.node_allocation.T[None, :, :]

    def media_contribution(self, spend: np.ndarray, history: np.ndarray | None = None) -> np.ndarray:
        """``[T]`` total true media contribution per period (all channels, all nodes)."""
        return self.channel_contributions(spend, history).sum(axis=1)

    def response_curve(self, channel: str, grid: np.ndarray) -> np.ndarray:
        """``[G]`` steady-state per-period contribution when ``grid[g]`` is spent every period."""
        c = self.channel_index(channel)
        grid = np.asarray(grid, dtype=float)
        if np.any(grid < 0):
            raise ValueError(f"spend grid for {channel} has negative values")
        return self.coefficient[c] * hill(grid, self.half_saturation[c], self.slope[c])

    def marginal_roas(self, channel: str, spend: np.ndarray | float) -> np.ndarray:
        """Steady-state marginal ROAS (d contribution / d spend) at per-period spend ``spend``."""
        c = self.channel_index(channel)
        return self.coefficient[c] * hill_derivative(spend, self.half_saturation[c], self.slope[c])

    @property
    def roas(self) -> dict[str, float]:
        """True ROAS over the simulated window (total contribution / total spend) per channel."""
        return {c: self.truth["media"][c]["roas"] for c in self.channels}


@dataclass
class Simulation:
    """One simulated dataset: the input files, the truth and the arrays behind them.

    ``tables`` maps file names to the frames written as CSV; ``components`` holds the noiseless
    per-node parts of the target in revenue units (``[T, N]`` each), which sum to
    ``target_noiseless``; ``spend`` is ``[T, C]`` per-period spend exactly as the pipeline sees it.
    """

    shape: str
    name: str
    seed: int
    frequency: str
    dates: pd.DatetimeIndex
    nodes: list[str]
    node_category: list[str]
    channels: list[str]
    spend: np.ndarray
    components: dict[str, np.ndarray]
    target_noiseless: np.ndarray
    target_observed: np.ndarray
    tables: dict[str, pd.DataFrame]
    contributions: pd.DataFrame
    truth: dict[str, Any]
    dataset_yaml: dict[str, Any]

    @property
    def true_model(self) -> TrueModel:
        return TrueModel.from_truth(self.truth)


def media_truth_entry(
    *,
    decay: float,
    l_max: int,
    half: float,
    slope: float,
    coefficient: float,
    spend: np.ndarray,
    contribution: np.ndarray,
    total_media: float,
    total_target: float,
    node_allocation: dict[str, float],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The truth.json block for one channel: parameters, totals and its true response curve.

    ``spend`` and ``contribution`` are the channel's ``[T]`` per-period series. The curve grid runs
    to twice the largest per-period spend so optimisers can be checked beyond history.
    """
    weights = geometric_weights(decay, l_max)[0]
    spend_on = spend[spend > 0]
    mean_on = float(spend_on.mean()) if spend_on.size else 0.0
    grid = np.linspace(0.0, 2.0 * float(spend.max()), 41)
    curve = coefficient * hill(grid, half, slope)
    inflection = half * ((slope - 1.0) / (slope + 1.0)) ** (1.0 / slope) if slope > 1 else 0.0
    total_spend = float(spend.sum())
    total_contribution = float(contribution.sum())
    entry: dict[str, Any] = {
        "adstock": {
            "form": "geometric",
            "normalised": True,
            "decay": decay,
            "l_max": l_max,
            "weights": [sig(w) for w in weights],
        },
        "saturation": {
            "form": "hill",
            "half_saturation": half,
            "slope": slope,
            "units": "per-period spend (money), applied to the adstocked spend",
            "inflection_spend": sig(inflection),
            "saturation_spend_90pct": sig(half * 9.0 ** (1.0 / slope)),
        },
        "coefficient": coefficient,
        "total_spend": sig(total_spend, 10),  # 10 figures: agree across CPUs whose exp/log differ in the last bits
        "total_contribution": sig(total_contribution, 10),
        "roas": sig(total_contribution / total_spend) if total_spend > 0 else None,
        "share_of_media": sig(total_contribution / total_media),
        "share_of_target": sig(total_contribution / total_target),
        "share_of_spend": None,  # filled by the caller, which knows total spend
        "mean_spend_per_period": sig(spend.mean()),
        "mean_nonzero_spend_per_period": sig(mean_on),
        "zero_spend_periods": int((spend <= 0).sum()),
        "saturation_at_mean_nonzero_spend": sig(hill(mean_on, half, slope)),
        "mroas_at_mean_nonzero_spend": sig(coefficient * hill_derivative(mean_on, half, slope)),
        "mroas_one_spend": _mroas_one_spend(coefficient, half, slope),
        "node_allocation": {n: sig(v, 10) for n, v in node_allocation.items()},
        "response_curve": {
            "spend": [sig(g) for g in grid],
            "contribution": [sig(v) for v in curve],
            "note": "steady state: this spend every period, contribution per period summed over nodes",
        },
    }
    if extra:
        entry.update(extra)
    return entry


def _mroas_one_spend(coefficient: float, half: float, slope: float) -> float | None:
    """Per-period spend beyond the inflection where the marginal ROAS falls to 1 (None: never above 1)."""
    grid = half * np.exp(np.linspace(np.log(1e-4), np.log(1e4), 20001))
    mroas = coefficient * hill_derivative(grid, half, slope)
    peak = int(np.argmax(mroas))
    if mroas[peak] <= 1.0:
        return None
    beyond = np.nonzero(mroas[peak:] <= 1.0)[0]
    return sig(grid[peak + beyond[0]]) if beyond.size else None


def finalise_media_truth(media: dict[str, dict[str, Any]]) -> None:
    """Fill each channel's share of spend, which needs every channel's total."""
    total = sum(m["total_spend"] for m in media.values())
    for m in media.values():
        m["share_of_spend"] = sig(m["total_spend"] / total) if total > 0 else None
