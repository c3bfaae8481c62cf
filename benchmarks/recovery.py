"""Parameter recovery of the NAM on simulated data with known truth, over many seeds.

    .venv/bin/python benchmarks/recovery.py                 # 10 weekly seeds, 3 daily seeds, loss-term study
    .venv/bin/python benchmarks/recovery.py --weekly 4 --daily 1 --no-write

1. Weekly single market (``simulate_weekly(seed)``): per channel, truth vs estimate of the share
   of media contribution, adstock decay and ROAS, with mean and worst absolute error and the
   share of seeds inside the test tolerances (5 points of share, 0.15 of decay).
2. Daily multi-category retailer (``simulate_retail_daily(seed)`` written to a temporary folder
   and read by the real ingestion + feature code): own-price elasticity per category.
3. What each loss term does (weekly seed 1 and the daily default): spend-share pull, ROAS
   priors, elasticity bounds, smoothness and pooling mode, each against the default fit.

Writes docs/recovery.md unless ``--no-write``.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mmm_pipeline.core.config import PROJECT_ROOT, deep_merge, load_dataset_config, load_defaults
from mmm_pipeline.core.data.modeling_table import load_dataset
from mmm_pipeline.core.data.simulator import RETAIL_SEED, simulate_retail_daily, simulate_weekly, write_simulation
from mmm_pipeline.core.features.build import build_model_data
from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.features.simulated import weekly_simulation_model_data
from mmm_pipeline.core.train.trainer import fit_nam


def weekly_model_data(seed: int) -> tuple[ModelData, dict]:
    sim = simulate_weekly(seed)
    return weekly_simulation_model_data(sim), sim.truth


def daily_model_data(seed: int, folder: Path) -> tuple[ModelData, dict, dict]:
    sim = simulate_retail_daily(seed, name=f"retail_daily_s{seed}")
    out = folder / f"retail_s{seed}"
    written = write_simulation(sim, out, dataset_yaml=out / "dataset.yaml")
    config = load_dataset_config(str(written["dataset_yaml"]))
    return build_model_data(load_dataset(config).table, config), sim.truth, config.settings


def weekly_study(seeds: list[int]) -> pd.DataFrame:
    rows = []
    for seed in seeds:
        data, truth = weekly_model_data(seed)
        started = time.perf_counter()
        fitted = fit_nam(data, load_defaults())
        seconds = time.perf_counter() - started
        cs = fitted.channel_summary(data).set_index("channel")
        for ch in data.channel_names:
            t = truth["media"][ch]
            rows.append({"seed": seed, "channel": ch, "seconds": seconds,
                         "share_true": t["share_of_media"], "share_est": cs.loc[ch, "share"],
                         "decay_true": t["adstock"]["decay"], "decay_est": cs.loc[ch, "decay"],
                         "roas_true": t["roas"], "roas_est": cs.loc[ch, "roas"]})
        print(f"  weekly seed {seed}: {seconds:.1f} s", flush=True)
    return pd.DataFrame(rows)


def summarise_weekly(df: pd.DataFrame) -> pd.DataFrame:
    g = df.assign(share_err=(df.share_est - df.share_true).abs(), decay_err=(df.decay_est - df.decay_true).abs(),
                  roas_rel=((df.roas_est - df.roas_true) / df.roas_true).abs()).groupby("channel", sort=False)
    return pd.DataFrame({
        "share true": g.share_true.mean(), "share est": g.share_est.mean(),
        "share |err| mean": g.share_err.mean(), "share |err| max": g.share_err.max(),
        "within 5 pts": g.share_err.apply(lambda e: (e < 0.05).mean()),
        "decay true": g.decay_true.mean(), "decay est": g.decay_est.mean(),
        "decay |err| mean": g.decay_err.mean(), "decay |err| max": g.decay_err.max(),
        "within 0.15": g.decay_err.apply(lambda e: (e < 0.15).mean()),
        "ROAS true": g.roas_true.mean(), "ROAS est": g.roas_est.mean(), "ROAS |rel err| mean": g.roas_rel.mean(),
    })


def daily_study(seeds: list[int], folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    el_rows, media_rows = [], []
    for seed in seeds:
        try:
            data, truth, settings = daily_model_data(seed, folder)
        except ValueError as exc:  # the simulator refuses some draws (e.g. an unreachable elasticity)
            print(f"  daily seed {seed}: simulator could not build it ({exc}); skipped", flush=True)
            continue
        started = time.perf_counter()
        fitted = fit_nam(data, settings)
        seconds = time.perf_counter() - started
        e = fitted.elasticity("price", data)[0]
        cats = np.asarray(data.node_category)
        for cat, true in truth["elasticity"]["own_price"]["by_category"].items():
            el_rows.append({"seed": seed, "category": cat, "true": true, "estimate": float(e[cats == cat].mean()),
                            "seconds": seconds})
        cs = fitted.channel_summary(data).set_index("channel")
        share_est = float(cs["contribution"].sum() / fitted.predict(data)[0].sum())
        for ch in data.channel_names:
            t = truth["media"][ch]
            media_rows.append({"seed": seed, "channel": ch, "media_share_est": share_est,
                               "media_share_true": truth["totals"]["media_share"], "share_true": t["share_of_media"],
                               "share_est": cs.loc[ch, "share"], "decay_true": t["adstock"]["decay"],
                               "decay_est": cs.loc[ch, "decay"], "roas_true": t["roas"], "roas_est": cs.loc[ch, "roas"]})
        print(f"  daily seed {seed}: {seconds:.1f} s", flush=True)
    return pd.DataFrame(el_rows), pd.DataFrame(media_rows)


def loss_term_study(folder: Path) -> pd.DataFrame:
    """Each optional loss term switched on against the default fit, on weekly seed 1."""
    data, truth = weekly_model_data(1)
    base = load_defaults()
    channels = data.channel_names
    spend_share = data.spend.sum(0) / data.spend.sum()
    true_share = np.array([truth["media"][c]["share_of_media"] for c in channels])
    true_roas = np.array([truth["media"][c]["roas"] for c in channels])
    tv = channels.index("tv")
    variants = {
        "default": {},
        "spend_share 1.0 (DECOMP.RSSD pull)": {"loss": {"spend_share": 1.0}},
        "roas prior tv [3, 4] (truth 1.8), weight 1": {"model": {"roas_priors": {"tv": [3.0, 4.0]}}, "loss": {"roas_prior": 1.0}},
        "smoothness 0": {"loss": {"smoothness": 0.0}},
        "smoothness 1.0": {"loss": {"smoothness": 1.0}},
        "strategy hybrid": {"training": {"strategy": "hybrid"}},
        "log target scale": {"model": {"target_scale": "log"}},
    }
    rows = []
    for name, over in variants.items():
        fitted = fit_nam(data, deep_merge(base, over))
        cs = fitted.channel_summary(data).set_index("channel").loc[channels]
        share, roas = cs["share"].to_numpy(), cs["roas"].to_numpy()
        rows.append({"variant": name, "share |err| mean": np.abs(share - true_share).mean(),
                     "RSSD to spend shares": float(np.sqrt(((share - spend_share) ** 2).sum())),
                     "tv ROAS": roas[tv], "ROAS |rel err| mean": np.abs(roas / true_roas - 1).mean(),
                     "epochs": int(fitted.history["epochs_run"])})
    return pd.DataFrame(rows).set_index("variant")


def pymc_study() -> pd.DataFrame:
    """PyMC-Marketing's example data (normalised geometric adstock + logistic saturation, known truth)."""
    config = load_dataset_config("pymc_example")
    data = build_model_data(load_dataset(config).table, config)
    truth = pd.read_csv(PROJECT_ROOT / "data" / "pymc_marketing" / "mmm_example_true_components.csv")
    fitted = fit_nam(data, config.settings)
    cs = fitted.channel_summary(data).set_index("channel")
    contrib = {c: truth[f"{c}_contribution"].sum() for c in ("x1", "x2")}
    total = sum(contrib.values())
    decay = {"x1": 0.4, "x2": 0.2}  # data/pymc_marketing/GROUND_TRUTH.md
    rows = []
    for c in ("x1", "x2"):
        spend = data.spend[:, data.channel_names.index(c)].sum()
        rows.append({"channel": c, "share true": contrib[c] / total, "share est": cs.loc[c, "share"],
                     "decay true": decay[c], "decay est": cs.loc[c, "decay"],
                     "ROAS true": contrib[c] / spend, "ROAS est": cs.loc[c, "roas"]})
    return pd.DataFrame(rows).set_index("channel")


def elasticity_bound_study() -> pd.DataFrame:
    """The daily default with the shipped bound, no bound, and a bound the truth violates."""
    config = load_dataset_config("retail_daily")
    data = build_model_data(load_dataset(config).table, config)
    truth = json.loads((PROJECT_ROOT / "data" / "retail_daily" / "truth.json").read_text())
    true = truth["elasticity"]["own_price"]["by_category"]
    variants = {
        "default bounds [-3, -0.5]": {},
        "no bounds": {"model": {"elasticity_bounds": {"price": None}}},
        "bounds [-1.0, -0.5] (excludes two categories' truth)": {"model": {"elasticity_bounds": {"price": [-1.0, -0.5]}}},
        "pooling fixed (strength 10)": {"model": {"pooling": {"mode": "fixed"}}},
        "pooling mix (70/30)": {"model": {"pooling": {"mode": "mix"}}},
    }
    rows = []
    cats = np.asarray(data.node_category)
    for name, over in variants.items():
        fitted = fit_nam(data, deep_merge(config.settings, over))
        e = fitted.elasticity("price", data)[0]
        row = {"variant": name}
        for cat, t in true.items():
            row[f"{cat} (true {t:.2f})"] = float(e[cats == cat].mean())
        rows.append(row)
        print(f"  bounds variant: {name}", flush=True)
    return pd.DataFrame(rows).set_index("variant")


def _cell(v, digits: int) -> str:
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if float(v).is_integer() and abs(v) >= 10 else f"{v:.{digits}f}"
    return str(v)


def markdown(df: pd.DataFrame, digits: int = 3) -> str:
    cols = [str(c) for c in df.columns]
    out = ["| " + " | ".join([df.index.name or ""] + cols) + " |", "|" + "---|" * (len(cols) + 1)]
    for idx, row in df.iterrows():
        cells = [_cell(v, digits) for v in row.to_numpy()]
        out.append("| " + " | ".join([str(idx)] + cells) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weekly", type=int, default=10, help="number of weekly seeds (1..n)")
    parser.add_argument("--daily", type=int, default=3, help="number of daily seeds")
    parser.add_argument("--no-write", action="store_true", help="print only; do not write docs/recovery.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("weekly study", flush=True)
        weekly = weekly_study(list(range(1, args.weekly + 1)))
        print("daily study", flush=True)
        seeds = [RETAIL_SEED] + [20240701 + i for i in range(args.daily + 3)]
        daily_el, daily_media = daily_study(seeds[: args.daily], folder) if args.daily else (None, None)
        print("loss terms", flush=True)
        terms = loss_term_study(folder)
        bounds = elasticity_bound_study()
        pymc = pymc_study()
    wk = summarise_weekly(weekly)
    wk.index.name = "channel"
    sections = [
        "# NAM parameter recovery on simulated data",
        "",
        "Generated by `benchmarks/recovery.py` (torch 1 thread). Truth comes from the simulator "
        "(`mmm_pipeline.core.data.simulator`), not from the model's own functional form.",
        "",
        f"## Weekly single market: {args.weekly} seeds, 156 weeks, 5 channels",
        "",
        "Mean over seeds of truth and estimate; errors are absolute (share, decay) or relative (ROAS).",
        "",
        markdown(wk),
        "",
        f"Mean fit time {weekly.seconds.mean():.2f} s per seed.",
    ]
    if daily_el is not None and len(daily_el):
        de = daily_el.assign(error=daily_el.estimate - daily_el.true).pivot(index="category", columns="seed", values="error")
        de.columns = [f"error seed {c}" for c in de.columns]
        de.insert(0, "true (mean)", daily_el.groupby("category")["true"].mean())
        de.insert(1, "estimate (mean)", daily_el.groupby("category")["estimate"].mean())
        dm = daily_media.groupby("channel", sort=False).mean(numeric_only=True).drop(columns="seed")
        media_share = daily_media.groupby("seed").apply(lambda g: g.media_share_est.iloc[0]).mean()
        true_share = daily_media.groupby("seed").apply(lambda g: g.media_share_true.iloc[0]).mean()
        dm = dm.drop(columns=["media_share_est", "media_share_true"])
        dm.index.name = "channel"
        sections += [
            "",
            f"## Daily multi-category retailer: own-price elasticity, seeds {sorted(int(x) for x in daily_el.seed.unique())}",
            "",
            "8 sub-categories in 3 categories, 1,096 days, through the real ingestion and feature code.",
            "",
            markdown(de),
            "",
            "Media on the daily retailer (mean over seeds). Spend is monthly, spread over days: 36 distinct "
            "levels per channel against 9 channels, and most channels never go dark, so the bottom of each "
            "saturation curve is never observed and the split between base and always-on media is not "
            "identified: the fit puts less revenue on media than the simulator did and large channels' ROAS "
            "comes out low. Read these with their bootstrap intervals; ROAS priors from experiments "
            "(`model.roas_priors`) are the tool that resolves it. The weekly study is the media benchmark.",
            "",
            markdown(dm),
            "",
            f"Media share of revenue: estimated {media_share:.3f}, true {true_share:.3f} (mean over seeds).",
        ]
    sections += [
        "",
        "## PyMC-Marketing example data (logistic saturation, 179 weeks)",
        "",
        "Truth from data/pymc_marketing/GROUND_TRUTH.md; the dataset YAML selects logistic saturation.",
        "",
        markdown(pymc),
        "",
        "## What the optional loss terms do (weekly seed 1)",
        "",
        markdown(terms),
        "",
        "## Elasticity bounds and pooling on the daily default (own-price elasticity by category)",
        "",
        markdown(bounds),
        "",
    ]
    text = "\n".join(sections)
    print(text)
    if not args.no_write:
        path = PROJECT_ROOT / "docs" / "recovery.md"
        path.write_text(text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
