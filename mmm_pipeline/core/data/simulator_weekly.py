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

``design`` draws one of four marketing situations instead (:data:`WEEKLY_DESIGNS`), each the kind
of data a planner really has, for measuring when the model should and should not claim to know a
channel's return:

* ``weak``: three years of always-on channels moving together on one budget, little own variation;
* ``informative``: five years of test-and-learn flighting, each channel switched on, off and
  reweighted on its own plan;
* ``confounded``: budgets chase a demand index that also drives sales (given as a control);
* ``mediated``: media build a brand-awareness tracker that itself drives sales (given as a brand
  item); truth.json carries each channel's direct and total return.
"""

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mmm_pipeline.core.data.simulator_spend import (
    ar1,
    flight_levels,
    flighting,
    peak_coefficients,
    random_dark,
    yearly_fourier,
)
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
    brand_ratio: tuple[float, float] = (0.2, 0.5)  # mediated design: effect via brand / direct effect


# upper-funnel channels build more brand than lower-funnel ones (search mostly harvests demand)
WEEKLY_CHANNELS = [
    WeeklyChannel("tv", 60000.0, ((3, 6), (3, 8)), 0.0, 1.0, 0.15, (0.55, 0.80), (1.0, 2.0),
                  brand_ratio=(0.5, 1.0)),
    WeeklyChannel("radio", 37500.0, ((3, 6), (3, 7)), 0.0, 1.0, 0.20, (0.35, 0.60), (1.0, 2.0),
                  brand_ratio=(0.3, 0.7)),
    WeeklyChannel("social", 30000.0, ((8, 20), (2, 5)), 0.05, 1.0, 0.50, (0.20, 0.45), (1.2, 2.5),
                  brand_ratio=(0.2, 0.6)),
    WeeklyChannel("search", 25000.0, ((8, 20), (2, 5)), 0.05, 0.7, 0.50, (0.10, 0.30), (2.0, 3.5),
                  brand_ratio=(0.0, 0.2)),
    WeeklyChannel("display", 37500.0, ((3, 6), (3, 7)), 0.0, 0.8, 0.25, (0.25, 0.55), (0.8, 1.5)),
]


@dataclass(frozen=True)
class WeeklyDesign:
    """A marketing situation: how long the history is, how spend is planned, what else is in the data."""

    name: str
    weeks: int
    plan: str  # default (flighted, shared seasonal budget) | always_on | test_and_learn | chase_demand
    mediator: bool  # media build a brand-awareness tracker that drives sales
    title: str


WEEKLY_DESIGNS: dict[str, WeeklyDesign] = {d.name: d for d in (
    WeeklyDesign("weak", 156, "always_on", False,
                 "always-on channels on one shared budget, little own variation"),
    WeeklyDesign("informative", 260, "test_and_learn", False,
                 "test-and-learn flighting, each channel varied on its own plan"),
    WeeklyDesign("confounded", 156, "chase_demand", False,
                 "budgets chase a demand index that also drives sales (a control)"),
    WeeklyDesign("mediated", 156, "default", True,
                 "media build a brand-awareness tracker that drives sales (a brand item)"),
)}
DEFAULT_DESIGN = WeeklyDesign("default", 156, "default", False, "flighted channels on a shared seasonal budget")
DEMAND_COLUMN = "demand_index"
BRAND_COLUMN = "brand_awareness"


def simulate_weekly(
    seed: int = 1,
    n_weeks: int | None = None,
    *,
    noise: float = 0.03,
    media_share: float = 0.3,
    start: str = "2022-01-03",
    name: str | None = None,
    design: str | None = None,
) -> Simulation:
    """Simulate a weekly single-market dataset with known truth.

    ``noise`` is the standard deviation of the additive noise as a fraction of mean noiseless
    revenue; ``media_share`` the share of noiseless revenue due to media; ``start`` must be a
    Monday. Parameters (decay, Hill, ROAS) are drawn from ``seed`` within each channel's range.
    ``design`` picks a marketing situation from :data:`WEEKLY_DESIGNS` (None: the flighted
    default); ``n_weeks`` defaults to the design's history length.
    """
    spec = weekly_design(design)
    n_weeks = spec.weeks if n_weeks is None else n_weeks
    first = pd.Timestamp(start)
    if first.dayofweek != 0:
        raise ValueError(f"start {start} is a {first.day_name()}; weekly data starts on a Monday")
    if n_weeks < 52:
        raise ValueError(f"n_weeks={n_weeks}: need at least 52 weeks for yearly seasonality")
    if not 0.0 < media_share < 0.9 or noise < 0:
        raise ValueError(f"media_share must be in (0, 0.9) and noise >= 0, got {media_share}, {noise}")
    rng = np.random.default_rng(seed)
    dates = pd.date_range(first, periods=n_weeks, freq="7D")
    demand = _demand_index(rng, dates) if spec.plan == "chase_demand" else None
    spend = _planned_spend(spec, rng, dates, demand)
    params = _draw_params(rng, spend)
    sat = hill(adstock(spend, geometric_weights(params["decay"], WEEKLY_L_MAX)), params["half"], params["slope"])
    coef = np.array([sig(r * spend[:, i].sum() / sat[:, i].sum(), 6) for i, r in enumerate(params["roas"])])
    media = sat * coef[None, :]
    components, controls, extra = _baseline(rng, dates, media.sum(axis=1).mean(), media_share, demand)
    if spec.mediator:
        brand_part, brand_column, extra["mediator"] = _brand_awareness(rng, sat, coef)
        components[BRAND_COLUMN] = brand_part
        controls[BRAND_COLUMN] = brand_column
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
    default_name = f"sim_weekly_s{seed}" if design is None else f"sim_weekly_{design}_s{seed}"
    truth = _truth(seed, name or default_name, dates, spend, params, coef, components, noiseless,
                   revenue, extra)
    if design is not None:
        _add_design_truth(truth, spec, extra)
    log.info("simulated weekly (seed %d, design %s): %d weeks, media share %.3f", seed, spec.name, n_weeks,
             truth["totals"]["media_share"])
    return Simulation(
        shape="weekly", name=truth["name"], seed=seed, frequency="weekly", dates=dates, nodes=["total"],
        node_category=["total"], channels=channels, spend=spend,
        components={k: v[:, None] for k, v in components.items()}, target_noiseless=noiseless[:, None],
        target_observed=revenue[:, None], tables={WEEKLY_FILE: frame}, contributions=contributions, truth=truth,
        dataset_yaml=_dataset_yaml(truth["name"], seed, channels, spec, list(controls)),
    )


def weekly_design(design: str | None) -> WeeklyDesign:
    """The design called ``design`` (None: the default flighted data), or an error listing the choices."""
    if design is None:
        return DEFAULT_DESIGN
    if design not in WEEKLY_DESIGNS:
        raise ValueError(f"unknown weekly design '{design}'; the designs are {', '.join(WEEKLY_DESIGNS)}")
    return WEEKLY_DESIGNS[design]


def _baseline(rng: np.random.Generator, dates: pd.DatetimeIndex, media_mean: float, media_share: float,
              demand: np.ndarray | None = None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """Non-media components (revenue units), the control and event columns, and their parameters.

    The base is set so media make up ``media_share`` of mean revenue; trend and seasonality are
    fractions of the base; the control enters linearly around its mean. The control is the
    competitor's sales (a small negative effect) unless a ``demand`` index is given: then demand
    is the control, and sales move one for one with it (a 1% richer market, 1% more base sales).
    """
    n = len(dates)
    t_years = (np.arange(n) - (n - 1) / 2) / 52.18
    control = DEMAND_COLUMN if demand is not None else "competitor_sales"
    values = demand if demand is not None else np.round(1.0e6 * np.exp(ar1(rng, n, 0.8, 0.08)), 0)
    event = np.zeros(n)
    event[rng.choice(np.arange(4, n - 4), size=max(2, n // 30), replace=False)] = 1.0
    # base + the mean event lift make up the non-media share of mean revenue
    base = sig(media_mean * (1.0 - media_share) / media_share / (1.0 + 0.15 * event.mean()), 6)
    season = peak_coefficients([0.08, 0.03], [340.0, 340.0])
    gamma = sig(base / values.mean(), 4) if demand is not None else sig(-0.03 * base / values.std(), 4)
    components = {
        "base": np.full(n, base),
        "trend": base * 0.08 * t_years,
        "seasonality": base * yearly_fourier(dates.dayofyear.to_numpy() + 3, season),  # mid-week
        control: gamma * (values - values.mean()),
        "promo_event": base * 0.15 * event,
    }
    column = values if demand is not None else values.astype(np.int64)
    controls = {control: column, "promo_event": event.astype(np.int64)}
    return components, controls, {"base": base, "gamma": gamma, "season": season, "event_weeks": int(event.sum()),
                                  "control": control}


def _budget_season(dates: pd.DatetimeIndex) -> np.ndarray:
    """Log budget over the year: heaviest in the run-up to the year-end peak (mid-October)."""
    return 0.3 * np.cos(2.0 * np.pi * (dates.dayofyear.to_numpy() + 3 - 290.0) / 365.25)


def _planned_spend(spec: WeeklyDesign, rng: np.random.Generator, dates: pd.DatetimeIndex,
                   demand: np.ndarray | None) -> np.ndarray:
    """``[T, C]`` weekly spend as the design's media plan lays it out."""
    if spec.plan == "always_on":
        return _spend_always_on(rng, dates)
    if spec.plan == "test_and_learn":
        return _spend_test_and_learn(rng, dates)
    if spec.plan == "chase_demand":
        return _spend(rng, dates, budget=(demand / demand.mean()) ** 2.0)  # 1% more demand, 2% more money
    return _spend(rng, dates)


def _spend(rng: np.random.Generator, dates: pd.DatetimeIndex, budget: np.ndarray | None = None) -> np.ndarray:
    """``[T, C]`` weekly spend: shared budget x own noise x flighting, rounded to cents.

    The shared budget is seasonal with a wobble unless ``budget`` (relative, mean about 1) is given.
    """
    n = len(dates)
    if budget is None:
        budget = np.exp(_budget_season(dates) + ar1(rng, n, 0.7, 0.15))
    out = np.zeros((n, len(WEEKLY_CHANNELS)))
    for i, ch in enumerate(WEEKLY_CHANNELS):
        own = np.exp(ar1(rng, n, 0.3, ch.idio_sd) - ch.idio_sd**2 / 2)
        on = flighting(rng, n, ch.flights[0], ch.flights[1], start_on=True)
        if ch.dark_fraction:
            on *= random_dark(rng, n, ch.dark_fraction)
        out[:, i] = ch.level * budget**ch.budget_exponent * own * on
    return np.round(out, 2)


def _spend_always_on(rng: np.random.Generator, dates: pd.DatetimeIndex) -> np.ndarray:
    """``[T, C]`` always-on spend: one seasonal budget split in near-fixed shares.

    What most advertisers' histories look like: every channel on air every week, the total
    following the season and the quarter's money, each channel's share wobbling by only 5-30%.
    """
    n = len(dates)
    budget = np.exp(_budget_season(dates) + ar1(rng, n, 0.85, 0.2))
    out = np.zeros((n, len(WEEKLY_CHANNELS)))
    for i, ch in enumerate(WEEKLY_CHANNELS):
        own_sd = rng.uniform(0.05, 0.3)
        own = np.exp(ar1(rng, n, 0.5, own_sd) - own_sd**2 / 2)
        out[:, i] = ch.level * budget**ch.budget_exponent * own
    return np.round(out, 2)


def _spend_test_and_learn(rng: np.random.Generator, dates: pd.DatetimeIndex) -> np.ndarray:
    """``[T, C]`` test-and-learn spend: each channel on its own flighting plan at varied weights.

    Bursts of 2-5 weeks alternate with dark runs of 4-8 weeks (long enough for the carry-over
    to fade and be read), independently per channel, and each burst is bought at its own weight
    (lognormal, sd 0.6), so every channel is seen off, low and high while the others do
    something else. The season moves budgets only a little.
    """
    n = len(dates)
    budget = np.exp(0.3 * _budget_season(dates) + ar1(rng, n, 0.7, 0.05))
    out = np.zeros((n, len(WEEKLY_CHANNELS)))
    for i, ch in enumerate(WEEKLY_CHANNELS):
        on = flighting(rng, n, (2, 5), (4, 8))
        own = np.exp(ar1(rng, n, 0.3, 0.1) - 0.1**2 / 2)
        out[:, i] = ch.level * budget * own * flight_levels(rng, on, 0.6)
    return np.round(out, 2)


def _demand_index(rng: np.random.Generator, dates: pd.DatetimeIndex) -> np.ndarray:
    """``[T]`` a market demand index (mean about 100, one decimal): a holiday peak plus slow swings.

    Category demand (search interest, market size) that planners watch and budget against.
    """
    n = len(dates)
    season = 0.12 * np.cos(2.0 * np.pi * (dates.dayofyear.to_numpy() + 3 - 335.0) / 365.25)
    return np.round(100.0 * np.exp(season + ar1(rng, n, 0.9, 0.12)), 1)


def _brand_awareness(rng: np.random.Generator, sat: np.ndarray, coef: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The brand path of the mediated design: (non-media sales component, awareness column, truth).

    Each channel's total effect ``coef`` splits into a direct part and a part through awareness
    in the ratio drawn from its ``brand_ratio`` range. Awareness (points, weekly tracker) is
    35 + the media-built points + its own slow AR(1) drift (sd 2 points); sales rise by a fixed
    amount per point. The media-built points follow each channel's own carry-over and saturation,
    so the total effect per channel is again a Hill curve and plans can be scored exactly.
    """
    ratio = np.array([round(rng.uniform(*c.brand_ratio), 2) for c in WEEKLY_CHANNELS])
    via = coef * ratio / (1.0 + ratio)  # revenue per week at full saturation through awareness
    via_revenue = sat * via[None, :]
    per_point = sig(via_revenue.sum(axis=1).mean() / 8.0, 6)  # media build 8 points on average
    drift = 2.0 * ar1(rng, len(sat), 0.8, 1.0)
    column = np.round(35.0 + via_revenue.sum(axis=1) / per_point + drift, 2)
    points = column - 35.0 - via_revenue.sum(axis=1) / per_point  # the drift as the column records it
    truth = {
        "column": BRAND_COLUMN,
        "form": "awareness = 35 + sum_c points_c * hill_c(adstock_c(spend_c)) + drift; "
                "revenue += revenue_per_point * (awareness - 35)",
        "revenue_per_point": per_point,
        "points_at_full_saturation": {c.name: sig(v / per_point) for c, v in zip(WEEKLY_CHANNELS, via)},
        "brand_to_direct_ratio": {c.name: float(r) for c, r in zip(WEEKLY_CHANNELS, ratio)},
        "drift": {"form": "AR(1)", "phi": 0.8, "sd_points": 2.0},
        "direct_coefficient": {c.name: sig(k - v, 6) for c, k, v in zip(WEEKLY_CHANNELS, coef, via)},
    }
    return per_point * points, column, truth


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
        "model": f"revenue = base + trend + seasonality + gamma * ({extra['control']} - mean) + promo_event + "
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
        "controls": {extra["control"]: {"form": "linear, centred at its mean", "coefficient": extra["gamma"]}},
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
            "note": f"per week; base + trend + seasonality + {extra['control']} + promo_event + channels = "
                    "revenue_noiseless",
        },
    }


def _add_design_truth(truth: dict[str, Any], spec: WeeklyDesign, extra: dict[str, Any]) -> None:
    """Fields only designed data carry: the design, and for the mediated design the brand path.

    There ``coefficient`` and ``roas`` are each channel's *total* effect (direct plus through
    awareness), the planning-relevant truth a budget plan is scored with; ``direct_roas`` is
    what a model that holds awareness fixed should find.
    """
    truth["design"] = {"name": spec.name, "description": spec.title}
    mediator = extra.get("mediator")
    if not mediator:
        return
    truth["mediator"] = mediator
    truth["model"] += (f" (coef_c is the total effect: {mediator['form']}; with awareness held fixed only the "
                       "direct part coef_c / (1 + brand_to_direct_ratio_c) remains)")
    truth["controls"][BRAND_COLUMN] = {"form": "mediator (driven by media, drives sales)",
                                       "revenue_per_point": mediator["revenue_per_point"]}
    for c, m in truth["media"].items():
        share = mediator["direct_coefficient"][c] / m["coefficient"]
        m["total_roas"] = m["roas"]
        m["direct_roas"] = sig(m["roas"] * share)
        m["direct_contribution"] = sig(m["total_contribution"] * share, 10)


def _dataset_yaml(name: str, seed: int, channels: list[str], spec: WeeklyDesign, columns: list[str]
                  ) -> dict[str, Any]:
    """A dataset YAML (paths relative to the output folder) that DatasetConfig validates.

    The columns are declared the way a user would: the demand index or competitor sales as a
    control, an awareness tracker as a brand item.
    """
    spend_cols = [f"{c}_spend" for c in channels]
    designed = spec is not DEFAULT_DESIGN
    out: dict[str, Any] = {
        "name": name,
        "title": f"Simulated weekly single-market data (seed {seed}, known truth)"
                 + (f": {spec.title}" if designed else ""),
        "simulated": True,
        "licence": "LICENSE",
        "provenance": f"Generated by `python -m mmm_pipeline simulate weekly --seed {seed}"
                      + (f" --design {spec.name}" if designed else "") + "` "
                      "(mmm_pipeline.core.data.simulator); true parameters in truth.json.",
        "frequency": "weekly",
        "sources": {
            "main": {
                "path": WEEKLY_FILE,
                "date": {"column": "date", "format": "%Y-%m-%d"},
                "frequency": "weekly",
                "kind": "fact",
                "required_columns": ["revenue", *spend_cols, *columns],
            }
        },
        "target": {"name": "revenue", "column": "revenue"},
        "channels": [{"name": c, "spend": s} for c, s in zip(channels, spend_cols)],
        "controls": [{"name": columns[0], "column": columns[0], "kind": "free"}],
        "events": [{"name": "promo_event", "column": "promo_event"}],
        "holdout": {"periods": 13},
        "truth_file": "truth.json",
    }
    if BRAND_COLUMN in columns:
        out["brand"] = [{"name": BRAND_COLUMN, "column": BRAND_COLUMN}]
    return out
