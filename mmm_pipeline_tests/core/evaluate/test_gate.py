"""The deployment gate: each threshold, its margin and its message."""

import json

import pandas as pd
import pytest

from mmm_pipeline.core.evaluate.gate import evaluate_gate
from mmm_pipeline.core.train.walk_forward import WalkForwardSummary

GATE = {"gate": {"min_oos_r2": 0.75, "max_fold_r2_std": 0.10, "max_fold_r2_range": 0.25,
                 "max_elasticity_cv": 0.30, "max_constraint_violations": 0.0}}


def summary(r2=0.85, std=0.05, rng=0.15, stability=None, kinds=None) -> WalkForwardSummary:
    stability = {"tv": 0.1, "price": 0.2, "trend": 5.0, "roas:tv": 0.9} if stability is None else stability
    kinds = {"tv": "media", "price": "decreasing", "trend": "free"} if kinds is None else kinds
    empty = pd.DataFrame()
    return WalkForwardSummary(
        overall={"r2": r2}, overall_total={"r2": r2}, folds=empty,
        fold_r2={"mean": r2, "std": std, "min": r2 - rng / 2, "max": r2 + rng / 2, "range": rng},
        stability=stability, parameters=empty, predictions=empty, by_level=empty, skipped={}, feature_kinds=kinds,
    )


def test_gate_passes_with_positive_margins_and_ignores_ungated_kinds():
    result = evaluate_gate(summary(), {"monotone": 0.0}, GATE)
    assert result.passed, result.message
    margins = {c.name: c.margin for c in result.checks}
    assert margins["min_oos_r2"] == pytest.approx(0.10)
    assert margins["max_fold_r2_std"] == pytest.approx(0.05)
    assert margins["max_elasticity_cv"] == pytest.approx(0.10)  # worst gated is price 0.2; trend (free) ignored
    json.dumps(result.to_dict())


def test_gate_fails_on_r2_with_the_shortfall_in_the_message():
    result = evaluate_gate(summary(r2=0.62), None, GATE)
    assert not result.passed
    (failed,) = result.failures
    assert failed.name == "min_oos_r2"
    assert failed.margin == pytest.approx(-0.13)
    assert "below the minimum 0.75 by 0.13" in result.message


@pytest.mark.parametrize(
    "kwargs,name,margin",
    [
        ({"std": 0.16}, "max_fold_r2_std", -0.06),
        ({"rng": 0.40}, "max_fold_r2_range", -0.15),
        ({"stability": {"tv": 0.45, "price": 0.1}}, "max_elasticity_cv", -0.15),
    ],
)
def test_each_threshold_fails_alone_with_its_margin(kwargs, name, margin):
    result = evaluate_gate(summary(**kwargs), None, GATE)
    assert [c.name for c in result.failures] == [name]
    assert result.failures[0].margin == pytest.approx(margin)
    assert "above the maximum" in result.failures[0].message


def test_hard_constraint_violations_fail_and_are_named():
    result = evaluate_gate(summary(), {"price_monotone": 0.02, "media_monotone": 0.0}, GATE)
    (failed,) = result.failures
    assert failed.name == "max_constraint_violations" and failed.value == pytest.approx(0.02)
    assert "price_monotone" in failed.message


def test_uncomputable_value_fails_and_settings_move_thresholds():
    result = evaluate_gate(summary(std=float("nan")), None, GATE)
    assert [c.name for c in result.failures] == ["max_fold_r2_std"]
    assert "could not be computed" in result.message
    loose = evaluate_gate(summary(r2=0.62), None, {"gate": {**GATE["gate"], "min_oos_r2": 0.6}})
    assert loose.passed


def test_folds_with_unseen_features_can_be_left_out_of_the_spread():
    base = summary()
    folds = pd.DataFrame({"month": ["a", "b", "c", "d"], "status": ["ok"] * 4, "r2": [0.9, 0.92, -0.5, 0.88],
                          "unseen": ["", "", "event_2", ""]})
    import numpy as np
    spread = {"mean": 0.55, "std": float(np.std(folds["r2"], ddof=1)), "min": -0.5, "max": 0.92, "range": 1.42}
    s = WalkForwardSummary(**{**base.__dict__, "folds": folds, "fold_r2": spread})
    strict = evaluate_gate(s, None, GATE)
    assert {c.name for c in strict.failures} == {"max_fold_r2_std", "max_fold_r2_range"}
    lenient = evaluate_gate(s, None, {"gate": {**GATE["gate"], "exclude_unseen_folds": True}})
    assert lenient.passed, lenient.message
    rng = next(c for c in lenient.checks if c.name == "max_fold_r2_range")
    assert rng.value == pytest.approx(0.04) and "excluding folds with unseen features: c" in rng.message



def test_rarely_active_channel_is_exempt_from_elasticity_cv_but_named():
    stability = {"tv": 0.1, "radio": 1.4, "price": 0.2}
    kinds = {"tv": "media", "radio": "media", "price": "decreasing"}
    settings = {"gate": {**GATE["gate"], "min_active_share": 0.5}}
    strict = evaluate_gate(summary(stability=stability, kinds=kinds), None, settings)
    assert not strict.passed and "radio" in strict.message
    exempted = evaluate_gate(summary(stability=stability, kinds=kinds), None, settings, {"radio": 0.2, "tv": 0.9})
    assert exempted.passed, exempted.message
    cv = next(c for c in exempted.checks if c.name == "max_elasticity_cv")
    assert cv.value == pytest.approx(0.2) and "radio 20%" in cv.message
