"""Evidence and assumptions: every lift test and every prior the fit applied is listed in words,
a prior configured with zero weight is listed as not applied, and the report shows them."""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch

from mmm_pipeline.core.config import deep_merge, load_defaults
from mmm_pipeline.core.data.experiments import LiftTests
from mmm_pipeline.core.data.simulator import simulate_weekly
from mmm_pipeline.core.features.simulated import weekly_simulation_model_data
from mmm_pipeline.core.infer.evidence import evidence_summary
from mmm_pipeline.core.report.sections_evidence import evidence
from mmm_pipeline.core.train.trainer import fit_nam

torch.set_num_threads(1)


def test_tests_and_priors_are_listed_with_what_the_model_predicts():
    data = weekly_simulation_model_data(simulate_weekly(2, n_weeks=104))
    tests = LiftTests(("tv", "search"), (None, None), pd.DatetimeIndex(["2022-06-06", "2023-11-06"]),
                      pd.DatetimeIndex(["2022-07-03", "2023-11-26"]), np.array([-2e5, 5e4]), np.array([4e4, 1e4]),
                      np.array([0.0, 1.5]), np.zeros(2), ("tv line 2", "search line 3"))
    data = replace(data, experiments=tests)
    train = np.asarray(data.dates < pd.Timestamp("2023-07-01"))
    settings = deep_merge(load_defaults(), {"training": {"epochs": 30},
                                            "model": {"roas_priors": {"radio": [1.0, 3.0]}}})
    fitted = fit_nam(data, settings, train_mask=train)
    block = evidence_summary(fitted, data, settings, train)
    used, outside = block["experiments"]
    assert used["used"] and np.isfinite(used["predicted_lift"]) and not outside["used"]
    assert block["channels_with_tests"] == ["tv"]
    text = " ".join(block["lines"])
    assert "not used, it lies outside the training window" in text
    assert "configured for radio but not applied" in text and "No ROAS prior was applied" in text
    applied = evidence_summary(fitted, data, deep_merge(settings, {"loss": {"roas_prior": 1.0}}), train)
    assert "Assumption: the ROAS of radio lies between 1 and 3" in " ".join(applied["lines"])

    html = evidence(SimpleNamespace(summary={"evidence": block}))
    assert 'id="evidence"' in html and "outside training window" in html and "tv" in html


def test_without_tests_the_sales_history_is_named_as_the_only_evidence():
    data = weekly_simulation_model_data(simulate_weekly(2, n_weeks=104))
    fitted = fit_nam(data, deep_merge(load_defaults(), {"training": {"epochs": 10}}))
    block = evidence_summary(fitted, data, load_defaults(), np.ones(len(data.dates), bool))
    assert block["experiments"] == [] and block["lines"][0].startswith("No lift test was given")
