"""Optuna tuning on walk-forward tuning folds, stored in SQLite."""

import json

import optuna
import pytest

from mmm_pipeline.core.config import deep_merge, load_defaults
from mmm_pipeline.core.model.synthetic import synthetic_model_data
from mmm_pipeline.core.train import tuning
from mmm_pipeline.core.train.walk_forward import fold_months, tuning_fold_months

BASE = deep_merge(load_defaults(), {
    "training": {"epochs": 10, "threads": 1},
    "walk_forward": {"initial_months": 12},
    "tuning": {"max_folds": 2},
})
BASE["tuning"]["space"] = {  # replace the default space (deep_merge would add to it)
    "training.learning_rate": {"low": 0.01, "high": 0.05, "log": True},
    "model.media.l_max": {"low": 0.5, "high": 1.0, "relative": True, "int": True},
    "training.strategy": {"choices": ["joint", "block"]},
}


@pytest.fixture(scope="module")
def data():
    d, _ = synthetic_model_data(11, n_periods=66, frequency="weekly", n_channels=2)
    return d


def test_two_trial_study_on_sqlite_completes_and_returns_an_override(data, tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    result = tuning.run_study(data, BASE, url, "t1", n_trials=2, timeout=None, holdout_periods=8)
    assert result.n_complete + result.n_pruned == 2
    assert result.months == tuning_fold_months(data.dates, BASE, 8, max_folds=2)
    last_holdout_month = data.dates[-8].strftime("%Y-%m")
    assert all(m < last_holdout_month for m in result.months)
    override = result.best_settings_override
    assert set(override) == {"training", "model"}
    # the override is the best trial's draw, inside the space: 0.5 to 1.0 x the configured l_max of 8
    done = result.trials[result.trials["state"] == "COMPLETE"]
    best = done.loc[done["value"].idxmin()]
    assert result.best_value == pytest.approx(best["value"])
    assert override["model"]["media"]["l_max"] == best["params_model.media.l_max"]
    assert override["training"]["learning_rate"] == pytest.approx(best["params_training.learning_rate"])
    assert set(done["params_model.media.l_max"]) <= set(range(4, 9))
    merged = tuning.apply_override(BASE, override)
    assert merged["model"]["media"]["saturation"] == BASE["model"]["media"]["saturation"]  # siblings kept
    assert merged["training"]["learning_rate"] == override["training"]["learning_rate"]
    assert len(result.trials) == 2 and "value" in result.trials
    json.dumps(result.to_dict())
    assert tuning.best_override_from_storage(url, "t1") == override
    # the study is stored: running again resumes it
    again = tuning.run_study(data, BASE, url, "t1", n_trials=1, timeout=None, holdout_periods=8)
    assert len(again.trials) == 3
    assert again.n_complete == 3 and again.importance_note == "fANOVA over 3 completed trials"
    assert set(again.importances) == set(BASE["tuning"]["space"])
    assert sum(again.importances.values()) == pytest.approx(1.0)


def test_too_few_trials_for_importances_is_explained(data):
    one = tuning.run_study(data, BASE, "memory", "t2", n_trials=1, timeout=None,
                           months=fold_months(data.dates, BASE)[:1])
    assert one.importances == {} and "at least 2" in one.importance_note


def test_search_space_is_validated():
    bad = deep_merge(BASE, {"tuning": {"space": {"model.dropout": {"low": 0.0, "high": 0.5}}}})
    with pytest.raises(KeyError, match="model.dropout"):
        tuning._validate_space(bad["tuning"]["space"], bad)
    with pytest.raises(ValueError, match="needs `choices` or `low` and `high`"):
        tuning._validate_space({"training.learning_rate": {"low": 0.1}}, BASE)


def test_relative_integer_ranges_follow_the_configured_value():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    cfg = deep_merge(BASE, {"model": {"media": {"l_max": 14}}})
    for _ in range(20):
        trial = study.ask()
        flat = tuning.suggest(trial, {"model.media.l_max": {"low": 0.5, "high": 2.0, "relative": True}}, cfg)
        assert isinstance(flat["model.media.l_max"], int) and 7 <= flat["model.media.l_max"] <= 28
        study.tell(trial, 0.0)
    assert tuning.nest({"a.b": 1, "a.c.d": 2, "e": 3}) == {"a": {"b": 1, "c": {"d": 2}}, "e": 3}


def test_relative_sqlite_paths_are_anchored_at_the_project_root(tmp_path):
    assert tuning.resolve_storage(None) is None and tuning.resolve_storage("memory") is None
    anchored = tuning.resolve_storage("sqlite:///.dagster_home/optuna.db")
    assert anchored.startswith("sqlite:////") and anchored.endswith("/.dagster_home/optuna.db")
    assert tuning.resolve_storage("postgresql://u@h/db") == "postgresql://u@h/db"
