"""At which grain does the deployment gate's stability rule judge the model rather than the noise?

Weekly forecasters of known quality, no fitting: the forecast is the true signal (so every error
is the data's own noise, the best any model can do) at several noise levels, plus forecasters
that should fail (a constant, a shuffle, one quarter broken). For each, the share of simulated
histories that pass the spread rule (std <= 0.10 and range <= 0.25 of R²) measured three ways:
per monthly fold (the old rule), on blocks of >= 13 periods and on blocks of >= 26 periods.

    .venv/bin/python benchmarks/gate_grain.py              # 30 histories per row
    .venv/bin/python benchmarks/gate_grain.py --seeds 10
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmm_pipeline.core.config import deep_merge, load_defaults  # noqa: E402
from mmm_pipeline.core.evaluate.gate import evaluate_gate  # noqa: E402
from mmm_pipeline.core.train.walk_forward import WalkForwardSummary  # noqa: E402
from mmm_pipeline_tests.core.evaluate.weekly_forecasts import weekly_history, weekly_summary  # noqa: E402

SPREAD = ("max_block_r2_std", "max_block_r2_range")
FORECASTERS = ("signal", "broken quarter", "constant", "shuffled")


def forecast(kind: str, data, signal: np.ndarray, seed: int) -> np.ndarray:
    """The forecaster ``kind`` on one simulated history."""
    rng = np.random.default_rng(seed)
    if kind == "signal":
        return signal.copy()
    if kind == "broken quarter":
        out = signal.copy()
        out[160:173] += data.y.std() * np.resize([1.0, -1.0], 13)
        return out
    if kind == "constant":
        return np.full_like(signal, data.y[:52].mean())
    return rng.permutation(signal)


def per_fold_spread_passes(summary: WalkForwardSummary) -> bool:
    """The old rule: std and range of the per-month fold R²."""
    return summary.fold_r2["std"] <= 0.10 and summary.fold_r2["range"] <= 0.25


def row(kind: str, years: int, noise: float, seeds: int) -> str:
    defaults = load_defaults()
    counts = {"fold": 0, 13: 0, 26: 0, "gate": 0}
    r2s = []
    for seed in range(seeds):
        data, signal = weekly_history(years=years, seed=seed, noise=noise)
        summary = weekly_summary(forecast(kind, data, signal, seed), data)
        r2s.append(summary.overall["r2"])
        counts["fold"] += per_fold_spread_passes(summary)
        for size in (13, 26):
            result = evaluate_gate(summary, None, deep_merge(defaults, {"gate": {"min_block_periods": size}}))
            counts[size] += not any(c.name in SPREAD for c in result.failures)
        counts["gate"] += evaluate_gate(summary, None, defaults).passed
    share = {k: f"{v / seeds:.0%}" for k, v in counts.items()}
    return (f"| {kind} | {years} | {noise:g} | {np.mean(r2s):.2f} | {share['fold']} | {share[13]} | {share[26]} | "
            f"{share['gate']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30)
    args = parser.parse_args()
    started = time.perf_counter()
    print("| forecaster | years | noise sd | mean pooled R² | spread passes: monthly folds | blocks >= 13 | "
          "blocks >= 26 | whole default gate passes |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for noise in (3.0, 4.0, 5.0):
        for years in (3, 5):
            print(row("signal", years, noise, args.seeds), flush=True)
    for kind in FORECASTERS[1:]:
        print(row(kind, 5, 3.0, args.seeds), flush=True)
    print(f"\n{args.seeds} simulated histories per row; {time.perf_counter() - started:.0f}s.")


if __name__ == "__main__":
    main()
