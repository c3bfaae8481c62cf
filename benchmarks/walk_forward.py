"""Walk-forward benchmark: wall time of the folds (sequential, 2 processes, K-batched) and the
out-of-sample accuracy of the NAM and every baseline on identical monthly folds.

    .venv/bin/python benchmarks/walk_forward.py                      # all three datasets, all folds
    .venv/bin/python benchmarks/walk_forward.py --datasets robyn_weekly --max-folds 6
    .venv/bin/python benchmarks/walk_forward.py --output docs/walk_forward.md

Parallel: concurrent.futures.ProcessPoolExecutor, 2 workers (spawned, so worker start-up is in
the time), 1 torch thread each. Batched: all folds as the K members of one ``fit_nam`` call with
``sample_weights`` = the fold train masks (see ``run_folds_batched`` for how it differs).
"""

import argparse
import logging
import multiprocessing
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mmm_pipeline.core.config import PROJECT_ROOT, deep_merge, load_dataset_config
from mmm_pipeline.core.data.modeling_table import load_dataset
from mmm_pipeline.core.evaluate.baselines import run_baselines
from mmm_pipeline.core.evaluate.gate import evaluate_gate
from mmm_pipeline.core.features.build import build_model_data
from mmm_pipeline.core.train.walk_forward import (
    aggregate_folds,
    fold_months,
    make_folds,
    run_fold,
    run_folds_batched,
)

DATASETS = ["robyn_weekly", "pymc_example", "retail_daily"]


def _worker_init() -> None:
    torch.set_num_threads(1)
    logging.getLogger().setLevel(logging.WARNING)


def _load(name: str, epochs: int | None):
    config = load_dataset_config(name)
    settings = deep_merge(config.settings, {"training": {"threads": 1}})
    if epochs:
        settings = deep_merge(settings, {"training": {"epochs": epochs}})
    data = build_model_data(load_dataset(config).table, config)
    return config, settings, data


def _timed(fn, *args, **kwargs):
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - started


def _parallel(data, months, settings, workers: int):
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init) as pool:
        futures = [pool.submit(run_fold, data, m, settings) for m in months]
        return [f.result() for f in futures]


def _fmt(x: float, digits: int = 3) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def _accuracy_rows(label: str, overall: dict, total: dict, fold_mean: float, fold_std: float, seconds: float) -> str:
    return (f"| {label} | {_fmt(overall['r2'])} | {_fmt(total['r2'])} | {_fmt(overall['mape'])} | "
            f"{_fmt(overall['smape'])} | {_fmt(overall['nrmse'])} | {_fmt(overall['directional_accuracy'], 2)} | "
            f"{_fmt(fold_mean)} ± {_fmt(fold_std)} | {seconds:.1f} |")


def bench(name: str, args) -> list[str]:
    config, settings, data = _load(name, args.epochs)
    months = fold_months(data.dates, settings)
    if args.max_folds:
        months = months[-args.max_folds:]
    folds = make_folds(data, settings, months)
    t, n, f = data.X.shape
    lines = [f"### {name} ({config.frequency}, {t} periods x {n} nodes x {f} features, {len(months)} folds "
             f"{months[0]}..{months[-1]})", ""]
    print(lines[0], flush=True)

    seq, seq_s = _timed(lambda: [run_fold(data, m, settings) for m in months])
    print(f"  sequential {seq_s:.1f}s", flush=True)
    timing = [f"| sequential (1 process) | {seq_s:.1f} | 1.00 | reference |"]
    if not args.skip_parallel:
        par, par_s = _timed(_parallel, data, months, settings, args.workers)
        same = max(float(np.max(np.abs(a.predictions["predicted"].to_numpy(float) - b.predictions["predicted"].to_numpy(float))))
                   if a.ok and b.ok else 0.0 for a, b in zip(seq, par))
        timing.append(f"| {args.workers} processes x 1 thread | {par_s:.1f} | {seq_s / par_s:.2f} | "
                      f"max abs prediction difference {same:.2g} |")
        print(f"  parallel {par_s:.1f}s", flush=True)
    batched_summary = None
    if not args.skip_batched:
        bat, bat_s = _timed(run_folds_batched, data, settings, months)
        batched_summary = aggregate_folds(bat)
        timing.append(f"| K-batched (one fit, {len(months)} members) | {bat_s:.1f} | {seq_s / bat_s:.2f} | "
                      f"pooled OOS R² {_fmt(batched_summary.overall['r2'])} (no early stopping, shared scalers) |")
        print(f"  batched {bat_s:.1f}s", flush=True)

    summary = aggregate_folds(seq, data)
    violations = {}
    for r in seq:
        for key, value in r.constraint_violations.items():
            violations[key] = max(violations.get(key, 0.0), value)
    gate = evaluate_gate(summary, violations, settings)
    baselines, base_s = _timed(run_baselines, data, folds, settings)
    print(f"  baselines {base_s:.1f}s", flush=True)

    lines += ["| folds run as | wall s | speed-up | note |", "|---|---:|---:|---|", *timing, ""]
    lines += ["| model | OOS R² (node) | OOS R² (total) | MAPE | sMAPE | NRMSE | dir. acc. | fold R² mean ± std | train s |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    ok = summary.folds[summary.folds["status"] == "ok"]
    lines.append(_accuracy_rows("NAM (sequential folds)", summary.overall, summary.overall_total,
                                summary.fold_r2["mean"], summary.fold_r2["std"], float(ok["train_seconds"].sum())))
    if batched_summary is not None:
        lines.append(_accuracy_rows("NAM (K-batched folds)", batched_summary.overall, batched_summary.overall_total,
                                    batched_summary.fold_r2["mean"], batched_summary.fold_r2["std"],
                                    float(batched_summary.folds["train_seconds"].sum())))
    for _, row in baselines.iterrows():
        total = {"r2": row["r2_total"]}
        lines.append(_accuracy_rows(row["model"], row.to_dict(), total, row["fold_r2_mean"], row["fold_r2_std"],
                                    row["train_seconds"]))
    stab = {k: v for k, v in summary.stability.items()}
    worst = sorted(stab.items(), key=lambda kv: -kv[1] if np.isfinite(kv[1]) else -1e9)[:5]
    lines += ["", f"Gate: {'PASSED' if gate.passed else 'FAILED'} — {gate.message}", "",
              "Least stable across folds (CV): " + ", ".join(f"{k} {_fmt(v, 2)}" for k, v in worst), ""]
    worst_folds = ok.nsmallest(3, "r2")
    lines.append("Worst folds (NAM): " + "; ".join(
        f"{r.month} R² {_fmt(r.r2)}" + (f" (unseen in training: {r.unseen})" if r.unseen else "")
        for r in worst_folds.itertuples()))
    if summary.skipped:
        lines.append(f"Skipped folds: {summary.skipped}")
    lines.append("")
    for line in lines[1:]:
        print(line, flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=DATASETS)
    parser.add_argument("--max-folds", type=int, default=0, help="only the last N folds (0: all)")
    parser.add_argument("--epochs", type=int, default=0, help="override training.epochs (0: configured)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-parallel", action="store_true")
    parser.add_argument("--skip-batched", action="store_true")
    parser.add_argument("--output", type=Path, default=None, help="also write the tables to this markdown file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    header = [
        "# Walk-forward benchmark",
        "",
        f"Produced by `benchmarks/walk_forward.py {' '.join(sys.argv[1:])}` on {pd.Timestamp.now():%Y-%m-%d %H:%M}, "
        f"{platform.machine()} with {os.cpu_count()} CPU cores (load average {load:.1f} at start: the machine is "
        "shared, so wall times are indicative), torch "
        f"{torch.__version__}, 1 torch thread per process. Monthly expanding-window folds after 12 initial months, "
        "configured training settings; OOS metrics pool every fold's test-month predictions (MAPE, sMAPE, NRMSE as "
        "fractions; fold R² is 1 - MSE_fold / variance over the fold's window, see docs/methodology.md).",
        "",
    ]
    body: list[str] = []
    for name in args.datasets:
        body += bench(name, args)
    footer = [f"Total benchmark time {time.perf_counter() - started:.0f}s.", ""]
    if args.output:
        path = args.output if args.output.is_absolute() else PROJECT_ROOT / args.output
        path.write_text("\n".join(header + body + footer))
        print(f"wrote {path}")
    print(footer[0])


if __name__ == "__main__":
    main()
