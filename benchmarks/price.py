"""Price elasticities on one year of daily data: demand fitted on log(units), revenue by identity.

For each seed, :mod:`mmm_pipeline.core.data.simulator_retail_price` draws a year of daily sales
for five categories whose true units elasticities run from -0.3 (revenue rises with price) to -3,
with discount, sale-event pull-forward, cross-price effects and daily/monthly media. The pipeline's
features stage builds the model data; :func:`mmm_pipeline.core.infer.demand.fit_demand` fits the
bootstrap replicates on log(units) and :func:`price_results` reports units and revenue elasticities
per category with intervals. Printed: one row per category and seed (truth, estimate, interval),
then mean absolute error, 95% coverage and the share of revenue-elasticity signs right where the
truth is at least 0.1 from zero. Targets (issue 11): MAE <= 0.05 on both, coverage >= 90%, every
sign right.

Run: ``nice -n 10 .venv/bin/python benchmarks/price.py --seeds 0 1 2 --replicates 40``
"""

import argparse
import json
import logging
import platform
import time

import numpy as np
import torch

from mmm_pipeline.core.config import deep_merge
from mmm_pipeline.core.data.simulator_retail_price import simulate_price_retail
from mmm_pipeline.core.features.build import build_model_data
from mmm_pipeline.core.infer.demand import fit_demand, price_results, units_matrix


def one_seed(seed: int, replicates: int, epochs: int | None, overrides: dict | None = None) -> list[dict]:
    table, config, truth = simulate_price_retail(seed)
    data = build_model_data(table, config)
    settings = deep_merge(config.settings, {"training": {"threads": 1, **({"epochs": epochs} if epochs else {})}})
    settings = deep_merge(settings, overrides or {})
    started = time.perf_counter()
    fit = fit_demand(data, units_matrix(data, table), settings, n_replicates=replicates)
    results = price_results(fit, settings)
    seconds = time.perf_counter() - started
    rows = []
    for cat, true_units in truth.units_elasticity.items():
        row = {"seed": seed, "category": cat, "seconds": seconds, "violation_rate": results["violation_rate"]}
        for kind, true in (("units", true_units), ("revenue", truth.revenue_elasticity[cat])):
            iv = results[kind][cat]
            row.update({f"{kind}_true": true, f"{kind}_mean": iv["mean"], f"{kind}_lo": iv["lo"], f"{kind}_hi": iv["hi"],
                        f"{kind}_covered": iv["lo"] <= true <= iv["hi"]})
        rows.append(row)
    return rows


def summary(rows: list[dict]) -> dict[str, float]:
    out: dict[str, float] = {}
    for kind in ("units", "revenue"):
        err = [abs(r[f"{kind}_mean"] - r[f"{kind}_true"]) for r in rows]
        out[f"{kind}_mae"] = float(np.mean(err))
        out[f"{kind}_coverage"] = float(np.mean([r[f"{kind}_covered"] for r in rows]))
    signed = [r for r in rows if abs(r["revenue_true"]) >= 0.1]
    out["revenue_sign_right"] = float(np.mean([np.sign(r["revenue_mean"]) == np.sign(r["revenue_true"]) for r in signed]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--replicates", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=None, help="default: settings.training.epochs")
    parser.add_argument("--settings", type=json.loads, default=None, help='settings overrides as JSON, e.g. '
                        '\'{"bootstrap": {"member_init": "different"}}\'')
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    print(f"# price benchmark: {len(args.seeds)} seeds x 5 categories, one year of daily data, "
          f"{args.replicates} bootstrap replicates ({platform.processor() or platform.machine()}, torch threads 1)"
          + (f", settings {json.dumps(args.settings)}" if args.settings else ""))
    print("| seed | category | units true | units estimate [95%] | revenue true | revenue estimate [95%] |")
    print("| ---: | --- | ---: | --- | ---: | --- |")
    rows = []
    for seed in args.seeds:
        for r in one_seed(seed, args.replicates, args.epochs, args.settings):
            rows.append(r)
            print(f"| {seed} | {r['category']} | {r['units_true']:+.2f} | {r['units_mean']:+.3f} "
                  f"[{r['units_lo']:+.3f}, {r['units_hi']:+.3f}] | {r['revenue_true']:+.2f} | {r['revenue_mean']:+.3f} "
                  f"[{r['revenue_lo']:+.3f}, {r['revenue_hi']:+.3f}] |", flush=True)
        print(f"seed {seed}: demand fit {rows[-1]['seconds']:.0f} s; own-price curve rising at "
              f"{rows[-1]['violation_rate']:.1%} of its checks", flush=True)
    s = summary(rows)
    print(f"\nMAE units {s['units_mae']:.3f} (target <= 0.05), MAE revenue {s['revenue_mae']:.3f} (<= 0.05); "
          f"coverage units {s['units_coverage']:.0%}, revenue {s['revenue_coverage']:.0%} (>= 90%); "
          f"revenue sign right {s['revenue_sign_right']:.0%} where |true| >= 0.1 (target 100%)")


if __name__ == "__main__":
    main()
