"""Resolving settings.optimizer into bounds, locks, masks and linear constraints."""

import numpy as np
import pytest

from mmm_pipeline.core.plan.constraints import PlanConstraintError, block_lengths, build_constraints, feasible_point

CH = ["tv", "search", "radio"]
CUR = np.array([100.0, 50.0, 10.0])


def _build(opt, total=None, profit=False, **kw):
    return build_constraints(opt, CH, CUR, horizon=10, n_blocks=2, total_budget=total or CUR.sum() * 10,
                             maximise_profit=profit, **kw)


def test_percentage_bounds_follow_the_budget_and_locks_do_not():
    cons = _build({"bounds_pct": 0.3, "locked": ["radio"]}, total=CUR.sum() * 10 * 0.5)
    np.testing.assert_allclose(cons.lower[0], [35.0, 17.5, 10.0])
    np.testing.assert_allclose(cons.upper[0], [65.0, 32.5, 10.0])
    assert cons.fixed[:, 2].all() and not cons.fixed[:, :2].any()


def test_absolute_and_relative_overrides_and_masks():
    mask = np.array([[True, True, True], [True, False, True]])
    cons = _build({"bounds_pct": 0.3, "bounds": {"tv": {"lower": 0.0, "upper": 500.0}, "search": {"upper_pct": 1.0}},
                   "exclude": ["radio"]}, mask=mask)
    assert cons.lower[0, 0] == 0.0 and cons.upper[0, 0] == 500.0
    assert cons.upper[0, 1] == pytest.approx(100.0)
    assert cons.upper[1, 1] == 0.0  # masked
    assert (cons.upper[:, 2] == 0.0).all()  # off


def test_total_is_an_equality_for_revenue_and_a_ceiling_for_profit():
    rev = _build({})
    assert rev.min_total == rev.total_budget
    prof = _build({}, profit=True)
    assert prof.min_total == 0.0
    floor = _build({"min_total": 800.0}, profit=True)
    assert floor.min_total == 800.0
    with pytest.raises(PlanConstraintError, match="min_total"):
        _build({"min_total": 1e9})


def test_violations_name_each_broken_constraint():
    cons = _build({"bounds_pct": 0.3, "linear_constraints": [{"name": "tv over search", "coefficients": {"tv": 1, "search": -4}, "lower": 0}]})
    x = np.array([[200.0, 50.0, 10.0], [100.0, 50.0, 10.0]])
    problems = cons.violations(x)
    assert any("tv block 0" in p and "above upper" in p for p in problems)
    assert any("exceeds the budget" in p for p in problems)
    assert any("tv over search" in p for p in problems)
    at_current = cons.violations(np.tile(CUR, (2, 1)))
    assert len(at_current) == 1 and "tv over search" in at_current[0]


def test_feasible_point_projects_and_reports_clashes():
    cons = _build({"bounds_pct": 0.3, "linear_constraints": [{"coefficients": {"search": 1, "radio": -1}, "upper": 300.0}]})
    x = feasible_point(cons, np.tile(CUR, (2, 1)), np.tile(CUR, (2, 1)))
    assert cons.violations(x) == []
    bad = _build({"bounds_pct": 0.1, "locked": ["tv"]}, total=CUR.sum() * 10 * 2)
    with pytest.raises(PlanConstraintError, match="no spend plan satisfies"):
        feasible_point(bad, np.tile(CUR, (2, 1)), np.tile(CUR, (2, 1)))


def test_a_budget_pinned_by_locks_and_a_dark_channel_is_feasible_at_money_scale():
    """Every channel locked or dark: the plan is the current mix, even when sums round differently."""
    current = np.array([0.0, 3.1e6 / 7, 1.7e7 / 3, 2.9e6 / 11])
    cons = build_constraints({"bounds_pct": 0.3, "locked": ["search", "radio", "social"]}, ["tv", "search", "radio", "social"],
                             current, horizon=90, n_blocks=1, total_budget=float(current.sum()) * 90 * (1 + 2e-15),
                             maximise_profit=False)
    x = feasible_point(cons, current[None, :], np.maximum(current, 1.0)[None, :])
    np.testing.assert_allclose(x[0], current, rtol=1e-9)
    assert cons.fixed.all()


def test_bad_settings_are_named():
    with pytest.raises(PlanConstraintError, match="bounds.tv: unknown keys"):
        _build({"bounds": {"tv": {"min": 1}}})
    with pytest.raises(PlanConstraintError, match=r"linear_constraints\[0\]"):
        _build({"linear_constraints": [{"coefficients": {"tv": 1}}]})
    with pytest.raises(PlanConstraintError, match="unknown channels"):
        _build({"exclude": ["cinema"]})
    with pytest.raises(PlanConstraintError, match="plan_blocks"):
        block_lengths(5, 6)
    assert block_lengths(10, 3).tolist() == [4, 3, 3]
