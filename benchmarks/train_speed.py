"""How fast the NAM trains: one fit, a synthetic 20-feature x 5,000-row problem, and K=100 at once.

    .venv/bin/python benchmarks/train_speed.py            # all three studies
    .venv/bin/python benchmarks/train_speed.py --quick    # fewer sequential fits for the estimate

Prints wall-clock seconds with torch on one thread, the epochs each fit ran (early stopping
varies), and the speed-up of training 100 bootstrap-weighted models in one batched fit over
100 sequential fits (estimated from a few single fits with the same weights). The machine's
load average is printed too: on a shared 2-core machine it changes the numbers a lot.
"""

import argparse
import os
import sys
import time

import numpy as np
import torch

from mmm_pipeline.core.config import load_dataset_config, load_defaults
from mmm_pipeline.core.data.modeling_table import load_dataset
from mmm_pipeline.core.features.build import build_model_data
from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.infer.bootstrap import block_bootstrap_weights
from mmm_pipeline.core.model.synthetic import synthetic_model_data
from mmm_pipeline.core.train.trainer import fit_nam


def timed_fit(data: ModelData, settings: dict, **kwargs) -> tuple[float, int]:
    started = time.perf_counter()
    fitted = fit_nam(data, settings, **kwargs)
    return time.perf_counter() - started, int(fitted.history["epochs_run"])


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="estimate sequential time from 2 fits instead of 4")
    parser.add_argument("--members", type=int, default=100)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread; {load_note()}")

    config = load_dataset_config("retail_daily")
    data = build_model_data(load_dataset(config).table, config)
    settings = config.settings
    t, n, f = data.X.shape
    seconds, epochs = timed_fit(data, settings)
    print(f"retail_daily one fit ({n} nodes x {t} days, {f} features): {seconds:.2f} s, {epochs} epochs "
          f"({1e3 * seconds / epochs:.1f} ms/epoch)")

    synth, _ = synthetic_model_data(0, n_periods=5000, frequency="daily", n_channels=8, n_decreasing=3,
                                    n_increasing=3, n_free=3, n_linear=3, l_max=14)
    s_seconds, s_epochs = timed_fit(synth, load_defaults())
    print(f"synthetic 20 features x 5,000 rows: {s_seconds:.2f} s, {s_epochs} epochs "
          f"({1e3 * s_seconds / s_epochs:.1f} ms/epoch)")

    k = args.members
    weights = block_bootstrap_weights(t, k, 28, seed=7)
    b_seconds, b_epochs = timed_fit(data, settings, sample_weights=weights)
    probes = 2 if args.quick else 4
    singles = [timed_fit(data, settings, sample_weights=weights[i : i + 1]) for i in range(probes)]
    per_fit = float(np.mean([s for s, _ in singles]))
    sequential = per_fit * k
    print(f"K={k} bootstrap members at once: {b_seconds:.1f} s ({b_epochs} epochs, until the last member stopped) "
          f"= {b_seconds / per_fit:.1f}x one fit")
    print(f"{k} sequential fits (estimated from {probes}: {per_fit:.2f} s each, "
          f"{np.mean([e for _, e in singles]):.0f} epochs): {sequential:.0f} s")
    print(f"speed-up of batching: {sequential / b_seconds:.1f}x; {load_note()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
