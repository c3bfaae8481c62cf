"""``experiment_plan`` (optimization group): the lift tests worth running next.

Thin layer over :func:`mmm_pipeline.core.plan.test_design.design_tests`: for every channel the
data cannot pin down, go-dark and budget tests of a few lengths with their predicted ROAS
interval afterwards and their cost, best value of information per unit of cost first. The
report writes it as ``experiment_plan.json`` and its section "What to test next".
"""

import dagster as dg
import pandas as pd

from mmm_pipeline.core.infer.bootstrap import BootstrapFit, point_model
from mmm_pipeline.core.plan.test_design import design_tests
from mmm_pipeline.defs.inference.assets import ChannelReturns
from mmm_pipeline.defs.metadata import json_value, table
from mmm_pipeline.defs.runtime import limit_threads
from mmm_pipeline.defs.training.assets import TrainedModel

SHOWN = ("channel", "design", "weeks", "cost", "width_now", "width_after", "value_per_cost")


@dg.asset(group_name="optimization",
          description="Lift tests proposed for channels the data cannot pin down (go dark, budget changes, N weeks): "
          "predicted ROAS interval after the test, its cost, ranked by value of information per unit of cost.")
def experiment_plan(context: dg.AssetExecutionContext, nam_model: TrainedModel, bootstrap_ensemble: BootstrapFit,
                    channel_returns: ChannelReturns) -> dg.MaterializeResult:
    limit_threads(nam_model.settings)
    plan = design_tests(point_model(bootstrap_ensemble, nam_model.fitted), bootstrap_ensemble.data,
                        channel_returns.channels, nam_model.settings, nam_model.train_mask, channel_returns.information)
    best = pd.DataFrame(list(plan["best_per_channel"].values()), columns=list(SHOWN))
    context.log.info("experiment plan: %d proposal(s) for %d channel(s)", len(plan["proposals"]),
                     len(plan["channels_considered"]))
    return dg.MaterializeResult(value=plan, metadata={
        "channels_considered": json_value(plan["channels_considered"]),
        "proposals": len(plan["proposals"]),
        "best_per_channel": table(best[list(SHOWN)]) if not best.empty else dg.MetadataValue.text("none needed"),
    })
