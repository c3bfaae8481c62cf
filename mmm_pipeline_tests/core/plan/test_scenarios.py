"""Scenario parsing, input edits and outcomes with intervals, on a toy model with known effects."""

import numpy as np
import pandas as pd
import pytest
import torch

from mmm_pipeline.core.config import load_defaults
from mmm_pipeline.core.features.model_data import FeatureSpec, ModelData
from mmm_pipeline.core.plan.scenarios import (
    ScenarioError,
    apply_scenario,
    builtin_scenarios,
    event_features,
    resolve_scenarios,
    run_scenarios,
)
from mmm_pipeline.core.plan.true_response import HillMediaResponse

torch.set_num_threads(1)
T = 60
DEFAULTS = load_defaults()


class ToyModel:
    """Base + own-price elasticity + discount + event + Hill media, K members (varying price elasticity)."""

    def __init__(self, k: int = 30, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.n_models = k
        self.elasticity = rng.normal(-1.5, 0.2, k)
        self.media = HillMediaResponse(["TV", "Digital"], np.tile([0.4, 0.1], (k, 1)), np.tile([100.0, 50.0], (k, 1)),
                                       np.tile([1.2, 1.0], (k, 1)), np.tile([400.0, 300.0], (k, 1)) * rng.uniform(0.8, 1.2, (k, 2)),
                                       l_max=4)

    def predict(self, data: ModelData) -> np.ndarray:
        x = data.X
        price, discount, sale = (x[:, :, data.feature_index(n)] for n in ("list_price", "discount", "special_sale"))
        base = 1000.0 * (price[None] / 10.0) ** self.elasticity[:, None, None]
        media = self.media.media_revenue(torch.zeros(0, 2, dtype=torch.float64), torch.as_tensor(data.spend)).numpy()
        return base * (1 + discount[None]) + 150.0 * sale[None] + media[:, :, None] / x.shape[1]


def _data() -> ModelData:
    rng = np.random.default_rng(4)
    n = 2
    x = np.zeros((T, n, 6))
    x[:, :, 0] = rng.uniform(60, 140, (T, 1))  # TV
    x[:, :, 1] = rng.uniform(30, 70, (T, 1))  # Digital
    x[:, :, 2] = rng.uniform(9, 11, (T, n))  # list_price
    x[:, :, 3] = rng.uniform(0.05, 0.2, (T, n))  # discount
    x[:, :, 4] = (rng.random((T, 1)) < 0.1).astype(float)  # special_sale
    x[:, :, 5] = np.sin(np.arange(T) / 5)[:, None]  # a Fourier term: linear but not an event
    feats = [FeatureSpec("TV", "media", "marketing"), FeatureSpec("Digital", "media", "marketing"),
             FeatureSpec("list_price", "decreasing", "pricing", national=False),
             FeatureSpec("discount", "increasing", "pricing", national=False),
             FeatureSpec("special_sale", "linear", "temporal"), FeatureSpec("fourier_sin_1", "linear", "temporal")]
    return ModelData(dates=pd.date_range("2024-01-01", periods=T, freq="W-MON"), nodes=["a", "b"],
                     node_category=["c", "c"], X=x, y=np.ones((T, n)), features=feats, frequency="weekly",
                     target_name="gmv")


def test_builtins_follow_what_the_data_has():
    data = _data()
    assert event_features(data) == ["special_sale"]
    names = [s["name"] for s in builtin_scenarios(data, DEFAULTS)]
    assert names == ["aggressive_digital", "price_reduction", "premium_positioning", "festival_push"]
    digital = builtin_scenarios(data, DEFAULTS)[0]
    assert digital["channels"] == {"Digital": 1.5}


def test_builtins_pick_channels_and_events_by_the_configured_name_fragments():
    picks = {"digital_keywords": ["tv"], "festival_keywords": ["holiday"], "festival_periods": {"weekly": 3}}
    specs = {s["name"]: s for s in builtin_scenarios(_data(), {"builtin_scenarios": picks})}
    assert specs["aggressive_digital"]["channels"] == {"TV": 1.5}
    assert "festival_push" not in specs  # the only event, special_sale, names no holiday
    picks["festival_keywords"] = ["SALE"]
    festival = builtin_scenarios(_data(), {"builtin_scenarios": picks})[-1]
    assert festival["events"] == {"special_sale": True} and festival["periods"] == 3


def test_configured_scenarios_come_first_and_override_builtins():
    data = _data()
    settings = {"scenarios": [{"name": "tv_blackout", "channels": {"TV": 0.0}},
                              {"name": "price_reduction", "price_change": -0.10}]}
    specs = resolve_scenarios(data, settings)
    assert [s["name"] for s in specs][:2] == ["tv_blackout", "price_reduction"]
    assert [s["source"] for s in specs].count("settings") == 2
    assert sum(s["name"] == "price_reduction" for s in specs) == 1


@pytest.mark.parametrize(
    "spec, words",
    [
        ({"name": "x", "channels": {"Cinema": 2}}, r"unknown channel\(s\) Cinema; the channels are TV and Digital"),
        ({"name": "x", "price": 0.1}, r"unknown key\(s\) price \(did you mean `price_change`\?\)"),
        ({"name": "x", "events": {"fourier_sin_1": True}}, r"unknown event\(s\) fourier_sin_1; the 0/1 event features are special_sale"),
        ({"name": "x", "channels": {"TV": -1}}, "must be >= 0"),
        ({"channels": {"TV": 1}}, "needs a `name`"),
        ({"name": "x", "periods": 1000}, "periods must be between"),
    ],
)
def test_bad_scenarios_are_rejected_by_name(spec, words):
    with pytest.raises(ScenarioError, match=words):
        resolve_scenarios(_data(), {"scenarios": [spec]})


def test_apply_scenario_edits_only_the_window_and_the_named_inputs():
    data = _data()
    spec = {"name": "s", "channels": {"TV": 0.0}, "all_channels": 2.0, "price_change": -0.1, "discount_change": 0.9,
            "events": {"special_sale": "on"}}
    new = apply_scenario(data, spec, periods=10)
    np.testing.assert_array_equal(new.X[:-10], data.X[:-10])
    w = slice(T - 10, None)
    assert (new.X[w, :, 0] == 0).all()
    np.testing.assert_allclose(new.X[w, :, 1], 2 * data.X[w, :, 1])
    np.testing.assert_allclose(new.X[w, :, 2], 0.9 * data.X[w, :, 2])
    assert new.X[w, :, 3].max() <= 0.95
    assert (new.X[w, :, 4] == 1).all()
    np.testing.assert_array_equal(new.X[:, :, 5], data.X[:, :, 5])
    assert data.X[w, :, 0].min() > 0  # the original is untouched


def test_outcomes_have_the_known_signs_and_paired_intervals():
    data = _data()
    settings = {**DEFAULTS, "optimizer": {"horizon_periods": 12},
                "scenarios": [{"name": "tv_blackout", "channels": {"TV": 0.0}}, {"name": "nothing"}]}
    out = {r["name"]: r for r in run_scenarios(ToyModel(), data, settings)}
    tv = out["tv_blackout"]
    assert tv["lift"]["hi"] < 0 and tv["probability_positive"] == 0.0 and tv["spend_change"] < 0
    assert tv["incremental_roi"]["mean"] > 0
    assert out["nothing"]["lift"] == {"mean": 0.0, "lo": 0.0, "hi": 0.0, "width": 0.0}
    assert out["nothing"]["incremental_roi"] is None
    assert out["price_reduction"]["lift_pct"]["lo"] > 0  # elasticity about -1.5 < -1
    assert out["premium_positioning"]["lift_pct"]["hi"] < 0
    assert out["festival_push"]["lift"]["lo"] > 0 and out["festival_push"]["periods"] == 2
    assert out["aggressive_digital"]["spend_change"] > 0
    for r in out.values():
        assert r["revenue"]["lo"] <= r["revenue"]["mean"] <= r["revenue"]["hi"]
        assert r["window"]["end"] == "2025-02-17"


def test_a_multiplier_on_a_channel_that_did_not_spend_is_called_out():
    data = _data()
    x = data.X.copy()
    x[-12:, :, 0] = 0.0  # TV dark in the window
    data.X = x
    settings = {"optimizer": {"horizon_periods": 12}, "scenarios": [{"name": "tv_double", "channels": {"TV": 2.0}}]}
    out = run_scenarios(ToyModel(k=4), data, settings, include_builtin=False)
    assert len(out) == 1 and out[0]["lift"]["mean"] == 0.0
    assert "TV spent nothing in the window" in out[0]["notes"][0]
