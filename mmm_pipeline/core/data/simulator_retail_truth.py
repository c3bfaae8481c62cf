"""Files and truth of the ``retail_daily`` simulation.

The truth records what a recovery study needs to score a model and to re-evaluate any spend
plan with the generating response: adstock and saturation per channel, coefficients and how
they split over categories and nodes, ROAS and shares, true response curves, per-month channel
contributions, and own-price elasticities *evaluated under the full model* (mean over days of
``d log y / d log p``), not merely the design parameter.
"""

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from mmm_pipeline.core.config import DATASET_DIR
from mmm_pipeline.core.data.simulator_retail_design import (
    CATEGORIES,
    CHANNELS,
    NODES,
    NOISE_COMMON_SD,
    NOISE_NODE_SD,
    RETAIL_EXPERIMENT_SE,
    RETAIL_EXPERIMENTS,
    RETAIL_L_MAX,
)
from mmm_pipeline.core.data.simulator_experiments import simulate_lift_tests
from mmm_pipeline.core.data.simulator_truth import (
    TRUTH_SCHEMA_VERSION,
    Simulation,
    TrueModel,
    finalise_media_truth,
    media_truth_entry,
    sig,
)

if TYPE_CHECKING:
    from mmm_pipeline.core.data.simulator_retail import RetailInputs, RetailResponse

CONTRIBUTIONS_FILE = "truth_contributions.csv"


def retail_outputs(name: str, seed: int, inp: "RetailInputs", resp: "RetailResponse", noiseless: np.ndarray,
                   units: np.ndarray, gmv: np.ndarray) -> Simulation:
    """Assemble the :class:`Simulation`: input tables, per-day contributions and truth."""
    channels = [d.name for d in CHANNELS]
    components = {k: resp.scale[None, :] * v for k, v in resp.components.items()}
    for i, c in enumerate(channels):
        components[c] = resp.scale[None, :] * resp.media_level[:, :, i]
    tables = {
        "sales_daily.csv": _sales_table(inp, units, gmv),
        "media_investment.csv": _media_table(inp),
        "monthly_nps.csv": pd.DataFrame({"Date": [_mdy(m) for m in inp.months], "NPS": inp.nps_month}),
        "special_sale.csv": pd.DataFrame({"Date": [_mdy(d) for d in inp.sales["date"]],
                                          "Sales Name": inp.sales["name"].to_numpy()}),
    }
    contributions = _contribution_table(inp.dates, gmv, noiseless, components, channels)
    truth = _truth(name, seed, inp, resp, components, noiseless, gmv, contributions)
    tables["experiments.csv"] = simulate_lift_tests(
        TrueModel.from_truth(truth), inp.spend, inp.dates, "daily", list(RETAIL_EXPERIMENTS), RETAIL_EXPERIMENT_SE,
        seed).drop(columns="true_lift")
    return Simulation(
        shape="retail_daily", name=name, seed=seed, frequency="daily", dates=inp.dates,
        nodes=[n.name for n in NODES], node_category=[n.category for n in NODES], channels=channels,
        spend=inp.spend, components=components, target_noiseless=noiseless, target_observed=gmv,
        tables=tables, contributions=contributions, truth=truth, dataset_yaml=_dataset_yaml(name),
    )


def _mdy(ts: pd.Timestamp) -> str:
    """M/D/YYYY without leading zeros, as in the DT Mart files."""
    return f"{ts.month}/{ts.day}/{ts.year}"


def _sales_table(inp: "RetailInputs", units: np.ndarray, gmv: np.ndarray) -> pd.DataFrame:
    n_t, n_n = inp.mrp.shape
    return pd.DataFrame({
        "order_date": np.repeat(inp.dates.strftime("%Y-%m-%d").to_numpy(), n_n),
        "product_category": np.tile([n.category for n in NODES], n_t),
        "product_subcategory": np.tile([n.name for n in NODES], n_t),
        "gmv": gmv.ravel(),
        "units": units.ravel().astype(np.int64),
        "mrp": inp.mrp.ravel().astype(np.int64),
        "discount": inp.discount.ravel(),
    })


def _media_table(inp: "RetailInputs") -> pd.DataFrame:
    """DT Mart layout in crores; Radio and Other are blank in their dark months."""
    frame = pd.DataFrame({"Year": inp.months.year, "Month": inp.months.month,
                          "Total Investment": np.round(inp.crores.sum(axis=1), 1)})
    for i, d in enumerate(CHANNELS):
        col = pd.Series(inp.crores[:, i], dtype=float)
        frame[d.name] = col.where(col > 0) if d.blank_when_dark else col
    return frame


def _contribution_table(dates: pd.DatetimeIndex, gmv: np.ndarray, noiseless: np.ndarray,
                        components: dict[str, np.ndarray], channels: list[str]) -> pd.DataFrame:
    """Per day, summed over nodes: observed and noiseless GMV and every true component.

    Whole rupees: the paise of a ~1e8 daily figure sit below the level at which floating-point
    results agree across CPUs (vectorised exp/log differ in the last bits), and the shipped files
    must regenerate byte for byte anywhere.
    """
    frame = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "gmv_observed": gmv.sum(axis=1),
                          "gmv_noiseless": noiseless.sum(axis=1)})
    for key, value in components.items():
        frame[key] = value.sum(axis=1)
    frame["media_total"] = sum(components[c] for c in channels).sum(axis=1)
    numbers = frame.columns[1:]
    frame[numbers] = frame[numbers].round(0).astype(np.int64)
    return frame


def _elasticities(inp: "RetailInputs", resp: "RetailResponse") -> dict[str, Any]:
    """Mean over days of d log y / d log x under the full (noiseless) model.

    Own price: ``y`` depends on price only through ``g = -a log(p / p_ref)`` with
    ``p = mrp (1 - discount)``, so ``d log y / d log p = -a / level`` (the same for MRP at a fixed
    discount). Category: all its nodes' prices move together, ``d log sum_n y_n / d log p``.
    Discount: ``d log p / d log discount = -discount / (1 - discount)``.
    """
    level = resp.level
    own = -resp.price_coef[None, :] / level
    disc = own * (-inp.discount / (1.0 - inp.discount))
    nps_slope = np.zeros(len(NODES))
    cat_names = [n.category for n in NODES]
    by_category, nps_by_node = {}, {}
    for cat in CATEGORIES:
        m = np.array([c == cat.name for c in cat_names])
        weighted = resp.scale[m][None, :] * level[:, m]
        by_category[cat.name] = sig(np.mean((own[:, m] * weighted).sum(axis=1) / weighted.sum(axis=1)))
        nps_slope[m] = cat.nps_effect
    h_prime = nps_slope[None, :] / 8.0 / np.cosh((inp.nps[:, None] - 50.0) / 8.0) ** 2
    nps_el = h_prime * inp.nps[:, None] / level
    for j, n in enumerate(NODES):
        nps_by_node[n.name] = sig(nps_el[:, j].mean())
    return {
        "definition": "mean over days of d log y / d log x under the noiseless generating model",
        "own_price": {
            "feature": "effective price mrp * (1 - discount); equal to list price (mrp) at a fixed discount",
            "by_node": {n.name: sig(own[:, j].mean()) for j, n in enumerate(NODES)},
            "by_category": by_category,
            "design_target_by_category": {c.name: c.elasticity for c in CATEGORIES},
        },
        "discount": {"by_node": {n.name: sig(disc[:, j].mean()) for j, n in enumerate(NODES)}},
        "nps": {"by_node": nps_by_node},
    }


def _truth(name: str, seed: int, inp: "RetailInputs", resp: "RetailResponse", components: dict[str, np.ndarray],
           noiseless: np.ndarray, gmv: np.ndarray, contributions: pd.DataFrame) -> dict[str, Any]:
    channels = [d.name for d in CHANNELS]
    nodes = [n.name for n in NODES]
    total_target = float(noiseless.sum())
    media_total = float(sum(components[c].sum() for c in channels))
    media = {}
    for i, d in enumerate(CHANNELS):
        media[d.name] = media_truth_entry(
            decay=d.decay, l_max=RETAIL_L_MAX, half=float(resp.half[i]), slope=d.slope,
            coefficient=float(resp.coefficient[i]), spend=inp.spend[:, i],
            contribution=components[d.name].sum(axis=1), total_media=media_total, total_target=total_target,
            node_allocation={n: float(resp.node_allocation[i, j]) for j, n in enumerate(nodes)},
            extra={"design_roas": d.roas,
                   "coefficient_by_category": {c.name: sig(resp.coefficient[i] * d.category_weights[k])
                                               for k, c in enumerate(CATEGORIES)}},
        )
    finalise_media_truth(media)
    month = pd.to_datetime(contributions["date"]).dt.strftime("%Y-%m")
    by_month = contributions[channels].groupby(month).sum()
    return {
        "schema_version": TRUTH_SCHEMA_VERSION,
        "generator": "mmm_pipeline.core.data.simulator (python -m mmm_pipeline simulate retail_daily)",
        "shape": "retail_daily",
        "name": name,
        "seed": seed,
        "frequency": "daily",
        "start": inp.dates[0].strftime("%Y-%m-%d"),
        "end": inp.dates[-1].strftime("%Y-%m-%d"),
        "n_periods": len(inp.dates),
        "target": "gmv",
        "money": "INR; media_investment.csv is in crores (x 1e7); spend here is INR per day = monthly spend / "
                 "days in month",
        "spend_history": "zero before the first day, as the pipeline assumes",
        "model": "gmv[t,n] = scale_n * (base + trend + seasonality + special_sale + nps + price + "
                 "sum_c beta[c,cat] * hill_c(adstock_c(spend_c))[t]) * (1 + eps[t,n]); units = round(gmv / "
                 "(mrp * (1 - discount)))",
        "l_max": RETAIL_L_MAX,
        "channels": channels,
        "nodes": nodes,
        "node_category": {n.name: n.category for n in NODES},
        "categories": [c.name for c in CATEGORIES],
        "totals": {
            "target_noiseless": sig(total_target, 10),
            "target_observed": sig(float(gmv.sum()), 10),
            "media_contribution": sig(media_total, 10),
            "media_share": sig(media_total / total_target),
            "spend": sig(float(inp.spend.sum()), 10),
            "roas": sig(media_total / float(inp.spend.sum())),
            "media_share_by_category": {
                c.name: sig(sum(components[ch][:, _members(c.name)].sum() for ch in channels)
                            / noiseless[:, _members(c.name)].sum()) for c in CATEGORIES},
        },
        "media": media,
        "elasticity": _elasticities(inp, resp),
        "price_response": {
            "form": "g = -a * log(p / p_ref), p = mrp * (1 - discount), p_ref = geometric mean of p over the window",
            "coefficient_by_category": {c.name: float(resp.price_coef[_members(c.name)][0]) for c in CATEGORIES},
            "reference_price_by_node": {n.name: sig(np.exp(np.mean(np.log(inp.mrp[:, j] * (1 - inp.discount[:, j])))))
                                        for j, n in enumerate(NODES)},
        },
        "categories_detail": {
            c.name: {
                "scale_inr_per_day": sig(resp.category_scale[k]),
                "base_level": sig(resp.components["base"][0, _members(c.name)][0]),
                "trend_per_year": c.trend_per_year,
                "seasonality_fourier_sin_cos": [[sig(a), sig(b)] for a, b in resp.season_coefs[k]],
                "special_sale_effect": c.sale_effect,
                "nps_effect": {"coefficient": c.nps_effect, "form": "coefficient * tanh((NPS - 50) / 8)"},
                "media_beta_level_units": {ch: sig(resp.beta[k, i]) for i, ch in enumerate(channels)},
            }
            for k, c in enumerate(CATEGORIES)
        },
        "node_scale_inr_per_day": {n.name: sig(resp.scale[j]) for j, n in enumerate(NODES)},
        "noise": {"form": "multiplicative (1 + eps)", "common_sd": NOISE_COMMON_SD, "node_sd": NOISE_NODE_SD},
        "contributions": {
            "per_period_file": CONTRIBUTIONS_FILE,
            "note": "per day, summed over nodes; base + trend + seasonality + special_sale + nps + price + "
                    "channels = gmv_noiseless",
            "by_month": [{"month": m, **{c: int(row[c]) for c in channels}} for m, row in by_month.iterrows()],
        },
    }


def _members(category: str) -> np.ndarray:
    return np.array([n.category == category for n in NODES])


def _dataset_yaml(name: str) -> dict[str, Any]:
    """The shipped retail_daily dataset YAML with file paths relative to the output folder."""
    shipped = DATASET_DIR / "retail_daily.yaml"
    if not shipped.is_file():  # an installed package without configs/: no YAML to offer
        return {}
    raw = yaml.safe_load(shipped.read_text())
    raw["name"] = name
    for key, filename in {"main": "sales_daily.csv", "media": "media_investment.csv", "nps": "monthly_nps.csv",
                          "special_sale": "special_sale.csv", "experiments": "experiments.csv"}.items():
        raw["sources"][key]["path"] = filename
    raw["truth_file"] = "truth.json"
    raw["licence"] = "LICENSE"
    return raw
