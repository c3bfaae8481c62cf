"""Walk-forward folds: month partitions, no leakage, aggregation and the fold model run."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from mmm_pipeline.core.features.model_data import FeatureSpec, ModelData
from mmm_pipeline.core.train import walk_forward as wf

SETTINGS = {"walk_forward": {"window": "expanding", "rolling_months": 6, "initial_months": 3, "tuning_folds": 0}}


def tiny_data(periods: int = 40, freq: str = "W-MON", nodes: int = 2, seed: int = 0) -> ModelData:
    """Weekly two-node data with two adstocked media, a per-node price and an event."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-02", periods=periods, freq=freq)
    spend = rng.gamma(2.0, 50.0, size=(periods, 2))
    stock = np.zeros_like(spend)
    for t in range(periods):
        stock[t] = spend[t] + (0.5 * stock[t - 1] if t else 0.0)
    price = 10.0 + rng.normal(0, 0.5, size=(periods, nodes))
    event = (rng.random(periods) < 0.1).astype(float)
    level = np.linspace(500.0, 800.0, nodes)
    y = (level[None, :] + 0.8 * stock[:, [0]] + 0.4 * np.sqrt(stock[:, [1]]) * 10
         - 20.0 * (price - 10.0) + 60.0 * event[:, None] + rng.normal(0, 5.0, size=(periods, nodes)))
    X = np.concatenate(
        [np.repeat(spend[:, None, :], nodes, axis=1), price[:, :, None], np.repeat(event[:, None, None], nodes, axis=1)],
        axis=2,
    )
    features = [
        FeatureSpec("tv", "media", "marketing"),
        FeatureSpec("search", "media", "marketing"),
        FeatureSpec("price", "decreasing", "pricing", national=False),
        FeatureSpec("promo", "linear", "temporal"),
    ]
    names = [f"n{i}" for i in range(nodes)]
    return ModelData(dates=dates, nodes=names, node_category=["c"] * nodes, X=X, y=y, features=features,
                     frequency="weekly" if freq.startswith("W") else "daily", target_name="sales", dataset="tiny")


# ---------------------------------------------------------------------------------------------
# months and folds
# ---------------------------------------------------------------------------------------------


def test_fold_months_are_the_data_months_after_the_initial_window():
    data = tiny_data(40)  # 2023-01-02 .. 2023-10-02, weekly
    months = wf.data_months(data.dates)
    assert months[0] == "2023-01" and months[-1] == "2023-10"
    assert wf.fold_months(data.dates, SETTINGS) == months[3:]


def test_week_belongs_to_the_month_of_its_start_date():
    dates = pd.DatetimeIndex(["2024-04-22", "2024-04-29", "2024-05-06"])  # 29 Apr runs into May
    assert list(wf.period_months(dates)) == ["2024-04", "2024-04", "2024-05"]


@pytest.mark.parametrize("freq,step", [("D", 31), ("W-MON", 5), ("MS", 1)])
def test_a_new_month_of_data_adds_exactly_one_partition(freq, step):
    dates = pd.date_range("2022-01-03" if freq != "MS" else "2022-01-01", periods=500 if freq == "D" else 80, freq=freq)
    whole_months = wf.data_months(dates)
    before = dates[wf.period_months(dates) <= whole_months[-3]]
    after = dates[wf.period_months(dates) <= whole_months[-2]]
    old, new = wf.fold_months(before, SETTINGS), wf.fold_months(after, SETTINGS)
    assert new[:-1] == old and len(new) == len(old) + 1 and new[-1] == whole_months[-2]


@hsettings(max_examples=20, deadline=None)
@given(
    periods=st.integers(min_value=20, max_value=400),
    freq=st.sampled_from(["D", "W-MON", "W-SUN", "MS"]),
    window=st.sampled_from(["expanding", "rolling"]),
    initial=st.integers(min_value=1, max_value=6),
    rolling=st.integers(min_value=1, max_value=8),
    start=st.dates(min_value=pd.Timestamp("2015-01-01").date(), max_value=pd.Timestamp("2025-01-01").date()),
)
def test_folds_never_train_on_the_future(periods, freq, window, initial, rolling, start):
    dates = pd.date_range(start, periods=periods, freq=freq)
    data = ModelData(dates=dates, nodes=["total"], node_category=["total"], X=np.zeros((periods, 1, 1)),
                     y=np.zeros((periods, 1)), features=[FeatureSpec("x", "free", "brand")], frequency="daily",
                     target_name="y")
    cfg = {"walk_forward": {"window": window, "rolling_months": rolling, "initial_months": initial}}
    months = wf.period_months(dates)
    for fold in wf.make_folds(data, cfg):
        train, test = dates[fold.train_mask], dates[fold.test_mask]
        assert train.max() < test.min()
        assert set(months[fold.test_mask]) == {fold.month}
        assert not (fold.train_mask & fold.test_mask).any()
        assert fold.end == np.flatnonzero(fold.test_mask)[-1] + 1
        train_months = sorted(set(months[fold.train_mask]))
        if window == "rolling":
            assert len(train_months) <= rolling
        assert train_months[-1] < fold.month  # trained up to the end of the month before


def test_expanding_and_rolling_windows_cover_the_right_months():
    data = tiny_data(60)
    last = wf.fold_months(data.dates, SETTINGS)[-1]
    expanding = wf.make_fold(data, last, SETTINGS)
    assert expanding.train_mask[0] and expanding.n_train == int((wf.period_months(data.dates) < last).sum())
    rolling = wf.make_fold(data, last, {"walk_forward": {**SETTINGS["walk_forward"], "window": "rolling",
                                                         "rolling_months": 2}})
    assert sorted(set(wf.period_months(data.dates)[rolling.train_mask])) == wf.data_months(data.dates)[-3:-1]


def test_make_fold_rejects_a_month_without_enough_training():
    data = tiny_data(40)
    with pytest.raises(ValueError, match="not a walk-forward test month; valid ones are 2023-04..2023-10"):
        wf.make_fold(data, "2023-02", SETTINGS)
    with pytest.raises(ValueError, match="initial_months"):
        wf.fold_months(data.dates, {"walk_forward": {"initial_months": 0}})


def test_tuning_months_exclude_the_holdout_and_honour_tuning_folds():
    data = tiny_data(40)  # last date 2023-10-02; 6 hold-out weeks start 2023-08-28
    folds = wf.fold_months(data.dates, SETTINGS)
    tuning = wf.tuning_fold_months(data.dates, SETTINGS, holdout_periods=6)
    assert tuning == [m for m in folds if m < "2023-08"]
    first_two = wf.tuning_fold_months(data.dates, {"walk_forward": {**SETTINGS["walk_forward"], "tuning_folds": 2}}, 6)
    assert first_two == folds[:2]
    assert wf.tuning_fold_months(data.dates, SETTINGS, holdout_periods=6, max_folds=2) == tuning[-2:]


# ---------------------------------------------------------------------------------------------
# aggregation on hand-made fold results
# ---------------------------------------------------------------------------------------------


def _result(data: ModelData, month: str, error: float, tv_elasticity: float, tv_roas: float) -> wf.FoldResult:
    fold = wf.make_fold(data, month, SETTINGS)
    rows = np.flatnonzero(fold.test_mask)
    frame = wf.prediction_table(data, rows, data.y[rows] + error, fold.month)
    return wf.FoldResult(predictions=frame, metrics=wf.fold_metrics(data, fold, frame),
                         elasticities={"tv": tv_elasticity, "price": -1.0}, roas={"tv": tv_roas},
                         decay={"tv": 0.5}, **wf._base(fold, data, "ok", ""))


def test_aggregate_pools_predictions_and_measures_fold_stability():
    data = tiny_data(40)
    months = wf.fold_months(data.dates, SETTINGS)[:3]
    results = [_result(data, m, e, el, r) for m, e, el, r in zip(months, [1.0, -2.0, 3.0], [0.1, 0.2, 0.3], [2, 2, 2])]
    skipped = wf.FoldResult(predictions=pd.DataFrame(columns=wf.PREDICTION_COLUMNS),
                            **wf._base(wf.make_fold(data, wf.fold_months(data.dates, SETTINGS)[3], SETTINGS), data,
                                       "skipped", "too few periods"))
    summary = wf.aggregate_folds([results[2], skipped, results[0], results[1]])
    pooled = summary.predictions
    assert list(pooled["fold"].unique()) == months  # sorted by date whatever the input order
    errors = pooled["predicted"] - pooled["actual"]
    assert summary.overall["rmse"] == pytest.approx(float(np.sqrt(np.mean(errors**2))))
    assert summary.stability["tv"] == pytest.approx(np.std([0.1, 0.2, 0.3], ddof=1) / 0.2)
    assert summary.stability["roas:tv"] == pytest.approx(0.0)
    r2s = summary.folds.loc[summary.folds["status"] == "ok", "r2"].to_numpy()
    assert summary.fold_r2["std"] == pytest.approx(np.std(r2s, ddof=1))
    assert summary.fold_r2["range"] == pytest.approx(r2s.max() - r2s.min())
    assert summary.skipped == {skipped.month: "too few periods"}
    assert summary.overall_total["rmse"] == pytest.approx(
        float(np.sqrt(np.mean((errors.groupby(pooled["date"]).sum()) ** 2))))
    block = json.loads(json.dumps(summary.to_dict()))
    assert [f["month"] for f in block["folds"]] == months
    png = wf.fold_chart(summary, min_r2=0.75)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_fold_stability_ignores_folds_that_trained_on_a_fraction_of_the_history():
    """Early expanding-window folds know little; their spread is not instability of the answer."""
    data = tiny_data(60)
    months = wf.fold_months(data.dates, SETTINGS)
    roas = [0.5 if i < len(months) // 4 else 2.0 + 0.02 * (i % 2) for i in range(len(months))]
    results = [_result(data, m, 1.0, 0.2, r) for m, r in zip(months, roas)]
    longest = max(r.n_train for r in results)
    assert min(r.n_train for r in results) < 0.5 * longest  # the design has short early folds
    informed = wf.aggregate_folds(results).stability["roas:tv"]
    everything = wf.aggregate_folds(results, min_history_share=0.0).stability["roas:tv"]
    assert everything > 0.3 > informed
    kept = [r for r, res in zip(roas, results) if res.n_train >= 0.5 * longest]
    assert informed == pytest.approx(np.std(kept, ddof=1) / np.mean(kept))


def test_aggregate_rejects_duplicate_months_and_fold_result_round_trips():
    data = tiny_data(40)
    month = wf.fold_months(data.dates, SETTINGS)[0]
    result = _result(data, month, 1.0, 0.1, 2.0)
    with pytest.raises(ValueError, match=r"repeat month\(s\)"):
        wf.aggregate_folds([result, result])
    again = wf.FoldResult.from_dict(json.loads(json.dumps(result.to_dict())))
    pd.testing.assert_frame_equal(again.predictions, result.predictions, check_dtype=False)
    assert again.metrics == pytest.approx(result.metrics, nan_ok=True)
    assert again.train_digest == result.train_digest


def test_coefficient_of_variation_edge_cases():
    assert math.isnan(wf.coefficient_of_variation([1.0]))
    assert wf.coefficient_of_variation([0.0, 0.0]) == 0.0
    assert wf.coefficient_of_variation([-1.0, 1.0]) == math.inf


# ---------------------------------------------------------------------------------------------
# fold runs with the real NAM (few epochs: these test the plumbing, not accuracy)
# ---------------------------------------------------------------------------------------------

from mmm_pipeline.core.config import deep_merge, load_defaults  # noqa: E402
from mmm_pipeline.core.model.synthetic import synthetic_model_data  # noqa: E402
from mmm_pipeline.core.train import trainer  # noqa: E402

FAST = deep_merge(load_defaults(), {"training": {"epochs": 25, "threads": 1},
                                    "walk_forward": {"initial_months": 12}})


@pytest.fixture(scope="module")
def weekly():
    data, _ = synthetic_model_data(3, n_periods=64, frequency="weekly", n_channels=2)
    return data


def test_run_fold_fits_on_the_past_only_and_the_future_cannot_change_it(weekly, monkeypatch):
    calls = []
    real = trainer.fit_nam

    def spy(data, settings, **kwargs):
        calls.append((data.dates.copy(), kwargs["train_mask"].copy()))
        return real(data, settings, **kwargs)

    monkeypatch.setattr(trainer, "fit_nam", spy)
    month = wf.fold_months(weekly.dates, FAST)[1]
    fold = wf.make_fold(weekly, month, FAST)
    result = wf.run_fold(weekly, month, FAST, seed=1)
    dates, mask = calls[0]
    test_dates = weekly.dates[fold.test_mask]
    assert dates[-1] == test_dates[-1]  # data ends with the test month
    assert dates[mask].max() < test_dates.min() and mask.sum() == fold.n_train
    assert list(result.predictions["date"]) == list(test_dates)
    assert result.ok and set(result.roas) == set(weekly.channel_names) and set(result.decay) == set(weekly.channel_names)
    assert "price_0" in result.elasticities and "event_0" not in result.elasticities  # linear kinds skipped
    assert np.isfinite(result.metrics["rmse"]) and result.train_digest == fold.train_digest

    scrambled = ModelData(**{**weekly.__dict__, "X": weekly.X.copy(), "y": weekly.y.copy()})
    after = ~(fold.train_mask | fold.test_mask) & (weekly.dates > test_dates.max())
    scrambled.X[after] *= 50.0
    scrambled.y[after] *= -3.0
    again = wf.run_fold(scrambled, month, FAST, seed=1)
    np.testing.assert_allclose(again.predictions["predicted"], result.predictions["predicted"])


def test_run_fold_reports_a_refused_fit_as_skipped(weekly):
    strict = deep_merge(FAST, {"training": {"min_periods_per_parameter": 100.0}})
    month = wf.fold_months(weekly.dates, strict)[0]
    result = wf.run_fold(weekly, month, strict)
    assert result.status == "skipped" and "too few periods" in result.reason and result.predictions.empty
    json.dumps(result.to_dict())


def test_batched_folds_return_one_result_per_month(weekly):
    months = wf.fold_months(weekly.dates, FAST)[:2]
    results = wf.run_folds_batched(weekly, FAST, months, seed=1)
    assert [r.month for r in results] == months
    for r, fold in zip(results, wf.make_folds(weekly, FAST, months)):
        assert list(r.predictions["date"]) == list(weekly.dates[fold.test_mask])
        assert np.isfinite(r.metrics["rmse"])
    summary = wf.aggregate_folds(results)
    assert summary.folds["month"].tolist() == months


def test_a_fold_range_is_one_batched_fit_that_still_refuses_a_fold_too_short(weekly):
    """Several months: one fit whose members are the folds, each fold judged on its own
    training periods (the union would pass a fold that alone is too short); one month alone:
    the sequential fit with early stopping, as a monthly refresh computes it."""
    months = wf.fold_months(weekly.dates, FAST)[:3]
    first, second = (f.n_train for f in wf.make_folds(weekly, FAST, months)[:2])
    assert second > first
    strict = deep_merge(FAST, {"training": {"min_periods_per_parameter": (first + 0.5) / len(weekly.features)}})
    results = wf.run_fold_range(weekly, months, strict, keep_model=True)
    assert list(results) == months
    assert results[months[0]].status == "skipped" and "too few periods" in results[months[0]].reason
    assert all(results[m].ok and results[m].model.n_models == 1 for m in months[1:])
    batched_epochs = int(results[months[1]].model.history["epochs_run"])
    alone = wf.run_fold_range(weekly, months[-1:], FAST)[months[-1]]
    sequential = wf.run_fold(weekly, months[-1], FAST)
    pd.testing.assert_frame_equal(alone.predictions, sequential.predictions)
    assert batched_epochs == FAST["training"]["epochs"]  # no early stopping inside a batch
    off = deep_merge(FAST, {"walk_forward": {"batched": False}})
    for month, result in wf.run_fold_range(weekly, months[1:], off).items():
        pd.testing.assert_frame_equal(result.predictions, wf.run_fold(weekly, month, FAST).predictions)


def test_a_feature_first_moving_in_the_test_month_is_reported_unseen():
    data = tiny_data(40)
    month = wf.fold_months(data.dates, SETTINGS)[2]
    fold = wf.make_fold(data, month, SETTINGS)
    promo = data.feature_index("promo")
    data.X[:, :, promo] = 0.0
    assert wf.unseen_features(data, fold) == []
    data.X[np.flatnonzero(fold.test_mask)[1], :, promo] = 1.0  # a one-off event inside the test month
    assert wf.unseen_features(data, fold) == ["promo"]
    data.X[0, :, promo] = 1.0  # seen once in training: learnable
    assert wf.unseen_features(data, fold) == []


def test_a_folds_data_digest_is_stable_and_sees_a_revised_month(weekly):
    """The digest a stored fold is reused by: the same after fitting on data with a lift test
    (pickled pandas objects change bytes when used), changed by a revised past period, blind to
    periods after the fold."""
    from dataclasses import replace

    from mmm_pipeline.core.data.experiments import LiftTests

    start = pd.DatetimeIndex([weekly.dates[20]])
    tests = LiftTests((weekly.channel_names[0],), (None,), start, start + pd.Timedelta(days=27), np.array([-5.0]), np.array([1.0]),
                      np.array([0.0]), np.zeros(1), ("a go-dark test",))
    data = replace(weekly, experiments=tests)
    month = wf.fold_months(data.dates, FAST)[0]
    fold = wf.make_fold(data, month, FAST)
    before = wf.fold_data_digest(data, fold.end)
    assert wf.run_fold(data, month, FAST).data_digest == before == wf.fold_data_digest(data, fold.end)
    later = ModelData(**{**data.__dict__, "y": data.y.copy()})
    later.y[fold.end:] += 1.0
    assert wf.fold_data_digest(later, fold.end) == before
    revised = ModelData(**{**data.__dict__, "y": data.y.copy()})
    revised.y[fold.end - 1] += 1.0
    assert wf.fold_data_digest(revised, fold.end) != before


def test_batched_folds_never_learn_from_a_lift_test_run_after_their_month(monkeypatch):
    """One batched fit shares its lift tests: only those every fold could have known are used."""
    from dataclasses import replace

    from mmm_pipeline.core.data.experiments import LiftTests
    from mmm_pipeline.core.train import trainer

    data = tiny_data(60)
    months = wf.fold_months(data.dates, SETTINGS)
    early, late = data.dates[5], data.dates[-3]
    tests = LiftTests(("tv", "tv"), (None, None), pd.DatetimeIndex([early, late]),
                      pd.DatetimeIndex([early, late]), np.array([1.0, 1.0]), np.array([1.0, 1.0]),
                      np.array([0.0, 0.0]), np.zeros(2), ("early", "late"))
    seen = {}

    def spy(window, settings, **kwargs):
        seen["labels"] = None if window.experiments is None else window.experiments.label
        raise RuntimeError("stop after seeing the data")

    monkeypatch.setattr(trainer, "fit_nam", spy)
    with pytest.raises(RuntimeError, match="stop after"):
        wf.run_folds_batched(replace(data, experiments=tests), SETTINGS, months)
    assert seen["labels"] == ("early",)
