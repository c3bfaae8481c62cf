"""Evidence-scaled trust region: strong evidence lets the plan reach an optimum outside the box.

The design: four channels with known Hill curves (conftest), where the true optimum cuts radio
to zero - far outside the +/-30% box. Replicate models scatter around the truth with a chosen
spread, and the ROAS intervals handed to the optimizer are computed from those replicates, so
the evidence is exactly as precise as the replicates say.
"""

import math

import numpy as np
import pytest
import torch

from mmm_pipeline.core.infer.intervals import interval
from mmm_pipeline.core.plan.evaluate import PlanEvaluator
from mmm_pipeline.core.plan.optimizer import BudgetProblem, optimize_budget
from mmm_pipeline.core.plan.trust_region import (
    TrustRegionError,
    allowed_move,
    evidence_half_width,
    relative_half_width,
    trust_region,
)

torch.set_num_threads(1)

BOX = 0.3
SETTINGS = {"optimizer": {"bounds_pct": BOX, "quantile": 0.2, "min_probability": 0.8, "sensitivity": [0.0]}}


def _with(**opt):
    return {"optimizer": {**SETTINGS["optimizer"], **opt}}


def _evidence(model, data):
    """channels.json-like entries: each channel's ROAS and mROAS intervals across the model's members."""
    roas, mroas = model.returns(data.spend)
    return {ch: {"roas": interval(roas[:, c]).to_dict(), "mroas": interval(mroas[:, c]).to_dict(), "identified": True}
            for c, ch in enumerate(data.channel_names)}


def _true_revenue(truth, data, plan, *, current: bool = False) -> float:
    """True media revenue of what we would do (the plan if recommended), or of the current mix."""
    ev = PlanEvaluator(truth, data, plan.block_lengths)
    chosen = plan.optimal if plan.recommended and not current else ev.flat(plan.current)
    return float(ev.revenue_np(chosen)[0])


@pytest.fixture
def truth_and_optimum(media_data, point_model):
    """The true model and its revenue-maximising plan with every channel free from 0 to 2x current."""
    best = optimize_budget(point_model, media_data, _with(bounds_pct=1.0), objective="mean", sensitivity=False)
    radio = media_data.channel_names.index("radio")
    assert best.optimal_totals[radio] < 0.05 * best.current_totals[radio]  # the design: radio's optimum is ~0
    return point_model, float(PlanEvaluator(point_model, media_data, best.block_lengths).revenue_np(best.optimal)[0])


def test_allowed_move_grows_as_the_roas_interval_shrinks_and_is_the_box_for_weak_evidence():
    assert allowed_move(0.30, BOX, 0.30) == pytest.approx(BOX)
    assert allowed_move(0.60, BOX, 0.30) == pytest.approx(BOX)  # weaker than the reference: the box, no less
    assert allowed_move(0.15, BOX, 0.30) == pytest.approx(2 * BOX)
    assert allowed_move(0.05, BOX, 0.30) == pytest.approx(6 * BOX)
    assert allowed_move(math.nan, BOX, 0.30) == BOX
    assert relative_half_width({"mean": 2.0, "lo": 1.8, "hi": 2.2}) == pytest.approx(0.1)
    assert math.isnan(relative_half_width({"mean": 2.0, "lo": None, "hi": 2.2}))
    assert math.isnan(relative_half_width(None))
    pinned_average = {"roas": {"mean": 2.0, "lo": 1.8, "hi": 2.2}, "mroas": {"mean": 1.0, "lo": 0.6, "hi": 1.4}}
    assert evidence_half_width(pinned_average) == pytest.approx(0.4)  # the marginal return is what moves money
    assert evidence_half_width({"roas": pinned_average["roas"]}) == pytest.approx(0.1)


def test_trust_region_caps_cuts_at_zero_and_increases_at_the_max_multiple():
    evidence = {
        "tv": {"roas": {"mean": 2.0, "lo": 1.9, "hi": 2.1}, "identified": True},  # +/-5%: move 1.8
        "search": {"roas": {"mean": 2.0, "lo": 1.7, "hi": 2.3}, "identified": True},  # +/-15%: move 0.6
        "radio": {"roas": {"mean": 2.0, "lo": 1.0, "hi": 3.0}, "identified": True},  # +/-50%: the box
        "social": {"roas": {"mean": 2.0, "lo": 1.9, "hi": 2.1}, "identified": False},  # tight, not identified
    }
    region = trust_region({"bounds_pct": BOX, "trust_region": {"max_multiple": 2.5}}, list(evidence), evidence)
    np.testing.assert_allclose(region.down, [1.0, 0.6, BOX, BOX])
    np.testing.assert_allclose(region.up, [1.5, 0.6, BOX, BOX])
    assert region.widened() == ["tv", "search"]
    assert "tv between 0 and +150% (returns known to +/-5%) and search between -60% and +60%" in region.note()
    off = trust_region({"bounds_pct": BOX, "trust_region": {"enabled": False}}, list(evidence), evidence)
    assert off.widened() == []
    np.testing.assert_allclose(np.concatenate([off.down, off.up]), BOX)


def test_precise_evidence_plan_nears_the_true_optimum_the_box_cannot_reach(media_data, model_factory, truth_and_optimum):
    truth, optimum = truth_and_optimum
    replicates = model_factory(n_models=40, spread=0.02, seed=1)  # returns known to about +/-5%
    evidence = _evidence(replicates, media_data)
    box = optimize_budget(replicates, media_data, SETTINGS, sensitivity=False)
    wide = optimize_budget(replicates, media_data, SETTINGS, evidence=evidence, sensitivity=False)
    current = _true_revenue(truth, media_data, box, current=True)
    regret_box = (optimum - _true_revenue(truth, media_data, box)) / optimum
    regret_wide = (optimum - _true_revenue(truth, media_data, wide)) / optimum
    assert regret_box > 0.005  # the box leaves money on the table
    assert regret_wide < 0.25 * regret_box, (regret_wide, regret_box)
    assert _true_revenue(truth, media_data, wide) > current  # never worse than the current mix
    # still risk-aware and judged on replicates it was not chosen on
    assert wide.recommended and wide.probability_beats_current >= 0.8 and wide.lift.mean > 0
    radio = media_data.channel_names.index("radio")
    assert wide.optimal_totals[radio] < (1 - BOX) * wide.current_totals[radio]
    assert wide.to_dict()["channels"]["radio"]["lower_per_period"] == 0.0
    assert any("radio between 0 and" in note for note in wide.notes)


def test_weak_evidence_keeps_the_box_and_the_same_plan(media_data, model_factory):
    replicates = model_factory(n_models=40, spread=0.2, seed=1)  # returns known to about +/-40%
    evidence = _evidence(replicates, media_data)
    assert all(evidence_half_width(e) > 0.3 for e in evidence.values())
    problem = BudgetProblem(replicates, media_data, SETTINGS, evidence=evidence)
    cons = problem.constraints(problem.current_total)
    np.testing.assert_allclose(cons.lower, problem.current[None, :] * (1 - BOX), rtol=1e-12)
    np.testing.assert_allclose(cons.upper, problem.current[None, :] * (1 + BOX), rtol=1e-12)
    with_evidence = optimize_budget(replicates, media_data, SETTINGS, evidence=evidence, sensitivity=False)
    without = optimize_budget(replicates, media_data, SETTINGS, sensitivity=False)
    np.testing.assert_allclose(with_evidence.optimal, without.optimal, rtol=1e-12)
    assert with_evidence.reason == without.reason and with_evidence.notes == without.notes


def test_user_bounds_locks_and_exclusions_win_over_strong_evidence(media_data, model_factory):
    replicates = model_factory(n_models=40, spread=0.02, seed=1)
    evidence = _evidence(replicates, media_data)
    settings = _with(bounds={"tv": {"upper_pct": 0.1}}, locked=["search"], exclude=["social"])
    problem = BudgetProblem(replicates, media_data, settings, evidence=evidence)
    cons = problem.constraints(problem.current_total)
    cur = problem.current
    tv, search, radio, social = range(4)
    assert cons.upper[0, tv] == pytest.approx(cur[tv] * 1.1)
    assert cons.lower[0, tv] == 0.0  # the user set only the upper side; the evidence still sets the lower
    assert cons.lower[0, search] == cons.upper[0, search] == pytest.approx(cur[search])
    assert cons.lower[0, social] == cons.upper[0, social] == 0.0
    assert cons.lower[0, radio] == 0.0 and cons.upper[0, radio] > cur[radio] * (1 + BOX)


def test_not_identified_channels_are_held_whatever_their_interval(media_data, model_factory):
    replicates = model_factory(n_models=40, spread=0.02, seed=1)
    evidence = _evidence(replicates, media_data)
    evidence["radio"]["identified"] = False
    plan = optimize_budget(replicates, media_data, SETTINGS, evidence=evidence, not_identified=["radio"],
                           sensitivity=False)
    radio = media_data.channel_names.index("radio")
    np.testing.assert_allclose(plan.optimal[:, radio], plan.current[radio])
    assert "held at current spend because the data do not identify their returns: radio" in plan.notes


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"reference_half_width": 0.0}, "reference_half_width must be > 0"),
        ({"max_multiple": 0.5}, "max_multiple must be >= 1"),
        ({"reference": 0.3}, "unknown keys reference; use enabled, max_multiple or reference_half_width"),
    ],
)
def test_bad_trust_region_settings_are_rejected_by_name(media_data, point_model, spec, message):
    with pytest.raises(TrustRegionError, match=message):
        optimize_budget(point_model, media_data, _with(trust_region=spec), sensitivity=False)
