"""Coverage you can state: the simulation check of the interval_coverage asset, on simulated designs.

For each design and seed, fit the final model on the simulated data as a user's run would, then
run :func:`mmm_pipeline.core.infer.coverage.simulated_coverage`: simulate new sales from that
model with the dataset's own spend and controls, refit (final model, information bound, block
bootstrap) and count how often each reported ROAS interval covers the ROAS it was simulated
with. Prints one row per design and seed and the coverage over all channel cases.

    .venv/bin/python benchmarks/coverage.py --designs informative weak --seeds 1 --simulations 10
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from simulated import simulated_weekly  # noqa: E402

from mmm_pipeline.core.data.simulator_weekly import WEEKLY_DESIGNS  # noqa: E402
from mmm_pipeline.core.infer.coverage import simulated_coverage  # noqa: E402
from mmm_pipeline.core.train.trainer import fit_nam  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", nargs="+", default=["informative", "weak"], choices=sorted(WEEKLY_DESIGNS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--simulations", type=int, default=10)
    parser.add_argument("--replicates", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{'design':<12} {'seed':>4} {'coverage':>9} {'cases':>6} {'seconds':>8}  by channel")
    covered, total = 0.0, 0
    for design in args.designs:
        for seed in args.seeds:
            _, data, settings = simulated_weekly(seed, design=design)
            holdout = int(data.meta.get("holdout_periods", 0))
            mask = np.arange(len(data.dates)) < len(data.dates) - holdout  # the run's training periods
            started = time.perf_counter()
            point = fit_nam(data, settings, train_mask=mask)
            result = simulated_coverage(point, data, settings, mask, args.simulations, args.replicates, seed)
            n_cases = len(result.by_channel) * result.simulations
            covered, total = covered + result.coverage * n_cases, total + n_cases
            by = ", ".join(f"{ch} {v:.0%}" for ch, v in result.by_channel.items())
            print(f"{design:<12} {seed:>4} {result.coverage:>8.0%} {n_cases:>6} "
                  f"{time.perf_counter() - started:>8.0f}  {by}", flush=True)
    print(f"all: measured coverage of the nominal 95% intervals {covered / total:.0%} over {total} channel cases")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
