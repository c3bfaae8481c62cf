"""Optimization group: the risk-aware budget plan (with response curves) and named scenarios."""

from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandas as pd

from mmm_pipeline.core.infer.bootstrap import BootstrapFit, point_model
from mmm_pipeline.core.plan.optimizer import optimize_budget
from mmm_pipeline.core.plan.price_scenarios import price_scenarios
from mmm_pipeline.core.plan.scenarios import run_scenarios
from mmm_pipeline.core.plan.sensitivity import response_curves
from mmm_pipeline.defs.inference.assets import ChannelReturns, Elasticities
from mmm_pipeline.defs.metadata import json_value, readable, table
from mmm_pipeline.defs.runtime import limit_threads
from mmm_pipeline.defs.training.assets import TrainedModel


class PlanConfig(dg.Config):
    """Run-time overrides for one planning question (None keeps ``settings.optimizer``)."""

    total_budget: float | None = None  # money over the horizon; default: current run-rate x horizon
    horizon_periods: int | None = None
    objective: str | None = None  # conservative | mean | point


@dataclass
class BudgetPlanOutcome:
    allocation: dict[str, Any]  # optimal_allocation.json
    response_curves: dict[str, Any]  # response_curves.json


@dg.asset(group_name="optimization", kinds={"scipy"},
          description="Media plan maximising a low quantile of lift across bootstrap replicates, recommended only "
          "when replicates it was not optimised on back it; response curves with the plan marked.")
def budget_plan(context: dg.AssetExecutionContext, config: PlanConfig, nam_model: TrainedModel, bootstrap_ensemble: BootstrapFit, channel_returns: ChannelReturns):
    settings = nam_model.settings
    limit_threads(settings)
    plan = optimize_budget(bootstrap_ensemble.fitted, bootstrap_ensemble.data, settings, total_budget=config.total_budget,
                           horizon=config.horizon_periods, objective=config.objective, point_model=point_model(bootstrap_ensemble, nam_model.fitted),
                           not_identified=channel_returns.not_identified, evidence=channel_returns.channels)
    optimal = plan.optimal_totals / plan.horizon
    saturation = {ch: entry.get("saturation_spend") for ch, entry in channel_returns.channels.items()}
    curves = response_curves(bootstrap_ensemble.fitted, bootstrap_ensemble.data, settings, channel_returns.current_spend,
                             optimal=optimal, saturation=saturation)
    allocation = plan.to_dict()
    (context.log.info if plan.recommended else context.log.warning)("budget plan: %s", plan.reason)
    actions = pd.DataFrame([{"channel": ch, **row} for ch, row in allocation["channels"].items()])
    return dg.MaterializeResult(value=BudgetPlanOutcome(allocation, curves), metadata={
        "recommended": bool(plan.recommended),
        "reason": plan.reason,
        "probability_beats_current": readable(plan.probability_beats_current),
        "total_budget": readable(plan.total_budget),
        "horizon_periods": plan.horizon,
        "lift": json_value(allocation["lift"]),
        "channels": table(actions),
        "sensitivity": table(pd.DataFrame(allocation["sensitivity"])) if allocation["sensitivity"] else "none",
    })


@dg.asset(group_name="optimization",
          description="What-if scenarios (configured and built-in, and a list-price change per category from the "
          "demand fit): predicted revenue and lift with bootstrap intervals against what actually ran.")
def scenario_outcomes(context: dg.AssetExecutionContext, nam_model: TrainedModel, bootstrap_ensemble: BootstrapFit,
                      elasticities: Elasticities):
    limit_threads(nam_model.settings)
    scenarios = run_scenarios(bootstrap_ensemble.fitted, bootstrap_ensemble.data, nam_model.settings)
    if elasticities.demand is not None:
        scenarios += price_scenarios(elasticities.demand, nam_model.settings)
    rows = [{"name": s["name"], "description": s["description"], "lift_pct": s["lift_pct"]["mean"],
             "lift_pct_lo": s["lift_pct"]["lo"], "lift_pct_hi": s["lift_pct"]["hi"]} for s in scenarios]
    return dg.MaterializeResult(value=scenarios, metadata={
        "scenarios": table(pd.DataFrame(rows)) if rows else "none configured",
        "count": len(scenarios),
    })
