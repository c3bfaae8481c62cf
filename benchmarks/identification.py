"""Identification you can trust: the product, run as a user runs it, on designs with known truth.

For each design (``weak``, ``informative``, ``confounded``, ``mediated``; see
``mmm_pipeline.core.data.simulator_weekly``) and seed, the simulation is written with its
dataset YAML to a temporary folder and the product runs on it exactly as a user starts it —
``python -m mmm_pipeline run --dataset <yaml> --output-root <tmp>`` in a subprocess, a fresh
Dagster instance, ``nice -n 10`` — then the results folder is read back and judged against the
truth:

* ROAS error and bias (relative to the true ROAS; for the mediated design the *total* effect,
  direct plus through awareness, which is what a budget plan moves), coverage of the 95%
  interval, and its width over the oracle's ``2 x 1.96 x`` Cramér-Rao standard error
  (``information_bound.py``: what the data could tell at best);
* "confidently wrong": flagged identified, interval misses the truth; "false alarms": the
  oracle pins the ROAS to 10% or better (relative SE), the product says "not identified";
* the deployment gate's verdict (summary.json);
* budget regret under the TRUE response: true media revenue over the horizon (and its
  carry-over) of the true optimum at the same total budget, minus that of what the product
  tells the user to do (the plan when recommended, else the current mix), as % of the
  optimum's; the same for keeping the current mix; and how often the product's advice does
  worse than the current mix.

The dataset YAML switches the gate to warn (``automation.gate_blocking: false``, as the shipped
weekly datasets do) so every run leaves a results folder to judge; the gate's verdict is still
read and counted. ``--gate-blocking`` keeps the product default instead (a failed gate then
leaves nothing to judge, and the run counts as failed).

Run (one run at a time; a weekly run takes 1-3 minutes on a shared 2-core machine)::

    nice -n 10 .venv/bin/python benchmarks/identification.py                 # 4 designs x 3 seeds
    nice -n 10 .venv/bin/python benchmarks/identification.py --designs informative --seeds 1 2
    nice -n 10 .venv/bin/python benchmarks/identification.py --write --label before   # docs/identification.md
"""

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent))

from information_bound import roas_standard_errors  # noqa: E402

from mmm_pipeline.core.config import PROJECT_ROOT  # noqa: E402
from mmm_pipeline.core.data.simulator import simulate_weekly, write_simulation  # noqa: E402
from mmm_pipeline.core.data.simulator_truth import Simulation  # noqa: E402
from mmm_pipeline.core.data.simulator_weekly import WEEKLY_DESIGNS  # noqa: E402
from mmm_pipeline.core.plan.evaluate import PlanEvaluator  # noqa: E402
from mmm_pipeline.core.plan.true_response import HillMediaResponse  # noqa: E402

TIGHT_RELATIVE_SE = 0.10  # the oracle pins the ROAS this well: "not identified" is a false alarm
Z95 = 1.959964
DOC = PROJECT_ROOT / "docs" / "identification.md"
#: --quick: a smoke test of the harness, not a measurement (fewer replicates, one seed)
QUICK_SETTINGS = {"bootstrap": {"replicates": 30}}


@dataclass
class Run:
    """One design x seed: the product's results judged against the truth."""

    design: str
    seed: int
    seconds: float
    ok: bool
    error: str = ""
    channels: list[dict[str, Any]] = field(default_factory=list)
    gate_passed: bool | None = None
    plan: dict[str, Any] = field(default_factory=dict)


# -- running the product ----------------------------------------------------------------------


def run_product(sim: Simulation, work: Path, settings: dict[str, Any]) -> tuple[Path | None, str, float]:
    """Write the data and YAML, run ``python -m mmm_pipeline run`` as a user would.

    Returns (results folder or None, the run's last output lines, seconds).
    """
    if settings:
        sim.dataset_yaml = {**sim.dataset_yaml, "settings": settings}
    yaml_path = write_simulation(sim, work / "data", dataset_yaml=work / "dataset.yaml")["dataset_yaml"]
    env = {**os.environ, "DAGSTER_HOME": str(work / "dagster_home"), "DISABLE_PANDERA_IMPORT_WARNING": "True",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = ["nice", "-n", "10", sys.executable, "-m", "mmm_pipeline", "run", "--dataset", str(yaml_path),
               "--output-root", str(work / "outputs")]
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    output = proc.stdout + proc.stderr
    (work / "run.log").write_text(output)
    found = [p.parent for p in (work / "outputs").rglob("channels.json")
             if not any(part.startswith(".") for part in p.relative_to(work / "outputs").parts)]
    folder = max(found, key=lambda p: p.stat().st_mtime) if found else None
    tail = "" if proc.returncode == 0 else " | ".join(output.strip().splitlines()[-4:])
    return folder, tail, seconds


def _read(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_text())


# -- judging the results ----------------------------------------------------------------------


def judge_channels(sim: Simulation, channels: dict[str, Any]) -> list[dict[str, Any]]:
    """Per channel: truth, oracle SE, the product's estimate, interval and verdict."""
    bound = roas_standard_errors(sim)
    rows = []
    for c in sim.channels:
        truth = sim.truth["media"][c]
        roas = channels[c]["roas"]  # a total effect: the product fits its returns without mediators
        lo, hi = _bound(roas["lo"], -np.inf), _bound(roas["hi"], np.inf)
        true_roas = float(truth["roas"])
        rows.append({
            "channel": c, "truth": true_roas, "direct_truth": truth.get("direct_roas"),
            "cr_se": bound[c]["se"], "cr_relative_se": bound[c]["relative_se"],
            "mean": float(roas["mean"]), "lo": lo, "hi": hi,
            "identified": bool(channels[c]["identified"]), "reason": channels[c].get("reason", ""),
            "error": (float(roas["mean"]) - true_roas) / true_roas,
            "covered": lo <= true_roas <= hi,
            "width_vs_bound": (hi - lo) / (2.0 * Z95 * bound[c]["se"]),
        })
    return rows


def _bound(value: float | None, unbounded: float) -> float:
    """An interval end; ``null`` in the results means the data set no limit on that side."""
    return unbounded if value is None else float(value)


def _revenue(evaluator: PlanEvaluator, per_period: np.ndarray) -> float:
    """True media revenue of a ``[H, C]`` plan over the horizon and its carry-over."""
    return float(evaluator.revenue_np(per_period)[0])


def true_optimum(evaluator: PlanEvaluator, per_period_budget: float, starts: list[np.ndarray]) -> float:
    """Best true media revenue of a flat plan spending ``per_period_budget`` a period (SLSQP on shares).

    Several starts, because Hill curves with slope above one are not concave near zero spend.
    """
    horizon = evaluator.horizon
    n = evaluator.n_channels
    scale = max(_revenue(evaluator, np.tile(starts[0], (horizon, 1))), 1.0)

    def negative(shares: np.ndarray) -> tuple[float, np.ndarray]:
        s = torch.tensor(shares, dtype=torch.float64, requires_grad=True)
        revenue = evaluator.revenue((s * per_period_budget).expand(horizon, -1))[0] / scale
        revenue.backward()
        return -float(revenue.detach()), -s.grad.numpy()

    budget = {"type": "eq", "fun": lambda s: s.sum() - 1.0, "jac": lambda s: np.ones_like(s)}
    best = -np.inf
    for start in [*starts, np.ones(n)]:
        s0 = np.maximum(np.asarray(start, dtype=float), 0.0)
        s0 = s0 / s0.sum() if s0.sum() > 0 else np.full(n, 1.0 / n)
        res = minimize(negative, s0, jac=True, method="SLSQP", bounds=[(0.0, 1.0)] * n, constraints=[budget],
                       options={"maxiter": 500, "ftol": 1e-12})
        shares = np.clip(res.x, 0.0, None)
        shares /= shares.sum()
        best = max(best, _revenue(evaluator, np.tile(shares * per_period_budget, (horizon, 1))))
    return best


def judge_plan(sim: Simulation, allocation: dict[str, Any]) -> dict[str, Any]:
    """Regret of the product's advice and of the current mix against the true optimum."""
    channels = sim.channels
    horizon = int(allocation["horizon_periods"])
    truth = HillMediaResponse.from_true_model(sim.true_model)
    evaluator = PlanEvaluator(truth, SimpleNamespace(spend=sim.spend), np.ones(horizon, dtype=int))
    plan = np.array([[float(row[c]) for c in channels] for row in allocation["plan"]])
    current = np.array([float(allocation["channels"][c]["current_per_period"]) for c in channels])
    recommended = bool(allocation["recommended"])
    advice = plan if recommended else np.tile(current, (horizon, 1))
    best = true_optimum(evaluator, float(allocation["total_budget"]) / horizon, [current, plan.mean(axis=0)])
    ours, keep = _revenue(evaluator, advice), _revenue(evaluator, np.tile(current, (horizon, 1)))
    best = max(best, ours, keep)  # a block plan can beat the flat optimum
    return {"recommended": recommended, "regret": (best - ours) / best, "regret_current": (best - keep) / best,
            "worse_than_current": ours < keep * (1.0 - 1e-9),
            "plan_true_lift": (_revenue(evaluator, plan) - keep) / keep}


def study(design: str, seed: int, settings: dict[str, Any], keep: Path | None) -> Run:
    """Simulate, run the product, judge; the work folder is kept under ``keep`` when given."""
    sim = simulate_weekly(seed=seed, design=design)
    with tempfile.TemporaryDirectory(prefix=f"mmm_ident_{design}_s{seed}_") as tmp:
        work = keep / f"{design}_s{seed}" if keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        folder, error, seconds = run_product(sim, work, settings)
        if folder is None:
            return Run(design, seed, seconds, False, error or "no results folder")
        summary = _read(folder, "summary.json")
        return Run(design, seed, seconds, True, error, judge_channels(sim, _read(folder, "channels.json")),
                   bool(summary["gate"]["passed"]), judge_plan(sim, _read(folder, "optimal_allocation.json")))


# -- tables -----------------------------------------------------------------------------------


def _pct(x: float | None, signed: bool = False) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{100 * x:+.1f}%" if signed else f"{100 * x:.1f}%"


def _count(k: int, n: int) -> str:
    return f"{k} of {n}"


def design_summary(label: str, runs: list[Run]) -> dict[str, str]:
    """One row of the summary table over ``runs`` (channel x seed cases pooled)."""
    done = [r for r in runs if r.ok]
    rows = [row for r in done for row in r.channels]
    errors = [row["error"] for row in rows]
    identified = [row for row in rows if row["identified"]]
    tight = [row for row in rows if row["cr_relative_se"] <= TIGHT_RELATIVE_SE]
    widths = [row["width_vs_bound"] for row in rows]
    plans = [r.plan for r in done]
    return {
        "design": label,
        "runs": _count(len(done), len(runs)),
        "ROAS error": _pct(float(np.mean(np.abs(errors)))) if rows else "n/a",
        "ROAS bias": _pct(float(np.mean(errors)), signed=True) if rows else "n/a",
        "95% coverage": f"{_pct(np.mean([row['covered'] for row in rows]))} ({len(rows)})" if rows else "n/a",
        "width / bound": f"{float(np.median(widths)):.2f}" if widths else "n/a",
        "identified": _count(len(identified), len(rows)),
        "confidently wrong": _count(sum(not row["covered"] for row in identified), len(identified)),
        "false alarms": _count(sum(not row["identified"] for row in tight), len(tight)),
        "gate passed": _count(sum(bool(r.gate_passed) for r in done), len(done)),
        "regret (advice)": _pct(float(np.mean([p["regret"] for p in plans]))) if plans else "n/a",
        "regret (current mix)": _pct(float(np.mean([p["regret_current"] for p in plans]))) if plans else "n/a",
        "worse than current": _count(sum(p["worse_than_current"] for p in plans), len(plans)),
        "recommended": _count(sum(p["recommended"] for p in plans), len(plans)),
    }


def markdown(rows: list[dict[str, str]]) -> str:
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row[k] for k in head) + " |" for row in rows]
    return "\n".join(lines)


def channel_table(runs: list[Run]) -> str:
    """Every channel x seed case: truth, oracle SE, estimate and verdict."""
    rows = []
    for r in runs:
        if not r.ok:
            rows.append({"design": r.design, "seed": str(r.seed), "channel": "-", "truth": "-", "oracle SE": "-",
                         "estimate [95%]": f"run failed: {r.error}", "identified": "-", "covered": "-"})
            continue
        for row in r.channels:
            rows.append({
                "design": r.design, "seed": str(r.seed), "channel": row["channel"],
                "truth": f"{row['truth']:.2f}" + _direct(row["direct_truth"]),
                "oracle SE": f"{row['cr_se']:.2f} ({_pct(row['cr_relative_se'])})",
                "estimate [95%]": f"{row['mean']:.2f} [{row['lo']:.2f}, {row['hi']:.2f}]",
                "identified": "yes" if row["identified"] else "no", "covered": "yes" if row["covered"] else "no",
            })
    return markdown(rows)


def _direct(value: float | None) -> str:
    """The direct part beside a total ROAS (mediated design), empty elsewhere."""
    return "" if value is None else f" (direct {value:.2f})"


def plan_table(runs: list[Run]) -> str:
    rows = [{"design": r.design, "seed": str(r.seed), "gate": "pass" if r.gate_passed else "fail",
             "recommended": "yes" if r.plan["recommended"] else "no", "regret (advice)": _pct(r.plan["regret"]),
             "regret (current mix)": _pct(r.plan["regret_current"]),
             "true lift of plan": _pct(r.plan["plan_true_lift"], signed=True), "run s": f"{r.seconds:.0f}"}
            for r in runs if r.ok]
    return markdown(rows) if rows else "(no run finished)"


def summary_table(runs: list[Run], designs: list[str]) -> str:
    rows = [design_summary(d, [r for r in runs if r.design == d]) for d in designs]
    rows.append(design_summary("all", runs))
    return markdown(rows)


def write_doc(label: str, text: str) -> None:
    """Put ``text`` in docs/identification.md between this label's markers (replacing an earlier one)."""
    start, end = f"<!-- identification:{label} -->", f"<!-- /identification:{label} -->"
    block = f"{start}\n{text.strip()}\n{end}"
    doc = DOC.read_text() if DOC.exists() else "# Identification benchmark\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    doc = pattern.sub(lambda _: block, doc) if pattern.search(doc) else doc.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(doc)


def _commit() -> str:
    """The product's commit, and whether tracked files differ from it (the numbers are then not its own)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    return (git("rev-parse", "--short", "HEAD") or "unknown") + (" with uncommitted changes" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", nargs="+", default=list(WEEKLY_DESIGNS), choices=list(WEEKLY_DESIGNS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: seed 1 only and 30 bootstrap replicates (not a measurement)")
    parser.add_argument("--gate-blocking", action="store_true",
                        help="keep the product's blocking gate (a failed gate leaves no results to judge)")
    parser.add_argument("--keep", type=Path, default=None, help="keep each run's data, log and results here")
    parser.add_argument("--json", type=Path, default=None, help="also write every judged case to this JSON file")
    parser.add_argument("--write", action="store_true", help="write the tables to docs/identification.md")
    parser.add_argument("--label", default=None, help="section label in docs/identification.md (default: the commit)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    seeds = args.seeds[:1] if args.quick else args.seeds
    settings: dict[str, Any] = {} if args.gate_blocking else {"automation": {"gate_blocking": False}}
    if args.quick:
        settings.update(QUICK_SETTINGS)
    runs = []
    for design in args.designs:
        for seed in seeds:
            run = study(design, seed, settings, args.keep)
            status = "ok" if run.ok else f"FAILED: {run.error}"
            print(f"{design} seed {seed}: {run.seconds:.0f}s {status}", flush=True)
            runs.append(run)
    label = args.label or f"commit {_commit()}"
    text = (f"### {label}\n\nProduct at commit {_commit()}; designs {', '.join(args.designs)}; seeds "
            f"{', '.join(map(str, seeds))}{'; QUICK (30 replicates, smoke test)' if args.quick else ''}; gate "
            f"{'blocking' if args.gate_blocking else 'set to warn so every run is judged'}.\n\n"
            f"{summary_table(runs, args.designs)}\n\n#### Plans and gate per run\n\n{plan_table(runs)}\n\n"
            f"#### Every channel\n\n{channel_table(runs)}\n")
    print("\n" + text)
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in runs], indent=1, default=float))
    if args.write:
        write_doc(label, text)
        print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
