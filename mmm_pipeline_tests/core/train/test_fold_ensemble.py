"""The walk-forward ensemble: which fold models vote, and what it predicts."""

import numpy as np
import pandas as pd
import pytest

from mmm_pipeline.core.config import deep_merge, load_defaults
from mmm_pipeline.core.model.synthetic import synthetic_model_data
from mmm_pipeline.core.train import walk_forward as wf
from mmm_pipeline.core.train.fold_ensemble import build_fold_ensemble, ensemble_frame, ensemble_settings

FAST = deep_merge(load_defaults(), {"training": {"epochs": 25, "threads": 1}, "walk_forward": {"initial_months": 10}})


@pytest.fixture(scope="module")
def folds():
    data, _ = synthetic_model_data(5, n_periods=64, frequency="weekly", n_channels=2)
    months = wf.fold_months(data.dates, FAST)[-3:]
    return data, [wf.run_fold(data, m, FAST, seed=2, keep_model=True) for m in months]


def test_prediction_is_the_plain_average_of_the_fold_models(folds):
    data, results = folds
    ensemble = build_fold_ensemble(results, holdout_start=None)
    assert ensemble.months == [r.month for r in results]
    each = [np.asarray(r.model.predict(data)).mean(axis=0) for r in results]
    np.testing.assert_allclose(ensemble.predict(data), np.mean(each, axis=0), rtol=1e-6)
    rows = np.zeros(len(data.dates), dtype=bool)
    rows[-5:] = True
    frame = ensemble_frame(ensemble, data, rows)
    assert len(frame) == 5 * len(data.nodes) and set(frame["fold"]) == {"walk_forward_ensemble"}
    np.testing.assert_allclose(frame["predicted"], ensemble.predict(data)[rows].reshape(-1))


def test_only_folds_trained_before_the_holdout_vote_and_last_folds_trims(folds):
    data, results = folds
    cut = pd.Timestamp(results[1].train_end)  # the second fold trained up to here: it saw the hold-out
    ensemble = build_fold_ensemble(results, holdout_start=cut)
    assert ensemble.months == [results[0].month]
    assert build_fold_ensemble(results, None, last_folds=2).months == [r.month for r in results[-2:]]
    with pytest.raises(ValueError, match="none trained entirely before the hold-out start"):
        build_fold_ensemble(results, holdout_start=data.dates[0])


def test_fold_models_are_kept_only_when_asked(folds):
    data, results = folds
    plain = wf.run_fold(data, results[0].month, FAST, seed=2)
    assert plain.model is None
    with pytest.raises(ValueError, match="0 with a stored model"):
        build_fold_ensemble([plain], None)


@pytest.mark.parametrize("raw, expected", [
    (False, {"enabled": False, "last_folds": None}),
    (True, {"enabled": True, "last_folds": None}),
    ({"enabled": True, "last_folds": 6}, {"enabled": True, "last_folds": 6}),
])
def test_settings_accept_a_bool_or_a_section(raw, expected):
    assert ensemble_settings({"walk_forward": {"ensemble": raw}}) == expected


def test_settings_reject_a_useless_fold_count():
    with pytest.raises(ValueError, match="last_folds is 0"):
        ensemble_settings({"walk_forward": {"ensemble": {"enabled": True, "last_folds": 0}}})
