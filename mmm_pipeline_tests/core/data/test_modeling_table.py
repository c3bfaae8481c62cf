"""The modelling table: frequencies aligned, hierarchy aggregated, events as flags, contract kept."""

import numpy as np
import pandas as pd
import pytest
from toy_retail import NPS, SEARCH_CRORE, TV_CRORE, toy_config, toy_sales

from mmm_pipeline.core.data.errors import DataValidationError
from mmm_pipeline.core.data.loaders import read_source
from mmm_pipeline.core.data.modeling_table import load_dataset
from mmm_pipeline.core.data.schemas import validate_modeling_table


def row(table: pd.DataFrame, date: str, node: str) -> pd.Series:
    picked = table[(table["date"] == pd.Timestamp(date)) & (table["node"] == node)]
    assert len(picked) == 1
    return picked.iloc[0]


def test_daily_table_follows_the_contract(toy_loaded):
    table = toy_loaded.table
    assert list(table.columns[:4]) == ["date", "node", "category", "gmv"]
    assert {"TV", "Search", "Radio", "nps", "list_price", "discount", "units", "special_sale"} <= set(table.columns)
    assert len(table) == 121 * 3 and table["node"].unique().tolist() == ["Headphones", "Lens", "Speakers"]
    assert table[["date", "node"]].apply(tuple, axis=1).is_monotonic_increasing
    assert row(table, "2016-02-03", "Lens")["category"] == "Camera"


def test_monthly_media_is_spread_by_days_and_totals_are_kept(toy_loaded):
    table = toy_loaded.table
    assert row(table, "2016-01-05", "Lens")["TV"] == pytest.approx(3.1e7 / 31)
    assert row(table, "2016-02-05", "Lens")["Search"] == pytest.approx(2.0e7 / 29)  # leap year February
    per_day = table.drop_duplicates("date").set_index("date")
    monthly = per_day[["TV", "Search"]].resample("MS").sum()
    assert monthly["TV"].to_numpy() == pytest.approx(np.array(TV_CRORE) * 1e7)
    assert monthly["Search"].to_numpy() == pytest.approx(np.array(SEARCH_CRORE) * 1e7)
    assert (table["TV"] == table.groupby("date")["TV"].transform("first")).all()  # same for every node


def test_blank_dark_months_are_zero_and_counted(toy_loaded):
    assert row(toy_loaded.table, "2016-01-20", "Lens")["Radio"] == 0.0
    assert row(toy_loaded.table, "2016-02-20", "Lens")["Radio"] == pytest.approx(0.5e7 / 29)
    assert toy_loaded.report.filled_cells == {"media": {"Radio": 2}}


def test_monthly_nps_is_interpolated_through_mid_month(toy_loaded):
    table = toy_loaded.table
    assert row(table, "2016-01-16", "Lens")["nps"] == pytest.approx(NPS[0])
    assert row(table, "2016-02-15", "Lens")["nps"] == pytest.approx(NPS[1])
    between = row(table, "2016-02-01", "Lens")["nps"]
    assert NPS[0] < between < NPS[1]
    assert row(table, "2016-01-02", "Lens")["nps"] == pytest.approx(NPS[0])  # held flat at the ends


def test_nps_can_be_held_constant_within_its_month(toy_paths):
    table = load_dataset(toy_config(toy_paths, settings={"features": {"level_alignment": "hold"}})).table
    feb = table[(table["date"].dt.month == 2)]["nps"]
    assert (feb == NPS[1]).all()


def test_sale_days_become_flags_with_optional_window(toy_loaded, toy_paths):
    table = toy_loaded.table
    flagged = sorted(str(d.date()) for d in table.loc[table["special_sale"] == 1, "date"].unique())
    assert flagged == ["2016-01-15", "2016-01-16", "2016-03-10"]
    wide = load_dataset(toy_config(toy_paths, events=[{"name": "special_sale", "source": "special_sale",
                                                       "window_days": 2}])).table
    assert wide.loc[wide["special_sale"] == 1, "date"].nunique() == 7


def test_node_rows_match_the_raw_daily_sales(toy_loaded):
    raw = toy_sales()
    raw = raw[(raw["order_date"] == "2016-03-07") & (raw["product_subcategory"] == "Speakers")].iloc[0]
    got = row(toy_loaded.table, "2016-03-07", "Speakers")
    assert got["gmv"] == pytest.approx(raw["gmv"]) and got["units"] == raw["units"]
    assert got["list_price"] == pytest.approx(raw["mrp"]) and got["discount"] == pytest.approx(raw["discount"])


def test_category_level_sums_and_value_weighted_prices(toy_paths):
    table = load_dataset(toy_config(toy_paths, hierarchy={"level": "category"})).table
    assert table["node"].unique().tolist() == ["Audio", "Camera"]
    raw = toy_sales()
    day = raw[(raw["order_date"] == "2016-02-10") & (raw["product_category"] == "Audio")]
    list_value = day["mrp"] * day["units"]
    got = row(table, "2016-02-10", "Audio")
    assert got["gmv"] == pytest.approx(day["gmv"].sum())
    assert got["units"] == day["units"].sum()
    assert got["list_price"] == pytest.approx(list_value.sum() / day["units"].sum())
    assert got["discount"] == pytest.approx((day["discount"] * list_value).sum() / list_value.sum())


def test_day_without_sales_keeps_a_price(toy_paths):
    sales = pd.read_csv(toy_paths["main"])
    dead = (sales["order_date"] == "2016-03-02") & (sales["product_subcategory"] == "Lens")
    sales.loc[dead, ["units", "gmv"]] = 0
    sales.to_csv(toy_paths["main"], index=False)
    loaded = load_dataset(toy_config(toy_paths))
    got, before = row(loaded.table, "2016-03-02", "Lens"), row(loaded.table, "2016-03-01", "Lens")
    assert got["units"] == 0 and got["list_price"] == pytest.approx(sales.loc[dead, "mrp"].iloc[0])
    assert got["discount"] == pytest.approx(before["discount"])  # no value sold: carried from the day before
    assert loaded.report.price_filled_cells == 1


def test_weekly_table_from_daily_sales_drops_partial_edge_weeks(toy_paths):
    loaded = load_dataset(toy_config(toy_paths, frequency="weekly"))
    table, report = loaded.table, loaded.report
    assert report.dropped_periods == ["2015-12-28", "2016-04-25"]  # 2016-01-01 is a Friday
    assert table["date"].dt.dayofweek.eq(0).all() and table["date"].nunique() == 16
    assert row(table, "2016-01-04", "Lens")["TV"] == pytest.approx(7 * 3.1e7 / 31)
    assert row(table, "2016-02-29", "Lens")["TV"] == pytest.approx(6.2e7 / 29)  # 1 day Feb + 6 dark March days
    raw = toy_sales()
    week = raw[(raw["order_date"] >= "2016-01-11") & (raw["order_date"] <= "2016-01-17")
               & (raw["product_subcategory"] == "Lens")]
    assert row(table, "2016-01-11", "Lens")["gmv"] == pytest.approx(week["gmv"].sum())
    assert row(table, "2016-01-11", "Lens")["special_sale"] == 1.0


def test_window_restricts_the_periods(toy_paths):
    loaded = load_dataset(toy_config(toy_paths, window={"start": "2016-02-01", "end": "2016-03-31"}))
    assert loaded.table["date"].nunique() == 60 and loaded.report.notes


def test_robyn_events_holidays_and_contract(robyn, robyn_loaded):
    table = robyn_loaded.table
    assert table.shape == (208, 14)
    assert (table["node"] == "total").all() and (table["category"] == "total").all()
    assert table.loc[table["events_event1"] == 1, "date"].tolist() == [pd.Timestamp("2018-05-21")]
    assert table.loc[table["events_event2"] == 1, "date"].tolist() == [pd.Timestamp("2019-04-22")]
    weeks = table.set_index("date")["holiday_de"]
    assert weeks[pd.Timestamp("2015-12-21")] == 1 and weeks[pd.Timestamp("2015-11-30")] == 0  # Christmas week
    raw = read_source(robyn, "main")
    assert table["tv"].to_numpy() == pytest.approx(raw["tv_S"].to_numpy())
    assert table["competitor_sales"].to_numpy() == pytest.approx(raw["competitor_sales_B"].to_numpy())


def test_pymc_table_equals_the_file(pymc):
    table = load_dataset(pymc).table
    raw = pd.read_csv(pymc.source_path("main"))
    assert table.shape == (179, 8)
    assert table["y"].to_numpy() == pytest.approx(raw["y"].to_numpy())
    assert table.loc[table["event_2"] == 1, "date"].tolist() == [pd.Timestamp("2020-09-14")]


def test_winsorize_spend_clips_to_percentiles(robyn, robyn_loaded):
    loaded = load_dataset(robyn.model_copy(update={"winsorize_spend": True}))
    plain = robyn_loaded.table
    assert loaded.report.winsorized_cells["tv"] >= 1
    assert loaded.table["tv"].max() == pytest.approx(plain["tv"].quantile(0.99))
    assert loaded.table["tv"].max() < plain["tv"].max()


def test_modelling_table_schema_rejects_a_missing_period_and_blanks(robyn, robyn_loaded):
    table = robyn_loaded.table
    with pytest.raises(DataValidationError) as err:
        validate_modeling_table(robyn, table.drop(index=[50]))
    assert "date_gaps" in err.value.checks and "2016-11-07" in str(err.value)
    broken = table.copy()
    broken.loc[3, "ooh"] = np.nan
    with pytest.raises(DataValidationError) as err:
        validate_modeling_table(robyn, broken)
    assert err.value.issues[0].check == "missing_values" and "2015-12-14/total" in str(err.value)
