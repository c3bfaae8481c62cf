"""Feature engineering: raw spend for media, per-node price features, calendar terms, kinds."""

import numpy as np
import pandas as pd
import pytest

from mmm_pipeline.core.config import DatasetConfig, deep_merge, load_dataset_config, load_defaults
from mmm_pipeline.core.data.modeling_table import load_dataset
from mmm_pipeline.core.features.build import (
    build_feature_frame,
    build_model_data,
    elasticity_bounds,
    resolve_kind,
)
from mmm_pipeline.core.features.model_data import FeatureSpec, ModelData
from mmm_pipeline.core.features.stl import stl_decompose
from mmm_pipeline.core.train.errors import InsufficientDataError, require_enough_periods

NODES = [("Audio", "Headphones"), ("Audio", "Speakers"), ("Camera", "Lens")]


def retail_config(**settings) -> DatasetConfig:
    """A daily retailer config (no files are read: tables are built in memory)."""
    raw = {
        "name": "mem_retail", "title": "in memory", "simulated": True, "frequency": "daily",
        "sources": {"main": {"path": "unused.csv", "date": {"column": "d"}, "frequency": "daily"},
                    "media": {"path": "unused.csv", "date": {"column": "d"}, "frequency": "monthly", "kind": "media"}},
        "target": {"name": "gmv", "column": "gmv"},
        "channels": [{"name": "TV", "spend": "TV", "source": "media"},
                     {"name": "SEM", "spend": "SEM", "source": "media"}],
        "brand": [{"name": "nps", "column": "NPS", "kind": "free"}],
        "events": [{"name": "special_sale", "column": "special_sale"}, {"name": "never", "column": "never"}],
        "price": {"list_price": "mrp", "discount": "discount", "units": "units"},
        "hierarchy": {"category": "c", "subcategory": "s"},
    }
    return DatasetConfig(**raw, settings=deep_merge(load_defaults(), settings))


def retail_table(n_days: int = 400, seed: int = 1) -> pd.DataFrame:
    """A modelling table in the contract's layout with known price paths."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2021-01-01", periods=n_days, freq="D")
    t = np.arange(n_days)
    national = pd.DataFrame({"date": dates, "TV": rng.gamma(2.0, 1e5, n_days) * (t % 60 < 40),
                             "SEM": rng.gamma(3.0, 5e4, n_days), "nps": 50 + 3 * np.sin(t / 30.0),
                             "special_sale": (t % 90 < 3).astype(float), "never": 0.0})
    rows = []
    for k, (cat, node) in enumerate(NODES):
        list_price = 1000.0 * (k + 1) * (1 + (0.002 * t if cat == "Camera" else 0.0))
        discount = np.clip(0.2 + 0.05 * rng.standard_normal(n_days), 0, 0.9)
        units = rng.integers(10, 100, n_days).astype(float)
        rows.append(pd.DataFrame({"date": dates, "node": node, "category": cat,
                                  "gmv": units * list_price * (1 - discount), "list_price": list_price,
                                  "discount": discount, "units": units}))
    table = pd.concat(rows).merge(national, on="date").sort_values(["date", "node"]).reset_index(drop=True)
    order = ["date", "node", "category", "gmv", "TV", "SEM", "nps", "list_price", "discount", "units",
             "special_sale", "never"]
    return table[order]


@pytest.fixture(scope="module")
def robyn_data():
    config = load_dataset_config("robyn_weekly")
    loaded = load_dataset(config)
    return config, loaded.table, build_model_data(loaded.table, config)


@pytest.fixture(scope="module")
def retail():
    config = retail_config()
    table = retail_table()
    return config, table, build_feature_frame(table, config), build_model_data(table, config)


def test_media_enter_as_raw_spend_and_target_in_revenue(robyn_data):
    config, table, data = robyn_data
    assert data.X.shape == (208, 1, 15) and data.y.shape == (208, 1)
    assert data.channel_names == config.channel_names
    assert np.array_equal(data.spend, table[config.channel_names].to_numpy())  # no adstock here
    assert np.array_equal(data.y[:, 0], table["revenue"].to_numpy())
    assert data.target_name == "revenue" and data.frequency == "weekly" and data.meta["holdout_periods"] == 13


def test_kinds_and_blocks_follow_yaml_then_keywords(robyn_data):
    _, _, data = robyn_data
    spec = {f.name: f for f in data.features}
    assert spec["newsletter"].kind == "increasing" and spec["newsletter"].block == "marketing"  # YAML kind
    assert spec["competitor_sales"].kind == "free"
    assert spec["holiday_de"].kind == "linear" and spec["events_event1"].kind == "linear"  # keyword / event role
    assert spec["trend"].kind == "free" and spec["trend"].block == "temporal"
    assert {f"year_{f}{k}" for f in ("sin", "cos") for k in (1, 2)} <= set(spec)


def test_longest_keyword_wins_and_yaml_kind_overrides():
    settings = load_defaults()
    assert resolve_kind("cross_price", None, settings, "free") == "increasing"
    assert resolve_kind("avg_price", None, settings, "free") == "decreasing"
    assert resolve_kind("store_distribution", None, settings, "free") == "increasing"
    assert resolve_kind("weather", None, settings, "free") == "free"
    assert resolve_kind("price", "concave", settings, "free") == "concave"


def test_elasticity_bounds_by_name_then_kind():
    settings = deep_merge(load_defaults(), {"model": {"elasticity_bounds": {"discount": [0.0, 2.0]}}})
    assert elasticity_bounds("price", "decreasing", settings) == (-8.0, 0.0)
    assert elasticity_bounds("discount", "increasing", settings) == (0.0, 2.0)
    assert elasticity_bounds("TV", "media", settings) is None


def test_price_features_are_per_node(retail):
    _, table, frame, data = retail
    spec = {f.name: f for f in data.features}
    assert not spec["price"].national and spec["price"].kind == "decreasing"
    assert spec["price"].elasticity_bounds == (-8.0, 0.0)
    assert not spec["discount"].national and spec["discount"].kind == "increasing"
    assert not spec["cross_price"].national and spec["cross_price"].kind == "increasing"
    assert spec["TV"].national and spec["nps"].national
    lens = data.nodes.index("Lens")
    assert np.allclose(data.X[:, lens, data.feature_index("price")], table.loc[table.node == "Lens", "list_price"])
    sell = frame.frame["avg_selling_price"]
    assert np.allclose(sell, table["list_price"] * (1 - table["discount"]))


def test_selling_price_option(retail):
    _, table, _, _ = retail
    data = build_model_data(table, retail_config(features={"price": {"own_price": "selling"}}))
    expected = (table["list_price"] * (1 - table["discount"])).to_numpy().reshape(400, 3)
    assert np.allclose(data.X[:, :, data.feature_index("price")], expected)


def test_cross_price_is_the_other_categories_index_on_a_base_year(retail):
    _, table, frame, data = retail
    cam = table[table.node == "Lens"]
    cam_price = (cam["list_price"] * (1 - cam["discount"])).to_numpy()  # one node: category price
    expected_for_audio = cam_price / cam_price[:365].mean()
    head = data.nodes.index("Headphones")
    assert np.allclose(data.X[:, head, data.feature_index("cross_price")], expected_for_audio)
    assert data.X[-1, head, data.feature_index("cross_price")] > 1.25  # +80% vs day 0, ~+32% vs base year
    lens_cross = data.X[:, data.nodes.index("Lens"), data.feature_index("cross_price")]
    assert abs(lens_cross.mean() - 1.0) < 0.05  # Audio's index barely moves


def test_brand_lags_and_change_in_months(retail):
    _, table, frame, data = retail
    nps = table.loc[table.node == "Lens", "nps"].to_numpy()
    lag = data.X[:, 0, data.feature_index("nps_lag1")]
    assert np.allclose(lag[30:], nps[:-30]) and np.allclose(lag[:30], nps[0])  # 1 month = 30 days
    change = data.X[:, 0, data.feature_index("nps_change3")]
    assert np.allclose(change[91:], nps[91:] - nps[:-91])  # 3 months = 91 days
    same_span = build_feature_frame(table, retail_config(features={"brand": {"change_months": 1}}))
    assert "nps_change1" not in same_span.feature_names and "collinear" in same_span.dropped["nps_change1"]


def test_calendar_terms_weekday_fourier_trend(retail):
    _, table, _, data = retail
    dates = data.dates
    tue = data.X[:, 0, data.feature_index("dow_tue")]
    assert np.array_equal(tue, (dates.dayofweek == 1).astype(float))
    assert "dow_mon" not in data.feature_names  # Monday is the reference
    phase = (dates.dayofyear - 1) / 365.25
    assert np.allclose(data.X[:, 0, data.feature_index("year_cos2")], np.cos(4 * np.pi * phase))
    trend = data.X[:, 0, data.feature_index("trend")]
    assert trend[0] == 0.0 and np.all(np.diff(trend) > 0)


def test_constant_features_are_dropped_and_recorded(retail):
    _, _, frame, data = retail
    assert "never" not in data.feature_names and "never" in data.meta["dropped_features"]
    assert "special_sale" in data.feature_names


def test_festival_season_and_quarter_options(retail):
    _, table, _, _ = retail
    cfg = retail_config(features={"festival_months": [10, 11], "seasonality": {"quarter": True}})
    data = build_model_data(table, cfg)
    fest = data.X[:, 0, data.feature_index("festival_season")]
    assert np.array_equal(fest, data.dates.month.isin([10, 11]).astype(float))
    assert {"quarter_2", "quarter_3", "quarter_4"} <= set(data.feature_names)


def test_reporting_columns_never_reach_the_model(retail):
    _, _, frame, data = retail
    f = frame.frame
    assert set(frame.reporting).isdisjoint(data.feature_names)
    assert np.allclose(f["above_the_line_spend"] + f["below_the_line_spend"], f["total_spend"])
    assert np.allclose(f["above_the_line_spend"], f["TV"])  # TV is above the line, SEM below
    spent = f["total_spend"] > 0
    assert np.allclose((f["sov_TV"] + f["sov_SEM"])[spent], 1.0)
    assert np.allclose(f.groupby(["date", "category"])["price_index"].apply(lambda s: s.size), [2, 1] * 400)


def test_x_matches_the_feature_frame(retail):
    _, _, frame, data = retail
    t, n, k = data.X.shape
    assert (t, n) == (400, 3) and data.node_category == ["Audio", "Camera", "Audio"]
    assert np.array_equal(data.X.reshape(t * n, k), frame.frame[data.feature_names].to_numpy())


def test_stl_parts_add_up_and_short_series_are_refused(robyn_data):
    config, table, _ = robyn_data
    parts = stl_decompose(table, config)
    assert len(parts) == 208
    assert np.allclose(parts["trend"] + parts["seasonal"] + parts["resid"], parts["observed"])
    with pytest.raises(ValueError, match="needs at least 105"):
        stl_decompose(table.iloc[:100], config)


def _tiny(periods: int, channels: int, others: int) -> ModelData:
    specs = [FeatureSpec(f"c{i}", "media", "marketing") for i in range(channels)]
    specs += [FeatureSpec(f"o{i}", "free", "brand") for i in range(others)]
    return ModelData(dates=pd.date_range("2020-01-01", periods=periods, freq="MS"), nodes=["total"],
                     node_category=["total"], X=np.ones((periods, 1, len(specs))), y=np.ones((periods, 1)),
                     features=specs, frequency="monthly", target_name="y", dataset="tiny")


def test_require_enough_periods_counts_channels_and_other_features():
    settings = {"training": {"min_periods_per_parameter": 2.0}}
    require_enough_periods(_tiny(24, 9, 3), settings)  # exactly enough
    with pytest.raises(InsufficientDataError) as err:
        require_enough_periods(_tiny(12, 9, 3), settings)
    msg = str(err.value)
    assert msg.startswith("too few periods (12) for 9 channels + 3 other features: need at least 24")
    assert "What to do" in msg and err.value.needed == 24 and err.value.periods == 12
    with pytest.raises(InsufficientDataError, match="need at least 36"):
        require_enough_periods(_tiny(24, 9, 3), {"training": {"min_periods_per_parameter": 3.0}})


def test_days_around_an_event_get_their_own_flags_per_node(retail):
    _, table, frame, data = retail
    assert {"special_sale_before", "special_sale_after"} <= set(data.feature_names)
    node = frame.frame[frame.frame["node"] == "Lens"].reset_index(drop=True)
    sale = np.flatnonzero(node["special_sale"].to_numpy() > 0)  # days 90-92, 180-182, ...
    assert sale[3] == 90 and sale[5] == 92
    assert list(node["special_sale_before"].iloc[86:93]) == [0, 1, 1, 1, 0, 0, 0]
    assert list(node["special_sale_after"].iloc[90:97]) == [0, 0, 0, 1, 1, 1, 0]
    weekly = retail_config(features={"events": {"pull_forward_days": 3}})
    assert "special_sale_before" not in build_model_data(table, weekly.model_copy(update={"frequency": "weekly"})).feature_names
