"""Calibration with lift tests on simulated weak designs: do the estimates move to the truth,
and do the bootstrap intervals with tests cover it?

Design ``weak`` of the weekly simulator (three years of always-on channels moving together on
one budget: today mostly not identified). For each seed, one go-dark test of eight weeks per
channel, its measured lift the true one plus noise with a standard error drawn between 10%
and 30% of the true lift. Per seed, two bootstrap fits of the same replicates: without tests
and with them (each replicate drawing its own measured lifts). Printed per seed and overall:
mean relative ROAS error of the replicate mean, 95% interval coverage of the true ROAS, and
the median interval width with tests relative to the width without and to the test's own
ROAS interval (the lift's 95% interval per unit of spend removed). Intervals are the ones the
product reports: the bootstrap's, widened to the information bound (lift tests included).

Then the test plan: on the fit without tests, :func:`design_tests` proposes the best test per
channel with its predicted ROAS interval width after the test; that test is simulated from the
truth with the standard error the plan predicted, added, and the bootstrap refitted. Printed:
predicted against measured width (target: within 25%).

Run: ``nice -n 10 .venv/bin/python benchmarks/calibration.py --seeds 1 2 3 4 --replicates 40``
"""

import argparse
import logging
import platform
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import torch

from mmm_pipeline.core.config import deep_merge, load_defaults
from mmm_pipeline.core.data.experiments import Z95, LiftTests
from mmm_pipeline.core.data.simulator import simulate_weekly
from mmm_pipeline.core.data.simulator_experiments import LiftTestDesign, design_window, simulate_lift_tests, true_lift
from mmm_pipeline.core.features.simulated import weekly_simulation_model_data
from mmm_pipeline.core.infer.bootstrap import fit_bootstrap
from mmm_pipeline.core.infer.information import channel_information, media_information
from mmm_pipeline.core.infer.intervals import Interval, at_least
from mmm_pipeline.core.infer.returns import roas_intervals
from mmm_pipeline.core.plan.test_design import design_tests
from mmm_pipeline.core.train.trainer import fit_nam

TEST_WEEKS = 8


def lift_tests(frame: pd.DataFrame) -> LiftTests:
    n = len(frame)
    return LiftTests(tuple(frame["channel"]), (None,) * n, pd.DatetimeIndex(frame["start"]),
                     pd.DatetimeIndex(frame["end"]), frame["lift"].to_numpy(float), frame["lift_se"].to_numpy(float),
                     frame["spend_multiplier"].to_numpy(float), np.zeros(n), tuple(frame["channel"]))


def product_intervals(boot, data, settings: dict) -> dict[str, Interval]:
    """The ROAS intervals the product reports: the bootstrap's, widened to the information bound of
    a final fit on the same data and lift tests (as ``channel_returns`` does)."""
    everything = np.ones(len(data.dates), bool)
    info = channel_information(fit_nam(data, settings), data, everything, settings)
    return {ch: at_least(iv, info[ch].rel_se_data) for ch, iv in roas_intervals(boot.fitted, data).items()}


def one_seed(seed: int, replicates: int) -> pd.DataFrame:
    sim = simulate_weekly(seed, design="weak")
    data = weekly_simulation_model_data(sim)
    rng = np.random.default_rng(seed)
    start = sim.dates[len(sim.dates) // 2]
    designs = [LiftTestDesign(c, str(start.date()), TEST_WEEKS, 0.0) for c in data.channel_names]
    fractions = rng.uniform(0.1, 0.3, len(designs))
    frame = simulate_lift_tests(sim.true_model, sim.spend, sim.dates, "weekly", designs, list(fractions), seed)
    window = (sim.dates >= start) & (sim.dates <= pd.Timestamp(frame["end"].iloc[0]))
    removed = sim.spend[window].sum(0)
    settings = deep_merge(load_defaults(), {"bootstrap": {"replicates": replicates}})
    truth = sim.true_model.roas
    rows = []
    for label, tests in (("without", None), ("with", lift_tests(frame))):
        tested = replace(data, experiments=tests)
        fit = fit_bootstrap(tested, settings, seed=seed)
        for c, (channel, iv) in enumerate(product_intervals(fit, tested, settings).items()):
            rows.append({"seed": seed, "tests": label, "channel": channel, "truth": truth[channel], "mean": iv.mean,
                         "lo": iv.lo, "hi": iv.hi, "test_width": 2 * Z95 * frame["lift_se"].iloc[c] / removed[c]})
    return pd.DataFrame(rows)


def designed_tests(seed: int, replicates: int) -> pd.DataFrame:
    """Predicted vs measured ROAS interval width after each channel's best proposed test."""
    sim = simulate_weekly(seed, design="weak")
    data = weekly_simulation_model_data(sim)
    settings = deep_merge(load_defaults(), {"bootstrap": {"replicates": replicates}})
    before = fit_bootstrap(data, settings, seed=seed)
    everything = np.ones(len(data.dates), bool)
    point = fit_nam(data, settings)
    media = media_information(point, data, everything, settings)
    info = media.channels
    channels = {ch: {"identified": False, "roas": at_least(iv, info[ch].rel_se_data).to_dict(),
                     "information": info[ch].to_dict()} for ch, iv in roas_intervals(before.fitted, data).items()}
    plan = design_tests(point, data, channels, settings, everything, media)
    rows = []
    for channel, best in plan["best_per_channel"].items():
        start = str(data.dates[len(data.dates) - best["periods"]].date())
        design = LiftTestDesign(channel, start, best["periods"], best["multiplier"])
        lift = true_lift(sim.true_model, sim.spend, design_window(sim.dates, design), design)
        se = best["roas_se_test"] * abs(best["spend_change"])
        frame = simulate_lift_tests(sim.true_model, sim.spend, sim.dates, "weekly", [design], se / abs(lift), seed)
        tested = replace(data, experiments=lift_tests(frame))
        after = fit_bootstrap(tested, settings, seed=seed)
        iv = product_intervals(after, tested, settings)[channel]
        rows.append({"seed": seed, "channel": channel, "test": f"{best['design']}, {best['weeks']} weeks",
                     "boot_width_before": channels[channel]["roas"]["hi"] - channels[channel]["roas"]["lo"],
                     "info_width_before": best["width_now"],
                     "predicted_after": best["width_after"], "measured_after": iv.hi - iv.lo})
    out = pd.DataFrame(rows)
    return out.assign(ratio=out["measured_after"] / out["predicted_after"])


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    results = results.assign(rel_error=(results["mean"] / results["truth"] - 1).abs(),
                             covered=(results["lo"] <= results["truth"]) & (results["truth"] <= results["hi"]),
                             width=results["hi"] - results["lo"])
    table = results.groupby("tests").agg(mean_rel_error=("rel_error", "mean"), coverage=("covered", "mean"),
                                         median_width=("width", "median"), cases=("covered", "size"))
    with_tests = results[results["tests"] == "with"]
    table.loc["with", "width_vs_test"] = float((with_tests["width"] / with_tests["test_width"]).median())
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--replicates", type=int, default=40)
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    results = pd.concat([one_seed(s, args.replicates) for s in args.seeds], ignore_index=True)
    pd.set_option("display.width", 160)
    print(f"# calibration benchmark: weak weekly design, seeds {args.seeds}, {args.replicates} replicates, "
          f"one {TEST_WEEKS}-week go-dark test per channel (SE 10-30% of the true lift); {platform.processor() or 'cpu'}"
          f", {time.perf_counter() - started:.0f} s")
    print(results.round(3).to_string(index=False))
    print()
    print(summarise(results).round(3).to_string())
    designed = pd.concat([designed_tests(s, args.replicates) for s in args.seeds], ignore_index=True)
    print()
    print(designed.round(3).to_string(index=False))
    within = (designed["ratio"] - 1).abs() <= 0.25
    print(f"\npredicted width within 25% of measured: {int(within.sum())} of {len(designed)}; "
          f"median measured / predicted {designed['ratio'].median():.2f}; {time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
