import numpy as np
import pandas as pd

from mmm_pipeline.core.features.model_data import FeatureSpec, ModelData
from mmm_pipeline.defs.features.drift import effective_size, feature_drift


def _data(shift: float, smooth: bool = False, seed: int = 0) -> ModelData:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2022-01-01", "2023-06-30", freq="D")
    noisy = rng.normal(10.0, 1.0, len(dates))
    newest = np.asarray(dates.strftime("%Y-%m") == "2023-06")
    noisy[newest] += shift
    level = np.cumsum(rng.normal(0, 0.05, len(dates))) + 50.0  # slow random walk, like an interpolated NPS
    monthly = rng.uniform(1, 5, 18)
    monthly[-1] = np.median(monthly[:-1])  # the newest month's spend level is an ordinary one
    spend = np.repeat(monthly, [pd.Period(m, "M").days_in_month for m in dates.strftime("%Y-%m").unique()])
    x = np.stack([noisy, level, spend, np.arange(len(dates)) / 365.0], axis=1)[:, None, :]
    features = [FeatureSpec("discount", "increasing", "pricing"), FeatureSpec("nps", "free", "brand"),
                FeatureSpec("tv", "media", "marketing"), FeatureSpec("trend", "free", "temporal")]
    return ModelData(dates=dates, nodes=["total"], node_category=["total"], X=x, y=np.ones((len(dates), 1)),
                     features=features, frequency="daily", target_name="y", meta={"holdout_periods": 0})


def test_shifted_feature_is_flagged_and_named():
    report = feature_drift(_data(shift=3.0), alpha=0.01)
    assert [f.feature for f in report.drifted] == ["discount"]
    assert "discount" in report.message


def test_stable_month_and_slow_series_are_not_flagged():
    report = feature_drift(_data(shift=0.0), alpha=0.01)
    assert report.drifted == []
    tested = {f.feature: f.test for f in report.features}
    assert tested == {"discount": "ks", "nps": "ks", "tv": "range"}, "trend is deterministic and left out"


def test_monthly_spend_outside_training_range_is_drift():
    data = _data(shift=0.0)
    data.X[-30:, 0, 2] = 50.0
    report = feature_drift(data)
    assert [f.feature for f in report.drifted] == ["tv"]


def test_autocorrelation_shrinks_the_effective_sample():
    assert effective_size(30, 0.0) == 30
    assert effective_size(30, 0.9) < 2
