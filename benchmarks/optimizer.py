"""Regret study: the budget plan scored with the TRUE response functions, box vs trust region.

Two sections, each comparing the plain +/-``bounds_pct`` box ("box", trust region switched off)
with the evidence-scaled trust region ("trust", default settings) on the same evidence:

* ``evidence``: no model fit. The simulator's true curves and spend history, and bootstrap-like
  replicates scattered around an estimate that itself misses the truth by about one standard
  error, at a chosen precision (``--levels``; the table prints the median relative half-width of
  the channels' returns). The ROAS and mROAS intervals handed to the optimizer are computed from
  those replicates.
* ``fit``: simulate weekly data (``--design``: weak, informative, ... or the flighted default),
  fit the bootstrap NAM (one batched fit) and the full-data model, widen the intervals to its
  information bound, flag channels the data do not identify, and plan from channels.json as the
  pipeline does (without walk-forward fold stability).

Scores, with the simulator's truth, of what we would do (the plan if recommended, else the
current mix): *regret* = shortfall against the true optimum, as % of its media revenue; the
optimum lets every channel go from 0 to ``max_multiple`` x current spend (nothing held, so the
cost of holding channels the data do not identify is counted). *current mix* is the regret of
keeping the current mix; *worse than current* counts runs where what we would do has a lower
true revenue than the current mix.

Run: ``nice -n 10 .venv/bin/python benchmarks/optimizer.py --sections evidence fit --design informative``
"""

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from simulated import percent, simulated_weekly  # noqa: E402

from mmm_pipeline.core.config import load_defaults  # noqa: E402
from mmm_pipeline.core.data.simulator import simulate_weekly  # noqa: E402
from mmm_pipeline.core.features.simulated import weekly_simulation_model_data  # noqa: E402
from mmm_pipeline.core.infer.bootstrap import fit_bootstrap  # noqa: E402
from mmm_pipeline.core.infer.information import channel_information  # noqa: E402
from mmm_pipeline.core.infer.intervals import interval  # noqa: E402
from mmm_pipeline.core.infer.returns import channel_results, not_identified  # noqa: E402
from mmm_pipeline.core.plan.evaluate import PlanEvaluator  # noqa: E402
from mmm_pipeline.core.plan.horizon import current_spend  # noqa: E402
from mmm_pipeline.core.plan.optimizer import optimize_budget  # noqa: E402
from mmm_pipeline.core.plan.trust_region import DEFAULT_MAX_MULTIPLE, evidence_half_width, trust_region  # noqa: E402
from mmm_pipeline.core.plan.true_response import HillMediaResponse  # noqa: E402
from mmm_pipeline.core.train.trainer import fit_nam  # noqa: E402

#: log-sd of the replicates (and of the estimate's own miss) per evidence level
PRECISIONS = {"informative": 0.03, "moderate": 0.08, "weak": 0.2}


def score(truth: HillMediaResponse, data: Any, settings: dict, fitted: Any, evidence: dict, held: list[str],
          objective: str = "conservative") -> dict[str, Any]:
    """Box and trust-region plans from the same replicates, scored with the truth."""
    opt = settings.get("optimizer") or {}
    max_multiple = float((opt.get("trust_region") or {}).get("max_multiple", DEFAULT_MAX_MULTIPLE))
    row: dict[str, Any] = {}
    for name, extra in (("box", {"trust_region": {"enabled": False}}), ("trust", {})):
        start = time.perf_counter()
        plan = optimize_budget(fitted, data, settings, objective=objective, not_identified=held, evidence=evidence,
                               overrides=extra, sensitivity=False)
        row[f"{name}_s"] = time.perf_counter() - start
        ev = PlanEvaluator(truth, data, plan.block_lengths)
        row[f"{name}_revenue"] = float(ev.revenue_np(plan.optimal if plan.recommended else ev.flat(plan.current))[0])
        row[f"{name}_recommended"], row[f"{name}_p"] = plan.recommended, plan.probability_beats_current
        row["current"] = float(ev.revenue_np(ev.flat(plan.current))[0])
    free = {"bounds_pct": 1.0, "trust_region": {"enabled": False}, "bounds": {
        ch: {"lower_pct": -1.0, "upper_pct": max_multiple - 1.0} for ch in truth.channel_names}}
    best = optimize_budget(truth, data, settings, objective="mean", overrides=free, sensitivity=False)
    optimum = float(PlanEvaluator(truth, data, best.block_lengths).revenue_np(best.optimal)[0])
    for name in ("box", "trust", "current"):
        revenue = row["current"] if name == "current" else row[f"{name}_revenue"]
        row[f"regret_{name}"] = (optimum - revenue) / optimum
    row["widened"] = [ch for ch in trust_region(opt, truth.channel_names, evidence).widened() if ch not in held]
    row["held"] = held
    return row


def median_half_width(evidence: dict[str, dict[str, Any]]) -> float:
    """Median over channels of the relative half-width the trust region reads (NaN when none can be read)."""
    widths = [w for w in (evidence_half_width(e) for e in evidence.values()) if np.isfinite(w)]
    return float(np.median(widths)) if widths else float("nan")


def scattered_replicates(truth: HillMediaResponse, spread: float, k: int, rng: np.random.Generator) -> HillMediaResponse:
    """K members around an estimate that misses the truth by about one standard error (log-sd ``spread``)."""
    def draw(values: np.ndarray) -> np.ndarray:
        estimate = values * np.exp(rng.normal(0.0, spread, values.shape))
        return estimate * np.exp(rng.normal(0.0, spread, (k, values.shape[-1])))

    return HillMediaResponse(truth.channel_names, np.repeat(truth.decay, k, axis=0), draw(truth.half_saturation),
                             draw(truth.slope), draw(truth.coefficient), truth.l_max)


def evidence_study(seed: int, level: str, replicates: int, design: str | None) -> dict[str, Any]:
    sim = simulate_weekly(seed=seed, design=design)
    data = weekly_simulation_model_data(sim)
    truth = HillMediaResponse.from_true_model(sim.true_model)
    members = scattered_replicates(truth, PRECISIONS[level], replicates, np.random.default_rng(seed))
    roas, mroas = members.returns(data.spend)
    evidence = {ch: {"roas": interval(roas[:, c]).to_dict(), "mroas": interval(mroas[:, c]).to_dict(), "identified": True}
                for c, ch in enumerate(data.channel_names)}
    row = score(truth, data, load_defaults(), members, evidence, [])
    row["half_width"] = median_half_width(evidence)
    return {"seed": seed, "level": level, **row}


def fit_study(seed: int, replicates: int, epochs: int | None, objective: str, design: str | None) -> dict[str, Any]:
    overrides: dict[str, Any] = {"bootstrap": {"replicates": replicates}}
    if epochs:
        overrides["training"] = {"epochs": epochs}
    sim, data, settings = simulated_weekly(seed, overrides, design=design)
    start = time.perf_counter()
    boot = fit_bootstrap(data, settings)
    everything = np.ones(len(data.dates), dtype=bool)
    information = channel_information(fit_nam(data, settings, train_mask=everything), data, everything, settings)
    fit_s = time.perf_counter() - start
    channels = channel_results(boot.fitted, data, settings, current_spend(data, 13), information=information)
    truth = HillMediaResponse.from_true_model(sim.true_model)
    row = score(truth, data, settings, boot.fitted, channels, not_identified(channels), objective)
    row["half_width"] = median_half_width(channels)
    return {"seed": seed, "level": design or "default", "fit_s": fit_s, **row}


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    """One row per seed and evidence level, then the before/after summary per level."""
    print(f"\n{title}")
    print("| level | seed | median half-width of returns | widened | held | P box | P trust | regret: current mix "
          "| regret: box | regret: trust | optimise s (box / trust) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['level']} | {r['seed']} | {percent(r['half_width']).lstrip('+')} | {', '.join(r['widened']) or '-'} "
              f"| {', '.join(r['held']) or '-'} | {r['box_p']:.2f}{'' if r['box_recommended'] else ' (kept)'} "
              f"| {r['trust_p']:.2f}{'' if r['trust_recommended'] else ' (kept)'} | {percent(r['regret_current'])} "
              f"| {percent(r['regret_box'])} | {percent(r['regret_trust'])} | {r['box_s']:.2f} / {r['trust_s']:.2f} |")
    print("\n| level | runs | regret: current mix (mean) | regret: box (mean / max) | regret: trust (mean / max) "
          "| trust worse than current mix | box worse than current mix |")
    print("|---|---|---|---|---|---|---|")
    for level in dict.fromkeys(r["level"] for r in rows):
        sel = [r for r in rows if r["level"] == level]
        worse = {name: sum(r[f"{name}_revenue"] < r["current"] * (1 - 1e-9) for r in sel) for name in ("box", "trust")}
        summary = {name: (np.mean([r[f"regret_{name}"] for r in sel]), max(r[f"regret_{name}"] for r in sel))
                   for name in ("current", "box", "trust")}
        print(f"| {level} | {len(sel)} | {percent(summary['current'][0])} "
              f"| {percent(summary['box'][0])} / {percent(summary['box'][1])} "
              f"| {percent(summary['trust'][0])} / {percent(summary['trust'][1])} | {worse['trust']} | {worse['box']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", nargs="+", default=["evidence", "fit"], choices=["evidence", "fit"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6, 7, 8])
    parser.add_argument("--levels", nargs="+", default=list(PRECISIONS), choices=list(PRECISIONS),
                        help="evidence section: how precise the replicates are")
    parser.add_argument("--design", default=None, help="simulate_weekly design (weak, informative, ...); default flighted")
    parser.add_argument("--replicates", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=None, help="fit section: override settings.training.epochs")
    parser.add_argument("--objective", default="conservative", choices=["conservative", "mean", "point"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    design = args.design or "default (flighted)"
    if "evidence" in args.sections:
        rows = [evidence_study(s, level, args.replicates, args.design) for level in args.levels for s in args.seeds]
        print_table(f"known evidence: true curves of simulate_weekly (design {design}), {args.replicates} replicates "
                    "around an estimate one standard error off", rows)
    if "fit" in args.sections:
        rows = [fit_study(s, args.replicates, args.epochs, args.objective, args.design) for s in args.seeds]
        fit_s = ", ".join(f"{r['fit_s']:.0f}" for r in rows)
        print_table(f"fitted NAM: design {design}, {args.replicates} replicates, epochs {args.epochs or 'default'}, "
                    f"objective {args.objective}; fit seconds per seed {fit_s}", rows)


if __name__ == "__main__":
    main()
