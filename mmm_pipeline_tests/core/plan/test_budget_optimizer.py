"""The budget optimizer against known response functions: constraints, optimality, honesty."""

import numpy as np
import pytest
import torch

from mmm_pipeline.core.plan.constraints import PlanConstraintError
from mmm_pipeline.core.plan.evaluate import PlanEvaluator
from mmm_pipeline.core.plan.optimizer import BudgetProblem, optimize_budget
from mmm_pipeline.core.plan.true_response import HillMediaResponse

torch.set_num_threads(1)


def _settings(**opt):
    base = {"bounds_pct": 0.5, "quantile": 0.2, "min_probability": 0.8, "sensitivity": [0.0]}
    base.update(opt)
    return {"optimizer": base}


def test_respects_every_bound_lock_mask_linear_constraint_and_total(media_data, replicate_model):
    settings = _settings(
        bounds_pct=0.4,
        locked=["radio"],
        bounds={"tv": {"upper_pct": 0.05}},
        linear_constraints=[{"coefficients": {"search": 1, "social": -2}, "lower": 0.0}],
        plan_blocks=3,
    )
    mask = np.ones((3, 4), dtype=bool)
    mask[2, 3] = False  # social dark in the last block
    plan = optimize_budget(replicate_model, media_data, settings, mask=mask, sensitivity=False)
    problem = BudgetProblem(replicate_model, media_data, settings, mask=mask)
    cons = problem.constraints(plan.total_budget)
    assert cons.violations(plan.optimal) == []
    cur = problem.current
    assert np.allclose(plan.optimal[:, 2], cur[2])  # locked radio
    assert plan.optimal[2, 3] == 0.0  # masked
    assert np.all(plan.optimal[:, 0] <= cur[0] * 1.05 + 1e-9)
    totals = plan.optimal_totals
    assert totals[1] - 2 * totals[3] >= -1e-6 * plan.total_budget
    assert totals.sum() == pytest.approx(plan.total_budget, rel=1e-7)
    assert plan.per_period().shape == (problem.horizon, 4)
    assert len(plan.plan_rows()) == problem.horizon


def test_point_optimum_matches_grid_search_and_equalises_marginal_returns(data_factory, model_factory):
    channels = ["tv", "search"]
    data = data_factory(channels=channels)
    model = model_factory(channels=channels)
    settings = _settings(bounds_pct=1.0, objective="mean")
    plan = optimize_budget(model, data, settings, sensitivity=False)
    evaluator = PlanEvaluator(model, data, np.array([plan.horizon]))
    per_period = plan.total_budget / plan.horizon
    shares = np.linspace(0.0, 1.0, 2001)
    lo = np.maximum(plan.current * 0.0, 0.0)
    hi = plan.current * 2.0
    feasible = [(s, np.array([s * per_period, (1 - s) * per_period])) for s in shares]
    feasible = [(s, x) for s, x in feasible if np.all(x >= lo - 1e-9) and np.all(x <= hi + 1e-9)]
    best = max(float(evaluator.revenue_np(x[None, :])[0]) for _, x in feasible)
    assert plan.revenue_optimal.mean >= best - 1e-6 * best
    assert plan.interior_channels == channels
    assert plan.marginal_spread is not None and plan.marginal_spread < 1e-3


def test_flat_plan_beats_pulsed_plan_for_concave_response(media_data, point_model):
    # with every member identical there is no risk term: conservative == mean == point
    plan = optimize_budget(point_model, media_data, _settings(plan_blocks=4, bounds_pct=0.9), sensitivity=False)
    problem = BudgetProblem(point_model, media_data, _settings(plan_blocks=4, bounds_pct=0.9))
    flat = problem.evaluator.flat(plan.optimal_totals / plan.horizon)
    # the optimum over 4 blocks is at least as good as its own flat average (and close to it)
    ev = problem.evaluator
    assert ev.revenue_np(plan.optimal)[0] >= ev.revenue_np(flat)[0] - 1e-6 * ev.revenue_np(flat)[0]


def test_recommends_when_replicates_agree(media_data, replicate_model):
    plan = optimize_budget(replicate_model, media_data, _settings(), sensitivity=False)
    assert plan.recommended, plan.reason
    assert plan.probability_beats_current >= 0.8
    assert plan.lift.mean > 0 and plan.lift.lo <= plan.lift.mean <= plan.lift.hi
    assert plan.n_replicates_optimised == 20 and plan.n_replicates_evaluated == 20
    d = plan.to_dict()
    assert d["recommended"] is True
    actions = {ch: v["action"] for ch, v in d["channels"].items()}
    assert set(actions.values()) <= {"increase", "decrease", "maintain"}
    assert "increase" in actions.values() and "decrease" in actions.values()


def test_keeps_current_mix_when_replicates_disagree(media_data):
    channels = media_data.channel_names
    k = 40
    coef = np.tile([900.0, 350.0, 110.0, 260.0], (k, 1))
    # half the replicates say tv is twice as strong, the other half half as strong
    coef[0::4, 0] *= 2.2
    coef[1::4, 0] *= 2.2
    coef[2::4, 0] *= 0.3
    coef[3::4, 0] *= 0.3
    model = HillMediaResponse(
        channels, np.tile([0.5, 0.1, 0.3, 0.2], (k, 1)), np.tile([220.0, 90.0, 60.0, 70.0], (k, 1)),
        np.tile([1.3, 1.0, 1.6, 1.1], (k, 1)), coef, l_max=6,
    )
    plan = optimize_budget(model, media_data, _settings(objective="mean"), sensitivity=False)
    assert not plan.recommended
    assert "keep the current mix" in plan.reason
    assert plan.probability_beats_current < 0.8
    assert all(v["recommended_action"] == "maintain" for v in plan.to_dict()["channels"].values())


def test_keeps_current_mix_when_it_is_already_optimal(data_factory, model_factory):
    channels = ["tv", "search"]
    data = data_factory(channels=channels)
    model = model_factory(channels=channels)
    best = optimize_budget(model, data, _settings(bounds_pct=1.0, objective="mean"), sensitivity=False)
    # rebuild the data so the last horizon spends exactly the optimum
    x = data.X.copy()
    x[-best.horizon:, 0, :] = best.optimal_totals / best.horizon
    data.X = x
    again = optimize_budget(model, data, _settings(bounds_pct=1.0, objective="mean"), sensitivity=False)
    assert not again.recommended
    assert "already close to optimal" in again.reason


def test_profit_objective_stops_spending_where_marginal_profit_is_zero(data_factory, model_factory):
    channels = ["tv", "search"]
    data = data_factory(channels=channels)
    model = model_factory(channels=channels)
    settings = _settings(bounds_pct=1.0, objective="mean", margin=0.25)
    plan = optimize_budget(model, data, settings, sensitivity=False)
    assert plan.optimal_totals.sum() < plan.total_budget * (1 - 1e-3)
    for ch in plan.interior_channels:
        assert abs(plan.marginal_returns[ch]) < 1e-3


def test_not_identified_channels_are_held_at_current_spend(media_data, replicate_model):
    plan = optimize_budget(replicate_model, media_data, _settings(), not_identified=["social"], sensitivity=False)
    cur = BudgetProblem(replicate_model, media_data, _settings()).current
    assert np.allclose(plan.optimal[:, 3], cur[3])
    assert "social" in plan.locked
    assert any("do not identify" in n for n in plan.notes)


def test_nothing_free_to_move_keeps_the_current_mix_and_says_why(media_data, replicate_model):
    data = media_data.slice_time(np.ones(len(media_data.dates), dtype=bool))
    data.X = data.X.copy()
    data.X[-20:, 0, 0] = 0.0  # tv went dark recently: +/-30% of nothing is nothing
    plan = optimize_budget(replicate_model, data, _settings(bounds_pct=0.3), not_identified=["search", "radio", "social"],
                           sensitivity=False)
    assert not plan.recommended
    assert plan.reason.startswith("keep the current mix: no channel is free to move")
    assert "bounds relative to zero spend are zero: tv" in plan.reason
    assert "held at current spend: search, radio and social" in plan.reason
    assert plan.to_dict()["movable_channels"] == []
    np.testing.assert_allclose(plan.optimal, plan.current[None, :] * np.ones_like(plan.optimal), rtol=1e-9)


def test_infeasible_constraints_say_which(media_data, point_model):
    settings = _settings(locked=["tv", "search"], min_total=None)
    problem = BudgetProblem(point_model, media_data, settings)
    with pytest.raises(PlanConstraintError, match="locked at current spend"):
        problem.solve(problem.current_total * 0.3)


def test_bad_settings_are_rejected_by_name(media_data, point_model):
    with pytest.raises(PlanConstraintError, match="unknown channels"):
        optimize_budget(point_model, media_data, _settings(locked=["cinema"]), sensitivity=False)
    with pytest.raises(ValueError, match="objective"):
        optimize_budget(point_model, media_data, _settings(objective="max"), sensitivity=False)


def test_budget_sensitivity_is_monotone_with_falling_roi(media_data, replicate_model):
    plan = optimize_budget(replicate_model, media_data, _settings(sensitivity=[-0.5, -0.25, 0.0, 0.25, 0.5]))
    rows = plan.sensitivity
    assert [r["budget_change"] for r in rows] == [-0.5, -0.25, 0.0, 0.25, 0.5]
    assert all(r["feasible"] for r in rows)
    revenue = [r["revenue"]["mean"] for r in rows]
    assert all(r["revenue"]["lo"] <= r["revenue"]["mean"] <= r["revenue"]["hi"] for r in rows)
    roi = [r["roi"] for r in rows]
    assert all(np.diff(revenue) > 0)
    assert all(np.diff(roi) < 0)
    # each re-optimised level is at least as good as the current mix at that budget
    assert all(r["revenue"]["mean"] >= r["revenue_current_mix"] * (1 - 1e-9) for r in rows)


def test_point_objective_optimises_the_point_model_and_is_judged_by_replicates(media_data, model_factory, point_model):
    # replicates far from the point model (log-sd 0.5) disagree about its plan: the probability
    # must be the share of the judging replicates whose revenue the plan raises
    replicates = model_factory(n_models=40, spread=0.5, seed=1)
    plan = optimize_budget(replicates, media_data, _settings(objective="point"), point_model=point_model,
                           sensitivity=False)
    direct = optimize_budget(point_model, media_data, _settings(objective="mean"), sensitivity=False)
    np.testing.assert_allclose(plan.optimal, direct.optimal, rtol=1e-4)
    assert plan.n_replicates_evaluated == 20  # the probability still comes from the bootstrap replicates
    evaluator = PlanEvaluator(replicates, media_data, plan.block_lengths)
    lift = evaluator.revenue_np(plan.optimal) - evaluator.revenue_np(evaluator.flat(plan.current))
    judged = lift[1::2]  # the replicates that did not choose the plan judge it
    assert 0 < np.mean(judged > 0) < 1, "every replicate agrees: the test could not tell a share from 0 or 1"
    assert plan.probability_beats_current == pytest.approx(np.mean(judged > 0))
