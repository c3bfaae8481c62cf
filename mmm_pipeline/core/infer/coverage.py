"""Does a "95%" interval cover the truth 95% of the time — on *this* dataset?

Intervals are only as honest as the assumptions behind them, and the share of the time they
cover depends on the design: how much the spend moved, how long the history is, how noisy
sales are. This check measures it where the user's answers come from: it takes the fitted
model as the truth, simulates new sales histories from it with the user's own spend, prices
and controls (residual noise with the fitted residuals' scale and autocorrelation), refits
the whole interval machinery on each (final model, information bound, block bootstrap) and
counts how often each channel's reported ROAS interval contains the ROAS it was simulated with.
"""

import logging
import math
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.infer.bootstrap import fit_bootstrap
from mmm_pipeline.core.infer.information import channel_information
from mmm_pipeline.core.infer.returns import channel_results, summary_long

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CoverageResult:
    """Measured coverage of the reported ROAS intervals, over channels and simulations."""

    level: float
    simulations: int
    replicates: int
    coverage: float
    by_channel: dict[str, float]
    seconds: float

    def label(self) -> str:
        """How the report names the intervals, with what they were measured to do."""
        return (f"{self.level:.0%} interval (measured coverage {self.coverage:.0%} in {self.simulations} "
                "simulations from the fitted model)")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "enabled": True, "label": self.label()}


def _ar1_noise(rng: np.random.Generator, n: int, phi: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """``[n, N]`` stationary AR(1) noise per node with lag-1 correlation ``phi`` and sd ``sd``."""
    out = np.empty((n, len(sd)))
    out[0] = rng.normal(0.0, sd)
    innovation = sd * np.sqrt(1.0 - phi**2)
    for t in range(1, n):
        out[t] = phi * out[t - 1] + rng.normal(0.0, innovation)
    return out


def _noise_model(y: np.ndarray, fitted_y: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per node: the residuals' lag-1 autocorrelation (0 .. 0.95) and standard deviation."""
    resid = (y - fitted_y)[mask]
    resid = resid - resid.mean(0, keepdims=True)
    num, den = (resid[1:] * resid[:-1]).sum(0), (resid**2).sum(0)
    phi = np.clip(np.divide(num, den, out=np.zeros_like(num), where=den > 0), 0.0, 0.95)
    return phi, resid.std(0)


def simulated_coverage(point: Any, data: ModelData, settings: dict[str, Any], train_mask: np.ndarray,
                       simulations: int, replicates: int, seed: int) -> CoverageResult:
    """Coverage of the ROAS intervals when ``point`` (a fitted model, first member) is the truth."""
    from mmm_pipeline.core.train.trainer import fit_nam

    started = time.perf_counter()
    mask = np.asarray(train_mask, dtype=bool)
    level = float(settings["bootstrap"]["level"])
    member = point.member(0) if point.n_models > 1 else point
    truth_y = member.predict(data)[0]
    flat = summary_long(member.channel_summary(data))
    truth = {ch: float(flat.loc[flat["channel"] == ch, "roas"].iloc[0]) for ch in data.channel_names}
    phi, sd = _noise_model(data.y, truth_y, mask)
    rng = np.random.default_rng(seed)
    current = np.asarray(data.spend, dtype=float)[mask].mean(0)
    hits = {ch: [] for ch in data.channel_names}
    for s in range(simulations):
        noise = _ar1_noise(rng, len(data.dates), phi, sd)
        sim = replace(data, y=np.maximum(truth_y + noise, 1e-6 * np.abs(truth_y).max()))
        final = fit_nam(sim, settings, train_mask=mask)
        info = channel_information(final, sim, mask, settings)
        boot = fit_bootstrap(sim, settings, train_mask=mask, n_replicates=replicates, seed=seed + 1 + s)
        channels = channel_results(boot.fitted, sim, settings, current, train_mask=mask, information=info)
        for ch, entry in channels.items():
            lo, hi = entry["roas"]["lo"], entry["roas"]["hi"]
            lo = -math.inf if lo is None else lo
            hi = math.inf if hi is None else hi
            hits[ch].append(bool(lo <= truth[ch] <= hi))
        log.info("coverage check: simulation %d of %d done", s + 1, simulations)
    by_channel = {ch: float(np.mean(v)) for ch, v in hits.items()}
    overall = float(np.mean([h for v in hits.values() for h in v]))
    result = CoverageResult(level, simulations, replicates, overall, by_channel, time.perf_counter() - started)
    log.info("coverage check: %s", result.label())
    return result
