"""Baselines: shared design, time-series CV, and identical folds to the NAM walk-forward."""

import numpy as np
import pandas as pd
import pytest

from mmm_pipeline.core.evaluate import baselines as bl
from mmm_pipeline.core.features.model_data import FeatureSpec, ModelData
from mmm_pipeline.core.train import walk_forward as wf

SETTINGS = {"walk_forward": {"window": "expanding", "initial_months": 4},
            "baselines": {"gbt_max_iter": 30, "alphas": [0.01, 1.0, 100.0], "cv_splits": 3}}


def linear_data(periods: int = 36, nodes: int = 2, noise: float = 0.0, seed: int = 1) -> ModelData:
    """Weekly data whose target is exactly linear in the baselines' own design (decay 0.5/week)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2022-01-03", periods=periods, freq="W-MON")
    spend = rng.gamma(2.0, 10.0, size=(periods, 2))
    stock = bl.geometric_adstock(spend, 0.5)
    price = 5.0 + rng.normal(0, 0.3, size=(periods, nodes))
    y = 100.0 * (1 + np.arange(nodes))[None, :] + stock @ np.array([[1.5], [0.5]]) - 8.0 * price
    y = y + noise * rng.normal(size=y.shape)
    X = np.concatenate([np.repeat(spend[:, None, :], nodes, axis=1), price[:, :, None]], axis=2)
    features = [FeatureSpec("tv", "media", "marketing"), FeatureSpec("radio", "media", "marketing"),
                FeatureSpec("price", "decreasing", "pricing", national=False)]
    return ModelData(dates=dates, nodes=[f"n{i}" for i in range(nodes)], node_category=["c"] * nodes, X=X, y=y,
                     features=features, frequency="weekly", target_name="sales", dataset="linear")


def test_geometric_adstock_and_decay_by_frequency():
    out = bl.geometric_adstock(np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]), 0.5)
    np.testing.assert_allclose(out, [[1.0, 0.0], [0.5, 2.0], [0.25, 1.0]])
    assert bl.baseline_decay("weekly", 7.0) == pytest.approx(0.5)
    assert bl.baseline_decay("daily", 7.0) == pytest.approx(0.5 ** (1 / 7))
    with pytest.raises(ValueError, match="unknown frequency"):
        bl.baseline_decay("hourly", 7.0)


def test_design_flattens_nodes_with_one_hot_and_national_media():
    data = linear_data(nodes=3)
    design = bl.design_matrix(data, 0.5)
    assert design.columns == ["tv_adstock", "radio_adstock", "price", "node=n0", "node=n1", "node=n2"]
    assert design.X.shape == (36 * 3, 6)
    row = 5 * 3 + 2  # period 5, node n2
    assert design.X[row, 2] == data.X[5, 2, 2] and design.X[row, 5] == 1.0 and design.y[row] == data.y[5, 2]
    np.testing.assert_array_equal(design.spline_columns, [0, 1, 2])


def test_settings_accept_a_model_list_and_reject_unknown_models():
    assert bl.BaselineSettings.from_settings({"baselines": ["ols", "gbt"]}).models == ("ols", "gbt")
    with pytest.raises(ValueError, match=r"unknown model\(s\) xgb; the models are"):
        bl.BaselineSettings.from_settings({"baselines": {"models": ["xgb"]}})


def test_linear_baselines_recover_a_linear_truth_out_of_sample():
    data = linear_data()
    folds = wf.make_folds(data, SETTINGS)
    table = bl.run_baselines(data, folds, SETTINGS).set_index("model")
    assert list(table.index) == list(bl.BASELINE_MODELS)
    assert table.loc["ols", "r2"] > 0.999
    assert table.loc["ridge", "r2"] > 0.95
    assert table.loc["spline_gam", "r2"] > 0.9
    assert (table["n_folds"] == len(folds)).all() and (table["train_seconds"] > 0).all()
    assert bl.baselines_for_summary(table.reset_index())[0]["model"] == "ols"


def test_baselines_train_and_predict_on_exactly_the_fold_rows(monkeypatch):
    """Spy on every estimator: its training targets and prediction rows are the fold's masks."""
    data = linear_data(noise=1.0)
    folds = wf.make_folds(data, SETTINGS)
    seen: list[tuple[np.ndarray, int]] = []
    real = bl._estimator

    class Spy:
        def __init__(self, inner):
            self.inner = inner

        def fit(self, X, y):
            seen.append(("fit", np.asarray(y).copy()))
            self.inner.fit(X, y)
            return self

        def predict(self, X):
            seen.append(("predict", len(X)))
            return self.inner.predict(X)

    monkeypatch.setattr(bl, "_estimator", lambda *a, **k: Spy(real(*a, **k)))
    models = ["ols", "spline_gam", "gbt"]
    run = bl.run_baseline_folds(data, folds, {**SETTINGS, "baselines": {**SETTINGS["baselines"], "models": models}})
    fits = [y for kind, y in seen if kind == "fit"]
    predicts = [n for kind, n in seen if kind == "predict"]
    expected = [data.y[f.train_mask].reshape(-1) for f in folds for _ in models]
    assert len(fits) == len(expected)
    for got, want in zip(fits, expected):
        np.testing.assert_array_equal(got, want)
    assert predicts == [f.n_test * len(data.nodes) for f in folds for _ in models]
    for fold in folds:
        rows = run.folds[run.folds["fold"] == fold.month]
        assert set(rows["train_digest"]) == {fold.train_digest} and set(rows["test_digest"]) == {fold.test_digest}
        for _, part in run.predictions[run.predictions["fold"] == fold.month].groupby("model"):
            assert set(pd.DatetimeIndex(part["date"])) == set(data.dates[fold.test_mask])


def test_ridge_cv_splits_never_validate_on_earlier_periods():
    period = np.repeat(np.arange(20), 3)
    for train_rows, val_rows in bl._time_splits(period, 4):
        assert period[train_rows].max() < period[val_rows].min()
        assert len(set(period[val_rows])) * 3 == len(val_rows)  # whole periods, every node


def test_non_finite_features_are_rejected_with_the_column_named():
    data = linear_data()
    data.X[3, 1, 2] = np.nan
    with pytest.raises(ValueError, match="non-finite feature values in price; impute them"):
        bl.design_matrix(data, 0.5)


def test_nam_and_baselines_use_identical_fold_masks(monkeypatch):
    """The NAM fold run and the baselines see the same training periods and test rows."""
    from mmm_pipeline.core.config import deep_merge, load_defaults
    from mmm_pipeline.core.model.synthetic import synthetic_model_data
    from mmm_pipeline.core.train import trainer

    data, _ = synthetic_model_data(5, n_periods=60, frequency="weekly", n_channels=2)
    cfg = deep_merge(load_defaults(), {"training": {"epochs": 15}, "walk_forward": {"initial_months": 12},
                                       "baselines": {"models": ["ols", "ridge"]}})
    nam_masks = {}
    real_fit = trainer.fit_nam

    def spy(window, settings, **kwargs):
        nam_masks[window.dates[-1]] = kwargs["train_mask"].copy()
        return real_fit(window, settings, **kwargs)

    monkeypatch.setattr(trainer, "fit_nam", spy)
    folds = wf.make_folds(data, cfg)[:2]
    nam = [wf.run_fold(data, f.month, cfg, fold=f) for f in folds]
    run = bl.run_baseline_folds(data, folds, cfg)
    for fold, result in zip(folds, nam):
        mask = nam_masks[data.dates[fold.test_mask][-1]]
        np.testing.assert_array_equal(mask, fold.train_mask[: fold.end])
        rows = run.folds[run.folds["fold"] == fold.month]
        assert set(rows["train_digest"]) == {result.train_digest}
        assert set(rows["test_digest"]) == {result.test_digest}
        assert (rows["n_train"] == result.n_train).all()
        for _, part in run.predictions[run.predictions["fold"] == fold.month].groupby("model"):
            assert list(zip(part["date"], part["node"])) == list(zip(result.predictions["date"], result.predictions["node"]))
            np.testing.assert_array_equal(part["actual"].to_numpy(), result.predictions["actual"].to_numpy())


@pytest.mark.parametrize("name", ["ridge", "spline_gam"])
def test_ridge_path_gives_the_grid_search_answer(name):
    """One Gram matrix per split for every alpha: the alpha and the predictions of a grid search
    that refits the whole pipeline for each split and alpha, on data where the choice matters
    (many noisy columns, few periods: neither the smallest nor the largest alpha wins)."""
    from sklearn.base import clone
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 30))
    y = X[:, :3] @ np.array([2.0, -1.0, 0.5]) + rng.normal(0, 2.0, size=120)
    design = bl.Design(X=X, y=y, period=np.arange(120), columns=[f"x{i}" for i in range(30)],
                       spline_columns=np.arange(3))
    settings = bl.BaselineSettings(alphas=(0.01, 1.0, 30.0, 100.0, 1000.0, 1e5))
    path = bl._estimator(name, settings, design, design.period[:100]).fit(X[:100], y[:100])
    grid = GridSearchCV(Pipeline([*clone(path.features).steps, ("ridge", Ridge())]),
                        {"ridge__alpha": list(settings.alphas)}, cv=path.cv,
                        scoring="neg_mean_squared_error").fit(X[:100], y[:100])
    assert grid.best_params_["ridge__alpha"] not in (settings.alphas[0], settings.alphas[-1])
    assert path.best_params_ == grid.best_params_
    np.testing.assert_allclose(path.predict(X[100:]), grid.predict(X[100:]), rtol=1e-10)
