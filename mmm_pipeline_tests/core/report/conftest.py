"""A small, internally consistent results folder for report tests.

The payload is generated from a known toy model (Hill curves, geometric adstock, a constant
price elasticity per sub-category) so that numbers agree across files the way a real run's
do: decomposition parts add up to the prediction, response curves pass through the current
contribution, the optimizer's revenue matches the curves. Tests can then check that the
report shows these numbers rather than just that it runs.
"""

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest

CHANNELS = {  # name: (current weekly spend, Hill half-saturation, Hill slope, max weekly effect, decay)
    "TV": (40_000.0, 55_000.0, 1.6, 150_000.0, 0.6),
    "Search": (25_000.0, 20_000.0, 1.1, 90_000.0, 0.1),
    "Social": (15_000.0, 30_000.0, 1.3, 40_000.0, 0.3),
    "Radio": (5_000.0, 12_000.0, 1.0, 9_000.0, 0.4),
}
NOT_IDENTIFIED = {"Radio"}
HIERARCHY = {"Headphones": "Audio", "Speakers": "Audio", "Lens": "Camera", "Tripod": "Camera"}
PRICE_ELASTICITY = {"Headphones": -1.6, "Speakers": -1.2, "Lens": -0.8, "Tripod": -1.1}
N_WEEKS = 104
HORIZON = 13
ADSTOCK_LAGS = 6


def hill(spend: np.ndarray, half: float, slope: float, top: float) -> np.ndarray:
    spend = np.maximum(np.asarray(spend, dtype=float), 0.0)
    return top * spend**slope / (spend**slope + half**slope)


def adstock_weights(decay: float) -> list[float]:
    raw = decay ** np.arange(ADSTOCK_LAGS)
    return list(raw / raw.sum())


def interval(mean: float, rel: float) -> dict[str, float]:
    lo, hi = sorted((mean * (1 - rel), mean * (1 + rel)))
    return {"mean": mean, "lo": lo, "hi": hi, "width": hi - lo}


def _spend_history(rng: np.random.Generator) -> dict[str, np.ndarray]:
    weeks = np.arange(N_WEEKS)
    out = {}
    for name, (current, *_rest) in CHANNELS.items():
        wave = 1 + 0.35 * np.sin(2 * np.pi * weeks / 26 + len(name))
        out[name] = np.maximum(current * wave * rng.lognormal(0, 0.15, N_WEEKS), 0.0)
    return out


def _decomposition(rng: np.random.Generator, dates: pd.DatetimeIndex, spends: dict[str, np.ndarray]) -> pd.DataFrame:
    nodes = list(HIERARCHY)
    share = np.array([0.35, 0.25, 0.25, 0.15])
    season = 30_000 * np.sin(2 * np.pi * np.arange(N_WEEKS) / 52)
    price_path = 0.05 * np.sin(2 * np.pi * np.arange(N_WEEKS) / 13)  # log price deviation
    rows = []
    for t, date in enumerate(dates):
        media = {}
        for name, (_cur, half, slope, top, decay) in CHANNELS.items():
            w = np.array(adstock_weights(decay))
            hist = spends[name][max(0, t - ADSTOCK_LAGS + 1) : t + 1][::-1]
            media[name] = float(hill(np.dot(w[: len(hist)], hist) / w[: len(hist)].sum(), half, slope, top))
        for n, node in enumerate(nodes):
            base = 400_000 * share[n] + 400 * t * share[n]
            price = 400_000 * share[n] * PRICE_ELASTICITY[node] * price_path[t]
            nps = 5_000 * share[n] * np.cos(2 * np.pi * t / 52)
            drivers = {name: value * share[n] for name, value in media.items()}
            drivers.update({"list_price": price, "discount": 2_000 * share[n] * rng.normal(), "nps": nps,
                            "season_sin1": season[t] * share[n]})
            predicted = base + sum(drivers.values())
            rows.append({"date": date.strftime("%Y-%m-%d"), "node": node, "category": HIERARCHY[node],
                         "actual": predicted * rng.lognormal(0, 0.03),
                         "predicted": predicted, "base": base, **drivers,
                         "base:intercept": 400_000 * share[n], "base:trend": 400 * t * share[n]})
    return pd.DataFrame(rows)


def _channels_json(spends: dict[str, np.ndarray]) -> dict[str, Any]:
    out = {}
    for name, (current, half, slope, top, decay) in CHANNELS.items():
        total_spend = float(spends[name].sum())
        contribution = float(hill(spends[name], half, slope, top).sum())
        roas = contribution / total_spend
        rel = 0.9 if name in NOT_IDENTIFIED else 0.2
        current_effect = float(hill(current, half, slope, top))
        mroas = float((hill(current * 1.01, half, slope, top) - current_effect) / (0.01 * current))
        out[name] = {
            "spend": interval(total_spend, 0.0),
            "contribution": interval(contribution, rel),
            "share": interval(contribution / 30e6, rel),
            "roas": interval(roas, rel),
            "mroas": interval(mroas, rel),
            "saturation_spend": half * 9 ** (1 / slope),  # 90% of max
            "mroas_one_spend": half * 1.4,
            "current_spend_per_period": current,
            "identified": name not in NOT_IDENTIFIED,
            "reason": ("ROAS interval half-width 0.9 x mean exceeds 0.5: spend barely varies"
                       if name in NOT_IDENTIFIED else "ROAS interval half-width within 0.5"),
            "adstock": {"decay": interval(decay, 0.15), "weights": adstock_weights(decay)},
            "saturation": {"form": "hill", "params": {"half": half, "slope": slope, "top": top}},
            "extra_field_from_a_newer_writer": {"ignored": True},
        }
    return out


def _response_curves(optimal: dict[str, float]) -> dict[str, Any]:
    out = {}
    for name, (current, half, slope, top, _decay) in CHANNELS.items():
        grid = np.linspace(0, max(3 * current, 1.2 * half * 9 ** (1 / slope)), 61)
        mean = hill(grid, half, slope, top)
        rel = 0.9 if name in NOT_IDENTIFIED else 0.2
        out[name] = {"spend": grid.tolist(), "mean": mean.tolist(), "lo": (mean * (1 - rel)).tolist(),
                     "hi": (mean * (1 + rel)).tolist(), "current_spend": current,
                     "current_point": {"spend": current, "contribution": float(hill(current, half, slope, top))},
                     "optimal_spend": optimal.get(name), "saturation_spend": half * 9 ** (1 / slope)}
    return out


def _optimal_allocation(recommended: bool) -> tuple[dict[str, Any], dict[str, float]]:
    """As plan.optimizer writes it: horizon totals plus per-period spends; revenue is media revenue."""
    optimal = {"TV": 50_000.0, "Search": 20_000.0, "Social": 10_000.0, "Radio": 5_000.0}
    current = {k: v[0] for k, v in CHANNELS.items()}

    def media_revenue(plan: dict[str, float]) -> float:
        return HORIZON * float(sum(hill(plan[k], *CHANNELS[k][1:4]) for k in plan))

    rev_cur, rev_opt = media_revenue(current), media_revenue(optimal)
    lift = rev_opt - rev_cur
    total = sum(current.values())
    channels = {}
    for k in current:
        change = 100 * (optimal[k] / current[k] - 1)
        action = "maintain" if abs(change) <= 5 else ("increase" if change > 0 else "decrease")
        channels[k] = {"current": current[k] * HORIZON, "optimal": optimal[k] * HORIZON,
                       "current_per_period": current[k], "optimal_per_period": optimal[k], "change_pct": change,
                       "action": action, "recommended_action": action if recommended else "maintain",
                       "locked": k in NOT_IDENTIFIED, "marginal_return": 1.1}

    def at_budget(c: float) -> dict[str, Any]:
        revenue = media_revenue({k: v * (1 + c) for k, v in optimal.items()})
        spend = total * HORIZON * (1 + c)
        return {"budget_change": c, "total_budget": spend, "spend": spend, "feasible": True,
                "revenue": revenue, "revenue_lo": 0.9 * revenue, "revenue_hi": 1.1 * revenue, "roi": revenue / spend,
                "revenue_current_mix": media_revenue({k: v * (1 + c) for k, v in current.items()}),
                "probability_beats_current_mix": 0.8, "note": ""}

    alloc = {
        "total_budget": total * HORIZON, "horizon_periods": HORIZON, "objective": "conservative", "quantile": 0.2,
        "margin": None, "recommended": recommended,
        "reason": ("the plan beats the current mix in 91% of judging replicates" if recommended
                   else "keep the current mix: the plan beats it in only 62% of judging replicates (< 80% required)"),
        "probability_beats_current": 0.91 if recommended else 0.62,
        "channels": channels,
        "revenue_current": interval(rev_cur, 0.1), "revenue_optimal": interval(rev_opt, 0.1),
        "lift": {"mean": lift, "lo": -0.2 * lift, "hi": 2.2 * lift, "width": 2.4 * lift},
        "lift_pct": {"mean": 100 * lift / rev_cur, "lo": -20 * lift / rev_cur, "hi": 220 * lift / rev_cur},
        "revenue_definition": "predicted media revenue over the horizon plus the carry-over periods after it",
        "optimality": {"converged": True, "message": "Optimization terminated successfully"},
        "locked": sorted(NOT_IDENTIFIED), "notes": ["Radio held at current spend: not identified"],
        "plan": [{"period": p + 1, **optimal} for p in range(HORIZON)],
        "sensitivity": [at_budget(c) for c in (-0.5, -0.25, 0.0, 0.25, 0.5)],
    }
    return alloc, optimal


def _summary(dates: pd.DatetimeIndex, simulated: bool, extra: dict[str, Any]) -> dict[str, Any]:
    folds = [{"month": m, "r2": r, "mape": mp, "rmse": 21_000 + 900 * i, "n_train": 60 + 4 * i, "n_test": 4}
             for i, (m, r, mp) in enumerate(zip(["2024-07", "2024-08", "2024-09", "2024-10", "2024-11", "2024-12"],
                                                [0.86, 0.81, 0.88, 0.79, 0.84, 0.9],
                                                [0.041, 0.052, 0.038, 0.061, 0.047, 0.035]))]
    summary = {
        "dataset": "toy_weekly", "title": "Toy weekly electronics retailer (report test fixture)",
        "simulated": simulated, "model_version": "2025-01-06T10-00-00_ab12cd", "created_at": "2025-01-06T10:00:00Z",
        "frequency": "weekly", "target": "revenue",
        "training_window": {"start": str(dates[0].date()), "end": str(dates[-1].date())},
        "holdout_metrics": {"r2": 0.87, "mape": 0.043, "smape": 0.044, "rmse": 22_500.0, "nrmse": 0.051,
                            "directional_accuracy": 0.78},
        "walk_forward": {"overall": {"r2": 0.85, "mape": 0.046, "smape": 0.047, "rmse": 23_400.0, "nrmse": 0.055,
                                     "directional_accuracy": 0.74},
                         "folds": folds, "fold_r2": {"mean": 0.847, "std": 0.04, "min": 0.79, "max": 0.9},
                         "stability": {"TV roas": 0.12, "Search roas": 0.09, "Social roas": 0.21, "Radio roas": 0.64,
                                       "list_price": 0.08}},
        "baselines": [{"model": "ols", "r2": 0.71, "mape": 0.071, "rmse": 35_000.0, "train_seconds": 0.01},
                      {"model": "ridge", "r2": 0.74, "mape": 0.066, "rmse": 33_100.0, "train_seconds": 0.02},
                      {"model": "gbt", "r2": 0.79, "mape": 0.058, "rmse": 29_800.0, "train_seconds": 0.9}],
        "gate": {"passed": True, "checks": [
            {"name": "min_oos_r2", "value": 0.85, "threshold": 0.75, "op": ">=", "passed": True, "margin": 0.1},
            {"name": "max_block_r2_std", "value": 0.04, "threshold": 0.1, "op": "<=", "passed": True, "margin": 0.06},
            {"name": "max_elasticity_cv", "value": 0.08, "threshold": 0.3, "op": "<=", "passed": True,
             "margin": 0.22}],
            "blocks": [{"block": "2024-01..2024-06", "first_fold": "2024-01", "last_fold": "2024-06", "folds": 6,
                        "n_periods": 26, "r2": 0.812, "naive_skill": 0.64},
                       {"block": "2024-07..2024-12", "first_fold": "2024-07", "last_fold": "2024-12", "folds": 6,
                        "n_periods": 27, "r2": 0.871, "naive_skill": None}]},
        "champion": {"promoted": True, "reason": "first model for this dataset",
                     "version": "2025-01-06T10-00-00_ab12cd"},
        "diagnostics": {"n": 416, "durbin_watson": 1.87, "breusch_pagan_stat": 1.1, "breusch_pagan_p": 0.31,
                        "normality_test": "jarque_bera", "normality_stat": 1.6, "normality_p": 0.44,
                        "acf": [0.12, -0.05, 0.08, 0.02, -0.11, 0.04, 0.01], "acf_bound": 0.19, "notes": []},
        "sanity": {"media_share": {"passed": True, "message": "media share 22% within 10%-40%"}},
        "holdout_periods": 13, "schema_version": 1,
        "not_identified": sorted(NOT_IDENTIFIED),
        "price_elasticity": {**{n: interval(e, 0.2) for n, e in PRICE_ELASTICITY.items()},
                             "Audio": interval(-1.4, 0.15), "Camera": interval(-0.95, 0.15)},
        "notes": ["Radio spend barely varies over the training window."],
    }
    summary.update(extra)
    return summary


def _holdout(decomp: pd.DataFrame) -> pd.DataFrame:
    frame = decomp[["date", "node", "actual", "predicted"]].copy()
    frame["date"] = pd.to_datetime(frame["date"])
    frame = frame[frame["date"] >= "2024-07-01"].copy()
    frame["predicted"] *= 1.02
    frame["fold"] = frame["date"].dt.strftime("%Y-%m")
    frame["date"] = frame["date"].dt.strftime("%Y-%m-%d")
    return frame


def _scenario(name: str, description: str, baseline: float, change: float) -> dict[str, Any]:
    lift = baseline * change
    return {"name": name, "description": description, "source": "settings", "periods": HORIZON,
            "revenue": interval(baseline + lift, 0.03), "baseline_revenue": interval(baseline, 0.03),
            "lift": interval(lift, 0.4), "lift_pct": interval(100 * change, 0.4),
            "probability_positive": 0.97 if change > 0 else 0.02, "notes": []}


def write_results(
    folder: Path,
    *,
    simulated: bool = True,
    recommended: bool = True,
    omit: tuple[str, ...] = (),
    summary_extra: dict[str, Any] | None = None,
    seed: int = 3,
) -> Path:
    """Write a full results folder into ``folder``; file names in ``omit`` are left out."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    dates = pd.date_range("2023-01-02", periods=N_WEEKS, freq="W-MON")
    spends = _spend_history(rng)
    decomp = _decomposition(rng, dates, spends)
    alloc, optimal = _optimal_allocation(recommended)
    recent = float(decomp.groupby("date")["predicted"].sum().iloc[-HORIZON:].sum())
    scenarios = [_scenario("tv_blackout", "TV off for the last 13 weeks", recent, -0.07),
                 _scenario("ten_percent_markdown", "10% more discount on every category", recent, 0.04)]
    elasticities = {
        "list_price": {n: interval(e, 0.2) for n, e in PRICE_ELASTICITY.items()},
        "discount": {n: interval(0.3, 0.5) for n in HIERARCHY},
        "TV": {n: interval(0.05, 0.3) for n in HIERARCHY},
    }
    payload: dict[str, Any] = {
        "summary.json": _summary(dates, simulated, summary_extra or {}),
        "channels.json": _channels_json(spends),
        "response_curves.json": _response_curves(optimal),
        "elasticities.json": elasticities,
        "optimal_allocation.json": alloc,
        "scenarios.json": scenarios,
    }
    for name, content in payload.items():
        if name not in omit:
            (folder / name).write_text(json.dumps(content, indent=1))
    if "decomposition.csv" not in omit:
        decomp.to_csv(folder / "decomposition.csv", index=False)
    if "holdout_predictions.csv" not in omit:
        _holdout(decomp).to_csv(folder / "holdout_predictions.csv", index=False)
    return folder


@pytest.fixture
def results_factory(tmp_path: Path) -> Callable[..., Path]:
    """``results_factory(name="run", **options)`` writes a results folder under tmp_path."""

    def make(name: str = "run", **options: Any) -> Path:
        return write_results(tmp_path / name, **options)

    return make


@pytest.fixture(scope="session")
def rendered_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A full results folder rendered once per session: (folder, report.html, report.md).

    Rendering every chart takes seconds, so the HTML and browser tests share one render. The
    folder carries fields and columns beyond the schema, as a newer writer's would.
    """
    from mmm_pipeline.core.report import render_report

    folder = write_results(tmp_path_factory.mktemp("full_run"), summary_extra={"future_block": {"x": [1, 2]}})
    decomposition = pd.read_csv(folder / "decomposition.csv")
    decomposition["region_label"] = "north"  # a non-numeric extra column must not become a driver
    decomposition.to_csv(folder / "decomposition.csv", index=False)
    html_path, md_path = render_report(folder)
    return folder, html_path, md_path
