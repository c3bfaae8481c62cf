"""Regret study: the recommended budget plan scored with the TRUE response functions.

For each seed: simulate weekly data with known truth, fit the bootstrap NAM (one batched fit),
flag channels the data do not identify, optimise the plan (risk-aware, default settings), then
evaluate with the simulator's true adstock and saturation:

* ``true lift``: true media revenue of what we would do (the plan if recommended, else the
  current mix) over the current mix;
* ``regret``: shortfall against the true optimum under the same constraints (not-identified
  channels held, as the recommendation holds them), as % of media revenue and of total revenue
  (base included) over the horizon.

Run: ``.venv/bin/python benchmarks/optimizer.py --seeds 1 2 3 4 5 6 7 8 --replicates 100``
"""

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from simulated import base_revenue, percent, simulated_weekly  # noqa: E402

from mmm_pipeline.core.infer.bootstrap import fit_bootstrap  # noqa: E402
from mmm_pipeline.core.infer.returns import channel_results, not_identified  # noqa: E402
from mmm_pipeline.core.plan.evaluate import PlanEvaluator  # noqa: E402
from mmm_pipeline.core.plan.horizon import current_spend  # noqa: E402
from mmm_pipeline.core.plan.optimizer import optimize_budget  # noqa: E402
from mmm_pipeline.core.plan.true_response import HillMediaResponse  # noqa: E402


def study(seed: int, replicates: int, epochs: int | None, objective: str, member_init: str | None = None) -> dict:
    overrides = {"bootstrap": {"replicates": replicates, "member_init": member_init}}
    if epochs:
        overrides["training"] = {"epochs": epochs}
    sim, data, settings = simulated_weekly(seed, overrides)
    start = time.perf_counter()
    boot = fit_bootstrap(data, settings)
    fit_s = time.perf_counter() - start
    horizon = 13
    channels = channel_results(boot.fitted, data, settings, current_spend(data, horizon))
    ni = not_identified(channels)
    start = time.perf_counter()
    plan = optimize_budget(boot.fitted, data, settings, objective=objective, not_identified=ni, sensitivity=False)
    opt_s = time.perf_counter() - start
    truth = HillMediaResponse.from_true_model(sim.true_model)
    ev = PlanEvaluator(truth, data, plan.block_lengths)
    cur = float(ev.revenue_np(ev.flat(plan.current))[0])
    chosen = plan.optimal if plan.recommended else ev.flat(plan.current)
    ours = float(ev.revenue_np(chosen)[0])
    plan_true = float(ev.revenue_np(plan.optimal)[0])
    best_same = optimize_budget(truth, data, settings, objective="mean", not_identified=ni, sensitivity=False)
    best_free = optimize_budget(truth, data, settings, objective="mean", sensitivity=False)
    opt_same = float(ev.revenue_np(best_same.optimal)[0])
    opt_free = float(ev.revenue_np(best_free.optimal)[0])
    base = base_revenue(sim, horizon)
    return {
        "seed": seed, "recommended": plan.recommended, "p": plan.probability_beats_current,
        "not_identified": ni, "fit_s": fit_s, "opt_s": opt_s, "spread": plan.marginal_spread,
        "pred_lift": plan.lift_pct.mean / 100.0,
        "true_lift": (ours - cur) / cur, "plan_true_lift": (plan_true - cur) / cur,
        "regret_media": (opt_same - ours) / opt_same, "regret_total": (opt_same - ours) / (base + opt_same),
        "regret_free_media": (opt_free - ours) / opt_free,
        "headroom_media": (opt_same - cur) / cur,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6, 7, 8])
    parser.add_argument("--replicates", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=None, help="override settings.training.epochs")
    parser.add_argument("--objective", default="conservative", choices=["conservative", "mean", "point"])
    parser.add_argument("--member-init", default=None, choices=["same", "different"],
                        help="override settings.bootstrap.member_init (replicates' initialisation)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    rows = [study(s, args.replicates, args.epochs, args.objective, args.member_init) for s in args.seeds]
    print(f"objective={args.objective}, replicates={args.replicates}, epochs={args.epochs or 'default'}, "
          f"member_init={args.member_init or 'settings'}")
    print("| seed | recommended | P(beats current) | predicted lift | true lift (what we do) | true lift of plan "
          "| headroom | regret (media) | regret (total rev.) | not identified | fit s | optimise s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['seed']} | {r['recommended']} | {r['p']:.2f} | {percent(r['pred_lift'])} | {percent(r['true_lift'])} "
              f"| {percent(r['plan_true_lift'])} | {percent(r['headroom_media'])} | {percent(r['regret_media'])} "
              f"| {percent(r['regret_total'])} | {', '.join(r['not_identified']) or '-'} | {r['fit_s']:.1f} | {r['opt_s']:.2f} |")
    worse = sum(r["true_lift"] < -1e-9 for r in rows)
    print(f"\nseeds where what we do is worse than the current mix under the truth: {worse} of {len(rows)}")
    print(f"recommended plans that were worse than current: "
          f"{sum(r['recommended'] and r['plan_true_lift'] < 0 for r in rows)} of {sum(r['recommended'] for r in rows)}")
    print(f"regret vs true optimum (media revenue): mean {percent(np.mean([r['regret_media'] for r in rows]))}, "
          f"max {percent(max(r['regret_media'] for r in rows))}")
    print(f"regret vs true optimum (total revenue): mean {percent(np.mean([r['regret_total'] for r in rows]))}, "
          f"max {percent(max(r['regret_total'] for r in rows))}")


if __name__ == "__main__":
    main()
