"""A channel whose estimate swings across walk-forward folds must not be presented as known."""

from mmm_pipeline.core.infer.returns import fold_instability

SETTINGS = {"gate": {"max_elasticity_cv": 0.30}}


def test_channel_unstable_across_folds_is_not_identified_with_its_cv():
    reason = fold_instability("Digital", {"roas:Digital": 0.41, "Digital": 0.2}, SETTINGS)
    assert "ROAS" in reason and "0.41" in reason and "0.30" in reason


def test_stable_channel_or_no_walk_forward_keeps_its_identification():
    assert fold_instability("TV", {"roas:TV": 0.12, "TV": 0.2}, SETTINGS) == ""
    assert fold_instability("TV", None, SETTINGS) == ""
    assert fold_instability("TV", {"price": 3.0}, SETTINGS) == ""


def test_uncomputable_fold_cv_counts_as_unstable():
    assert "elasticity" in fold_instability("Radio", {"Radio": float("nan")}, SETTINGS)


def test_a_cv_just_over_the_limit_is_printed_so_the_reader_sees_it_is_over():
    assert "(CV 0.301 > 0.300)" in fold_instability("Sponsorship", {"roas:Sponsorship": 0.3012}, SETTINGS)
