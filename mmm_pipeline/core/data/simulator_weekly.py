"""The weekly single-market shape: a Robyn-like frame with known truth, for parameter recovery.

One row per week (Mondays): revenue, five channel spends, one control (competitor sales) and one
event. Revenue is additive on a level scale,

    revenue = base + trend + season + gamma (competitor - mean) + event + sum_c coef_c hill_c(adstock_c) + eps

with additive Gaussian noise. Parameters are drawn from the seed inside ranges chosen so the
problem is honest but identifiable with three years of data: every channel has bursts and dark
weeks (flighted channels go fully dark between flights, always-on ones pause now and then), a
shared seasonal budget correlates the channels, and each channel keeps enough own variation to
be separated. Decays span 0.1 .. 0.8; half-saturation sits inside the spend range so curvature
is visible.
"""

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mmm_pipeline.core.data.simulator_spend import ar1, flighting, peak_coefficients, random_dark, yearly_fourier
from mmm_pipeline.core.data.simulator_truth import (
    TRUTH_SCHEMA_VERSION,
    Simulation,
    adstock,
    finalise_media_truth,
    geometric_weights,
    hill,
    media_truth_entry,
    sig,
)

log = logging.getLogger(__name__)

WEEKLY_L_MAX = 8
WEEKLY_FILE = "weekly.csv"
CONTRIBUTIONS_FILE = "truth_contributions.csv"


@dataclass(frozen=True)
class WeeklyChannel:
    """A channel archetype: spend pattern and the ranges its true parameters are drawn from."""

    name: str
    level: float  # typical weekly spend on air
    flights: tuple[tuple[int, int], tuple[int, int]]  # (on, off) run-length ranges in weeks
    dark_fraction: float  # extra single weeks paused at random (always-on channels)
    budget_exponent: float
    idio_sd: float
    decay: tuple[float, float]
    roas: tuple[float, float]
    half_rel: tuple[float, float] = (0.8, 1.6)  # half-saturation / mean on-air spend
    slope: tuple[float, float] = (1.0, 2.0)


WEEKLY_CHANNELS = [
    WeeklyChannel("tv", 60000.0, ((3, 6), (3, 8)), 0.0, 1.0, 0.15, (0.55, 0.80), (1.0, 2.0)),
    WeeklyChannel("radio", 37500.0, ((3, 6), (3, 7)), 0.0, 1.0, 0.20, (0.35, 0.60), (1.0, 2.0)),
    WeeklyChannel("social", 30000.0, ((8, 20), (2, 5)), 0.05, 1.0, 0.50, (0.20, 0.45), (1.2, 2.5)),
    WeeklyChannel("search", 25000.0, ((8, 20), (2, 5)), 0.05, 0.7, 0.50, (0.10, 0.30), (2.0, 3.5)),
    WeeklyChannel("display", 37500.0, ((3, 6), (3, 7)), 0.0, 0.8, 0.25, (0.25, 0.55), (0.8, 1.5)),
]


def simulate_weekly(
    seed: int = 1,
    n_weeks: int = 156,
    *,
    noise: float = 0.03,
    media_share: float = 0.3,
    start: str = "2022-01-03",
    name: str | None = None,
) -> Simulation:
    """Simulate a weekly single-market dataset with known truth.

    ``noise`` is the standard deviation of the additive noise as a fraction of mean noiseless
    revenue; ``media_share`` the share of noiseless revenue due to media; ``start`` must be a
    Monday. Parameters (decay, Hill, ROAS) are drawn from ``seed`` within each channel's range.
    """
    first = pd.Timestamp(start)
    if first.dayofweek != 0:
        raise ValueError(f"start {start} is a {first.day_name()}; weekly data starts on a Monday")
    if n_weeks < 52:
        raise ValueError(f"n_weeks={n_weeks}: need at least 52 weeks for yearly seasonality")
    if not 0.0 < media_share < 0.9 or noise < 0:
        raise ValueError(f"media_share must be in (0, 0.9) and noise >= 0, got {media_share}, {noise}")
    rng = np.random.default_rng(seed)
    dates = pd.date_range(first, periods=n_weeks, freq="7D")
    spend = _spend(rng, dates)
    params = _draw_params(rng, spend)
    sat = hill(adstock(spend, geometric_weights(params["decay"], WEEKLY_L_MAX)), params["half"], params["slope"])
    coef = np.array([sig(r * spend[:, i].sum() / sat[:, i].sum(), 6) for i, r in enumerate(params["roas"])])
    media = sat * coef[None, :]
    components, controls, extra = _baseline(rng, dates, media.sum(axis=1).mean(), media_share)
    channels = [c.name for c in WEEKLY_CHANNELS]
    components.update({c: media[:, i] for i, c in enumerate(channels)})
    noiseless = sum(components.values())
    revenue = np.round(noiseless + rng.normal(0.0, noise * noiseless.mean(), n_weeks), 2)
    extra["noise"] = noise

    frame = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "revenue": revenue})
    for i, c in enumerate(channels):
        frame[f"{c}_spend"] = spend[:, i]
    frame = frame.assign(**controls)
    contributions = pd.DataFrame({"date": frame["date"], "revenue_observed": revenue, "revenue_noiseless": noiseless,
                                  **components, "media_total": media.sum(axis=1)}).round(2)
    truth = _truth(seed, name or f"sim_weekly_s{seed}", dates, spend, params, coef, components, noiseless,
                   revenue, extra)
    log.info("simulated weekly (seed %d): %d weeks, media share %.3f", seed, n_weeks, truth["totals"]["media_share"])
    return Simulation(
        shape="weekly", name=truth["name"], seed=seed, frequency="weekly", dates=dates, nodes=["total"],
        node_category=["total"], channels=channels, spend=spend,
        components={k: v[:, None] for k, v in components.items()}, target_noiseless=noiseless[:, None],
        target_observed=revenue[:, None], tables={WEEKLY_FILE: frame}, contributions=contributions, truth=truth,
        dataset_yaml=_dataset_yaml(truth["name"], seed, channels),
    )


def _baseline(rng: np.random.Generator, dates: pd.DatetimeIndex, media_mean: float, media_share: float
              ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """Non-media components (revenue units), the control and event columns, and their parameters.

    The base is set so media make up ``media_share`` of mean revenue; trend and seasonality are
    fractions of the base; the control enters linearly around its mean.
    """
    n = len(dates)
    t_years = (np.arange(n) - (n - 1) / 2) / 52.18
    competitor = np.round(1.0e6 * np.exp(ar1(rng, n, 0.8, 0.08)), 0)
    event = np.zeros(n)
    event[rng.choice(np.arange(4, n - 4), size=max(2, n // 30), replace=False)] = 1.0
    # base + the mean event lift make up the non-media share of mean revenue
    base = sig(media_mean * (1.0 - media_share) / media_share / (1.0 + 0.15 * event.mean()), 6)
    season = peak_coefficients([0.08, 0.03], [340.0, 340.0])
    gamma = sig(-0.03 * base / competitor.std(), 4)
    components = {
        "base": np.full(n, base),
        "trend": base * 0.08 * t_years,
        "seasonality": base * yearly_fourier(dates.dayofyear.to_numpy() + 3, season),  # mid-week
        "competitor_sales": gamma * (competitor - competitor.mean()),
        "promo_event": base * 0.15 * event,
    }
    controls = {"competitor_sales": competitor.astype(np.int64), "promo_event": event.astype(np.int64)}
    return components, controls, {"base": base, "gamma": gamma, "season": season, "event_weeks": int(event.sum())}


def _spend(rng: np.random.Generator, dates: pd.DatetimeIndex) -> np.ndarray:
    """``[T, C]`` weekly spend: shared seasonal budget x own noise x flighting, rounded to cents."""
    n = len(dates)
    season = 0.3 * np.cos(2.0 * np.pi * (dates.dayofyear.to_numpy() + 3 - 290.0) / 365.25)
    budget = np.exp(season + ar1(rng, n, 0.7, 0.15))
    out = np.zeros((n, len(WEEKLY_CHANNELS)))
    for i, ch in enumerate(WEEKLY_CHANNELS):
        own = np.exp(ar1(rng, n, 0.3, ch.idio_sd) - ch.idio_sd**2 / 2)
        on = flighting(rng, n, ch.flights[0], ch.flights[1], start_on=True)
        if ch.dark_fraction:
            on *= random_dark(rng, n, ch.dark_fraction)
        out[:, i] = ch.level * budget**ch.budget_exponent * own * on
    return np.round(out, 2)


def _draw_params(rng: np.random.Generator, spend: np.ndarray) -> dict[str, np.ndarray]:
    """True parameters per channel, rounded so truth.json holds them exactly."""
    chans = WEEKLY_CHANNELS
    mean_on = np.array([spend[spend[:, i] > 0, i].mean() for i in range(len(chans))])
    return {
        "decay": np.array([round(rng.uniform(*c.decay), 2) for c in chans]),
        "half": np.array([sig(rng.uniform(*c.half_rel) * m, 3) for c, m in zip(chans, mean_on)]),
        "slope": np.array([round(rng.uniform(*c.slope), 2) for c in chans]),
        "roas": np.array([round(rng.uniform(*c.roas), 2) for c in chans]),
    }


def _truth(seed: int, name: str, dates: pd.DatetimeIndex, spend: np.ndarray, params: dict[str, np.ndarray],
           coef: np.ndarray, components: dict[str, np.ndarray], noiseless: np.ndarray, revenue: np.ndarray,
           extra: dict[str, Any]) -> dict[str, Any]:
    channels = [c.name for c in WEEKLY_CHANNELS]
    total_target = float(noiseless.sum())
    media_total = float(sum(components[c].sum() for c in channels))
    media = {
        c: media_truth_entry(
            decay=float(params["decay"][i]), l_max=WEEKLY_L_MAX, half=float(params["half"][i]),
            slope=float(params["slope"][i]), coefficient=float(coef[i]), spend=spend[:, i],
            contribution=components[c], total_media=media_total, total_target=total_target,
            node_allocation={"total": 1.0},
            extra={"design_roas": float(params["roas"][i]), "spend_column": f"{c}_spend"},
        )
        for i, c in enumerate(channels)
    }
    finalise_media_truth(media)
    return {
        "schema_version": TRUTH_SCHEMA_VERSION,
        "generator": "mmm_pipeline.core.data.simulator (python -m mmm_pipeline simulate weekly)",
        "shape": "weekly",
        "name": name,
        "seed": seed,
        "frequency": "weekly",
        "start": dates[0].strftime("%Y-%m-%d"),
        "end": dates[-1].strftime("%Y-%m-%d"),
        "n_periods": len(dates),
        "target": "revenue",
        "money": "arbitrary currency units; spend per week",
        "spend_history": "zero before the first week, as the pipeline assumes",
        "model": "revenue = base + trend + seasonality + gamma * (competitor_sales - mean) + promo_event + "
                 "sum_c coef_c * hill_c(adstock_c(spend_c)) + eps",
        "l_max": WEEKLY_L_MAX,
        "channels": channels,
        "nodes": ["total"],
        "node_category": {"total": "total"},
        "categories": ["total"],
        "totals": {
            "target_noiseless": round(total_target, 2),
            "target_observed": round(float(revenue.sum()), 2),
            "media_contribution": round(media_total, 2),
            "media_share": sig(media_total / total_target),
            "spend": round(float(spend.sum()), 2),
            "roas": sig(media_total / float(spend.sum())),
        },
        "media": media,
        "elasticity": {},
        "controls": {"competitor_sales": {"form": "linear, centred at its mean", "coefficient": extra["gamma"]}},
        "events": {"promo_event": {"effect": sig(0.15 * extra["base"]), "weeks": extra["event_weeks"]}},
        "baseline": {
            "base": extra["base"],
            "trend_per_year_fraction_of_base": 0.08,
            "seasonality_fourier_sin_cos_fraction_of_base": [[sig(a), sig(b)] for a, b in extra["season"]],
        },
        "noise": {"form": "additive Gaussian", "sd_fraction_of_mean": extra["noise"],
                  "sd": sig(extra["noise"] * float(noiseless.mean()))},
        "contributions": {
            "per_period_file": CONTRIBUTIONS_FILE,
            "note": "per week; base + trend + seasonality + competitor_sales + promo_event + channels = "
                    "revenue_noiseless",
        },
    }


def _dataset_yaml(name: str, seed: int, channels: list[str]) -> dict[str, Any]:
    """A dataset YAML (paths relative to the output folder) that DatasetConfig validates."""
    spend_cols = [f"{c}_spend" for c in channels]
    return {
        "name": name,
        "title": f"Simulated weekly single-market data (seed {seed}, known truth)",
        "simulated": True,
        "licence": "LICENSE",
        "provenance": f"Generated by `python -m mmm_pipeline simulate weekly --seed {seed}` "
                      "(mmm_pipeline.core.data.simulator); true parameters in truth.json.",
        "frequency": "weekly",
        "sources": {
            "main": {
                "path": WEEKLY_FILE,
                "date": {"column": "date", "format": "%Y-%m-%d"},
                "frequency": "weekly",
                "kind": "fact",
                "required_columns": ["revenue", *spend_cols, "competitor_sales", "promo_event"],
            }
        },
        "target": {"name": "revenue", "column": "revenue"},
        "channels": [{"name": c, "spend": s} for c, s in zip(channels, spend_cols)],
        "controls": [{"name": "competitor_sales", "column": "competitor_sales", "kind": "free"}],
        "events": [{"name": "promo_event", "column": "promo_event"}],
        "holdout": {"periods": 13},
        "truth_file": "truth.json",
    }
