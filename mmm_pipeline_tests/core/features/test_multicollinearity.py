"""VIF and correlated pairs: near-copies are flagged, independent inputs are not."""

import json

import numpy as np
import pandas as pd

from mmm_pipeline.core.features.model_data import FeatureSpec, ModelData
from mmm_pipeline.core.features.multicollinearity import collinearity_report


def data_with(columns: dict[str, np.ndarray]) -> ModelData:
    x = np.column_stack(list(columns.values()))[:, None, :]
    specs = [FeatureSpec(n, "media" if n.startswith("m") else "free", "marketing") for n in columns]
    t = x.shape[0]
    return ModelData(dates=pd.date_range("2020-01-06", periods=t, freq="7D"), nodes=["total"],
                     node_category=["total"], X=x, y=np.zeros((t, 1)), features=specs, frequency="weekly",
                     target_name="y")


def test_independent_features_have_vif_near_one():
    rng = np.random.default_rng(0)
    report = collinearity_report(data_with({f"m{i}": rng.normal(size=500) for i in range(4)}))
    assert report.vif["vif"].between(1.0, 1.1).all() and report.pairs.empty
    assert report.summary["features_over_vif_threshold"] == []


def test_near_copies_and_exact_combinations_are_flagged():
    rng = np.random.default_rng(1)
    a, b, c = rng.normal(size=(3, 300))
    report = collinearity_report(data_with({
        "m_online": a, "m_affiliates": a + 0.1 * rng.normal(size=300),  # r ~ 0.995
        "m_tv": b, "m_radio": c, "free_sum": b + c,  # exact linear combination
        "free_flat": np.ones(300),
    }))
    vif = report.vif.set_index("feature")["vif"]
    assert vif["m_online"] > 50 and vif["m_affiliates"] > 50
    assert set(report.summary["perfectly_collinear"]) == {"m_tv", "m_radio", "free_sum"}
    assert report.summary["constant_features"] == ["free_flat"] and np.isnan(vif["free_flat"])
    top = report.pairs.iloc[0]
    assert {top.feature_a, top.feature_b} == {"m_online", "m_affiliates"} and top.correlation > 0.99
    assert report.summary["max_vif"] is None  # infinite VIF: reported as perfectly collinear instead
    json.dumps(report.summary)


def test_thresholds_come_from_settings():
    rng = np.random.default_rng(2)
    a = rng.normal(size=400)
    data = data_with({"m1": a, "m2": a + 0.8 * rng.normal(size=400)})  # r ~ 0.78
    assert collinearity_report(data).pairs.empty
    loose = collinearity_report(data, settings={"features": {"correlation_threshold": 0.5, "vif_threshold": 2.0}})
    assert len(loose.pairs) == 1 and loose.summary["features_over_vif_threshold"] == ["m1", "m2"]
