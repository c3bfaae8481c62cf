"""Test design: proposals only for channels that need them, precision that grows with the test,
the post-test interval never wider than today's, ranked by value per unit of cost."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from mmm_pipeline.core.config import deep_merge, load_defaults
from mmm_pipeline.core.data.simulator import simulate_weekly
from mmm_pipeline.core.features.simulated import weekly_simulation_model_data
from mmm_pipeline.core.plan.test_design import design_tests
from mmm_pipeline.core.train.trainer import fit_nam

torch.set_num_threads(1)


def test_proposals_for_unidentified_channels_ranked_by_value_per_cost():
    data = weekly_simulation_model_data(simulate_weekly(2, n_weeks=104))
    fitted = fit_nam(data, deep_merge(load_defaults(), {"training": {"epochs": 40}}))
    channels = {ch: {"identified": True, "roas": {"mean": 2.0, "lo": 1.8, "hi": 2.2}} for ch in data.channel_names}
    channels["tv"] = {"identified": False, "roas": {"mean": 1.5, "lo": 0.2, "hi": 4.0}}
    channels["radio"] = {"identified": False, "roas": {"mean": 1.0, "lo": 0.1, "hi": 3.0},
                         "information": {"roas_se": 0.9}}
    plan = design_tests(fitted, data, channels, {"experiment_design": {"channels": ["search"]}},
                        np.ones(len(data.dates), bool))
    proposals = plan["proposals"]
    assert plan["channels_considered"] == ["tv", "radio", "search"]
    assert {p["channel"] for p in proposals} == {"tv", "radio", "search"}
    assert all(p["roas_se_after"] < p["roas_se_now"] and p["width_after"] < p["width_now"] for p in proposals)
    radio = [p for p in proposals if p["channel"] == "radio"]
    assert all(p["roas_se_now"] == 0.9 for p in radio)  # the information's standard error when given
    dark = sorted((p for p in radio if p["multiplier"] == 0.0), key=lambda p: p["weeks"])
    assert [p["weeks"] for p in dark] == [2, 4, 8]
    assert dark[0]["roas_se_test"] > dark[-1]["roas_se_test"]  # a longer test measures more precisely
    assert all(p["spend_change"] < 0 and p["revenue_change"] < 0 for p in dark)
    ratios = [p["value_per_cost"] for p in proposals]
    assert ratios == sorted(ratios, reverse=True)
    assert set(plan["best_per_channel"]) == {"tv", "radio", "search"}


def test_the_report_shows_the_best_test_per_channel(tmp_path):
    from types import SimpleNamespace

    from mmm_pipeline.core.report.sections_evidence import next_tests

    ctx = SimpleNamespace(inputs=SimpleNamespace(results_dir=tmp_path))
    assert "no test plan" in next_tests(ctx)
    best = {"channel": "tv", "design": "go dark", "weeks": 4, "revenue_change": -1.0e6, "cost": 4.0e5,
            "roas_now": 1.5, "width_now": 3.0, "width_after": 0.8, "value_per_cost": 2.0}
    (tmp_path / "experiment_plan.json").write_text(json.dumps({"best_per_channel": {"tv": best}, "method": "m"}))
    html = next_tests(ctx)
    assert 'id="next-tests"' in html and "go dark for 4 weeks" in html and "1.50 ± 0.40" in html


def test_a_channel_dark_today_is_proposed_switched_on_at_its_usual_spend():
    data = weekly_simulation_model_data(simulate_weekly(2, n_weeks=104))
    x = data.X.copy()
    c = data.feature_index("radio")
    x[-10:, :, c] = 0.0  # dark for the last ten weeks
    dark = replace(data, X=x)
    fitted = fit_nam(dark, deep_merge(load_defaults(), {"training": {"epochs": 40}}))
    channels = {"radio": {"identified": False, "roas": {"mean": 1.0, "lo": 0.1, "hi": 3.0}}}
    plan = design_tests(fitted, dark, channels, {}, np.ones(len(dark.dates), bool))
    usual = data.X[:-10, 0, c][data.X[:-10, 0, c] > 0].mean()
    assert {p["design"] for p in plan["proposals"]} == {"switch on at its usual spend"}
    for p in plan["proposals"]:
        assert p["spend_change"] == pytest.approx(usual * p["periods"]) and p["revenue_change"] > 0


def test_with_the_models_information_the_test_is_added_to_the_evidence():
    """The post-test error comes from adding the test's information to the evidence's, not from
    combining two independent numbers: longer tests buy more, and no test makes a channel worse."""
    from mmm_pipeline.core.infer.information import media_information

    data = weekly_simulation_model_data(simulate_weekly(2, design="weak", n_weeks=104))
    settings = deep_merge(load_defaults(), {"training": {"epochs": 200}})
    mask = np.ones(len(data.dates), bool)
    fitted = fit_nam(data, settings)
    media = media_information(fitted, data, mask, settings)
    channels = {ch: {"identified": False, "roas": {"mean": v.roas, "lo": 0.0, "hi": 2 * v.roas},
                     "information": v.to_dict()} for ch, v in media.channels.items()}
    plan = design_tests(fitted, data, channels, settings, mask, media)
    tv = sorted((p for p in plan["proposals"] if p["channel"] == "tv" and p["multiplier"] == 0.0),
                key=lambda p: p["weeks"])
    assert [p["weeks"] for p in tv] == [2, 4, 8]
    assert tv[0]["roas_se_after"] >= tv[-1]["roas_se_after"]
    assert all(p["roas_se_after"] <= p["roas_se_now"] for p in plan["proposals"])
    independent = design_tests(fitted, data, channels, settings, mask)
    same = {(p["channel"], p["design"], p["weeks"]): p["roas_se_after"] for p in independent["proposals"]}
    assert any(p["roas_se_after"] != same[(p["channel"], p["design"], p["weeks"])] for p in plan["proposals"])
