"""Elasticity group: the block-bootstrap ensemble, channel returns with intervals (and the
decomposition they come from), and elasticities.

``bootstrap_ensemble`` waits for ``walk_forward_summary``: when the deployment gate blocks,
the expensive replicates and everything after them are not computed.
"""

from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.features.roles import media_view
from mmm_pipeline.core.infer.bootstrap import BootstrapFit, fit_bootstrap, point_model
from mmm_pipeline.core.infer.coverage import simulated_coverage
from mmm_pipeline.core.infer.demand import demand_prices
from mmm_pipeline.core.infer.decomposition import decomposition_frame, decomposition_sums_to_prediction
from mmm_pipeline.core.infer.information import MediaInformation, channel_information, media_information
from mmm_pipeline.core.infer.price import active_bound_lines, mark_active_bounds, mark_bounds, model_bounds, own_price_feature
from mmm_pipeline.core.infer.returns import channel_results, direct_effects, elasticity_results, not_identified, price_elasticity
from mmm_pipeline.core.plan.horizon import current_spend, horizon_periods
from mmm_pipeline.core.wording import join_names
from mmm_pipeline.defs.metadata import json_value, plain, readable, table
from mmm_pipeline.defs.resources import DatasetResource
from mmm_pipeline.defs.runtime import limit_threads
from mmm_pipeline.defs.training.assets import TrainedModel, WalkForwardOutcome

#: decomposition must reproduce the prediction to this fraction of the largest target value
DECOMPOSITION_RTOL = 1e-6


class BootstrapConfig(dg.Config):
    """Run-time override of ``settings.bootstrap.replicates`` (None keeps the setting)."""

    replicates: int | None = None


@dg.asset(group_name="elasticity", kinds={"pytorch"}, deps=["walk_forward_summary"],
          description="K NAMs fitted at once on moving-block bootstrap weights of the training periods: the "
          "source of every interval downstream.")
def bootstrap_ensemble(context: dg.AssetExecutionContext, config: BootstrapConfig, dataset: DatasetResource,
                       feature_table: ModelData, nam_model: TrainedModel):
    limit_threads(nam_model.settings)
    data = media_view(feature_table)
    for item in (feature_table.meta.get("roles") or {}).values():
        context.log.info("role: %s", item["sentence"])
    if data.meta.get("left_out_mediators"):
        context.log.warning("replicates fitted without the mediators %s: media effects are total effects",
                            join_names(data.meta["left_out_mediators"]))
    fit = fit_bootstrap(data, nam_model.settings, train_mask=nam_model.train_mask, n_replicates=config.replicates)
    # beside the final model, so the Python API and the HTTP service give intervals without refitting
    fit.fitted.save(dataset.registry().model_dir(nam_model.version) / "replicates.pt")
    context.log.info("bootstrap: %d replicates, block length %d, %.1fs", fit.fitted.n_models, fit.block_length,
                     fit.seconds)
    return dg.MaterializeResult(value=fit, metadata={
        "replicates": fit.fitted.n_models,
        "block_length": fit.block_length,
        "scheme": fit.scheme,
        "seed": fit.seed,
        "seconds": round(fit.seconds, 2),
        "level": plain((nam_model.settings.get("bootstrap") or {}).get("level", 0.95)),
    })


@dataclass
class ChannelReturns:
    channels: dict[str, Any]  # channels.json
    current_spend: np.ndarray  # [C] per-period run-rate the optimizer compares against
    horizon: int
    decomposition: pd.DataFrame  # decomposition.csv
    not_identified: list[str]
    information: MediaInformation | None = None  # of the point model the headline numbers come from


def _channel_table(channels: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for ch, entry in channels.items():
        roas = entry["roas"]
        rows.append({"channel": ch, "roas": roas["mean"], "roas_lo": roas["lo"], "roas_hi": roas["hi"],
                     "share": entry["share"]["mean"], "mroas": entry["mroas"]["mean"],
                     "identified": entry["identified"], "reason": entry["reason"]})
    return pd.DataFrame(rows)


@dg.asset(
    group_name="elasticity",
    check_specs=[dg.AssetCheckSpec("decomposition_sums_to_prediction", asset="channel_returns", blocking=True,
                                   description="base + every driver == the ensemble's prediction, period by period")],
    description="Per-channel ROAS, marginal ROAS, contribution and share with bootstrap intervals, identification "
    "verdicts, adstock and saturation; plus the per-period decomposition they add up to.",
)
def channel_returns(context: dg.AssetExecutionContext, feature_table: ModelData, nam_model: TrainedModel,
                    bootstrap_ensemble: BootstrapFit, walk_forward_summary: WalkForwardOutcome):
    settings = nam_model.settings
    limit_threads(settings)
    fitted, data, mask = bootstrap_ensemble.fitted, bootstrap_ensemble.data, nam_model.train_mask
    horizon = horizon_periods(settings, data.frequency)
    current = current_spend(data, horizon)
    left_out = list(data.meta.get("left_out_mediators") or [])
    media_info = media_information(point_model(bootstrap_ensemble, nam_model.fitted), data, mask, settings)
    channels = channel_results(fitted, data, settings, current, train_mask=mask,
                               fold_stability=walk_forward_summary.summary.stability, information=media_info.channels)
    if left_out:
        direct = direct_effects(nam_model.fitted, feature_table,
                                channel_information(nam_model.fitted, feature_table, mask, settings),
                                float(settings["bootstrap"]["level"]), left_out)
        for ch, entry in channels.items():
            entry["direct_effect"] = direct[ch]
    decomposition = decomposition_frame(fitted, data)
    error = decomposition_sums_to_prediction(fitted, data, decomposition)
    tolerance = DECOMPOSITION_RTOL * max(1.0, float(np.abs(feature_table.y).max()))
    unidentified = not_identified(channels)
    if unidentified:
        context.log.warning("not identified: %s", ", ".join(unidentified))
    check = dg.AssetCheckResult(
        check_name="decomposition_sums_to_prediction", passed=bool(error <= tolerance),
        description=f"max |base + drivers - prediction| = {error:.3g} (tolerance {tolerance:.3g})",
        metadata={"max_abs_error": readable(error), "tolerance": readable(tolerance)},
    )
    value = ChannelReturns(channels, current, horizon, decomposition, unidentified, media_info)
    return dg.MaterializeResult(value=value, check_results=[check], metadata={
        "channels": table(_channel_table(channels)),
        "not_identified": json_value(unidentified),
        "horizon_periods": horizon,
        "current_spend_per_period": json_value(dict(zip(data.channel_names, current))),
        "decomposition_rows": len(decomposition),
    })


@dataclass
class Elasticities:
    by_feature: dict[str, Any]  # elasticities.json
    price: dict[str, Any]  # summary.price_elasticity (revenue)
    price_units: dict[str, Any] = field(default_factory=dict)  # summary.price_elasticity_units (demand fit)
    price_source: str = "revenue model"  # where the price elasticities come from, and why
    demand: Any = None  # the DemandFit behind them (price scenarios), None without one


@dg.asset(group_name="elasticity",
          description="d log y / d log x per feature and node with bootstrap intervals; own-price elasticity of "
          "units (a demand fit on log units) and revenue (price identity) per node and category.")
def elasticities(context: dg.AssetExecutionContext, feature_table: ModelData, nam_model: TrainedModel,
                 bootstrap_ensemble: BootstrapFit, modeling_table: pd.DataFrame):
    settings = nam_model.settings
    limit_threads(settings)
    fitted = bootstrap_ensemble.fitted
    bounds = model_bounds(fitted)
    by_feature = mark_active_bounds(elasticity_results(fitted, bootstrap_ensemble.data, settings), bounds)
    demand = demand_prices(feature_table, modeling_table, settings, train_mask=nam_model.train_mask,
                           n_replicates=fitted.n_models)
    if demand.fit is not None:
        price, units = demand.results["revenue"], demand.results["units"]
        source = "demand fit on log(units); revenue by price identity"
        if demand.results["violation_rate"] > 0:
            context.log.warning("the demand curve rises with price at %.1f%% of its checks",
                                100 * demand.results["violation_rate"])
    else:
        units, source = {}, f"revenue model ({demand.reason})"
        price = mark_bounds(price_elasticity(fitted, bootstrap_ensemble.data, settings),
                            bounds.get(own_price_feature(feature_table)))
    context.log.info("price elasticities from the %s", source)
    for line in active_bound_lines({**by_feature, "own price (units)": units}):
        context.log.warning("elasticity bound active: %s", line)
    rows = [{"feature": f, "node": n, **iv} for f, nodes in by_feature.items() for n, iv in nodes.items()]
    return dg.MaterializeResult(value=Elasticities(by_feature, price, units, source, demand.fit), metadata={
        "elasticities": table(pd.DataFrame(rows)),
        "price_elasticity": json_value(price),
        "price_elasticity_units": json_value(units),
        "price_source": dg.MetadataValue.text(source),
        "features": len(by_feature),
    })


@dg.asset(group_name="elasticity", kinds={"pytorch"},
          description="Optional (settings.coverage_check.enabled): how often the reported ROAS intervals cover the "
          "truth on this dataset, measured by simulating sales from the fitted model with the dataset's own spend "
          "and refitting; the report names the intervals with the measured coverage.")
def interval_coverage(context: dg.AssetExecutionContext, nam_model: TrainedModel, bootstrap_ensemble: BootstrapFit):
    settings = nam_model.settings
    opts = settings["coverage_check"]
    if not opts["enabled"]:
        reason = ("not measured: the simulation check is off (settings.coverage_check.enabled); "
                  "benchmarks/coverage.py measures it")
        context.log.info("interval coverage %s", reason)
        return dg.MaterializeResult(value={"enabled": False, "reason": reason}, metadata={"enabled": False})
    limit_threads(settings)
    result = simulated_coverage(point_model(bootstrap_ensemble, nam_model.fitted), bootstrap_ensemble.data, settings,
                                nam_model.train_mask, int(opts["simulations"]), int(opts["replicates"]),
                                int(opts["seed"]))
    context.log.info("interval coverage: %s", result.label())
    return dg.MaterializeResult(value=result.to_dict(), metadata={
        "enabled": True,
        "coverage": readable(result.coverage),
        "by_channel": json_value({k: readable(v) for k, v in result.by_channel.items()}),
        "simulations": result.simulations,
        "seconds": readable(result.seconds),
    })
