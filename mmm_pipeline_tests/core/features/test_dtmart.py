"""DT Mart (real, monthly, read in place from ../shared/data/dtmart): parsed right, then refused.

Skipped when the shared files are absent (they carry no licence and are not shipped).
"""

import numpy as np
import pandas as pd
import pytest

from mmm_pipeline.core.config import load_dataset_config
from mmm_pipeline.core.data.loaders import read_source
from mmm_pipeline.core.data.modeling_table import load_dataset
from mmm_pipeline.core.data.quality import run_quality_checks
from mmm_pipeline.core.features.build import build_model_data
from mmm_pipeline.core.train.errors import InsufficientDataError, require_enough_periods

CONFIG = load_dataset_config("dtmart_monthly")
CATEGORIES = ["Camera", "CameraAccessory", "EntertainmentSmall", "GameCDDVD", "GamingHardware"]
pytestmark = pytest.mark.skipif(not CONFIG.source_path("main").is_file(), reason="DT Mart files not present")


@pytest.fixture(scope="module")
def loaded():
    return load_dataset(CONFIG)


def test_twelve_months_five_categories_sorted(loaded):
    table = loaded.table
    assert table["date"].nunique() == 12 and sorted(table["node"].unique()) == CATEGORIES
    assert table["date"].min() == pd.Timestamp("2015-07-01") and table["date"].max() == pd.Timestamp("2016-06-01")
    assert (table["node"] == table["category"]).all()


def test_wide_secondfile_is_melted_and_matches_its_totals(loaded):
    raw = pd.read_csv(CONFIG.source_path("main"))
    totals = raw.assign(date=pd.to_datetime(raw["Date"])).set_index("date")["total_gmv"].sort_index()
    by_month = loaded.table.groupby("date")["gmv"].sum()
    assert np.allclose(by_month.to_numpy(), totals.to_numpy())
    main = read_source(CONFIG, "main")
    assert list(main.columns) == ["date", "gmv", "units", "mrp", "discount", "category"]  # R index dropped


def test_august_2015_is_a_near_empty_month_and_is_flagged(loaded):
    by_month = loaded.table.groupby("date")["gmv"].sum()
    august = by_month[pd.Timestamp("2015-08-01")]
    assert august < 1e6 and by_month.drop(pd.Timestamp("2015-08-01")).min() > 1e8
    checks = run_quality_checks(CONFIG, loaded.table, loaded.sources, loaded.report.filled_cells)
    flagged = [k for k, v in checks["outliers"].metadata["series"].items() if "2015-08-01" in v["iqr"]]
    assert len(flagged) >= 4  # the collapse shows in (almost) every category


def test_radio_and_other_dark_months_are_zero_filled_and_counted(loaded):
    assert loaded.report.filled_cells == {"media": {"Radio": 9, "Other": 9}}
    per_month = loaded.table.drop_duplicates("date").set_index("date")
    assert (per_month["Radio"] > 0).sum() == 3 and per_month.loc["2016-01-01", "Radio"] == pytest.approx(2.7e7)
    assert per_month.loc["2015-10-01", "Sponsorship"] == pytest.approx(84.7e7)  # crores -> rupees


def test_prices_from_totals(loaded):
    raw = pd.read_csv(CONFIG.source_path("main"))
    oct15 = raw[raw["Date"] == "2015-10-01"].iloc[0]
    cam = loaded.table[(loaded.table["date"] == "2015-10-01") & (loaded.table["node"] == "Camera")].iloc[0]
    assert cam["list_price"] == pytest.approx(oct15["Mrp_Camera"] / oct15["Units_Camera"])
    assert cam["discount"] == pytest.approx(oct15["Discount_Camera"] / oct15["Mrp_Camera"])
    assert cam["discount"] == pytest.approx(1 - oct15["Revenue_Camera"] / oct15["Mrp_Camera"])


def test_quality_checks_pass_where_the_data_is_consistent(loaded):
    checks = run_quality_checks(CONFIG, loaded.table, loaded.sources, loaded.report.filled_cells)
    assert checks["total_consistency"].passed  # channels add up to Total Investment within 0.1-crore rounding
    assert checks["missing_values"].metadata["filled_cells_total"] == 18
    assert checks["date_continuity"].passed and checks["value_bounds"].passed


def test_product_list_total_row_dropped_and_frequency_numeric():
    products = read_source(CONFIG, "products")
    assert len(products) == 74 and "Total" not in set(products["Product"].dropna())
    assert pd.api.types.is_float_dtype(products["Frequency"])
    assert products["Product"].isna().sum() == 1  # the "\N" product is missing data, as configured
    assert products["Frequency"].sum() == pytest.approx(1_648_824, rel=0.01)


def test_special_sale_calendar_and_nps(loaded):
    per_month = loaded.table.drop_duplicates("date").set_index("date")
    assert per_month.loc["2015-07-01", "nps"] == pytest.approx(54.6)
    assert per_month.loc["2015-09-01", "special_sale"] == 0.0 and per_month.loc["2015-11-01", "special_sale"] == 1.0


def test_model_refuses_twelve_months_with_a_clear_message(loaded):
    data = build_model_data(loaded.table, CONFIG)
    assert data.X.shape[:2] == (12, 5) and len(data.channel_names) == 9
    with pytest.raises(InsufficientDataError) as err:
        require_enough_periods(data, CONFIG.settings)
    assert str(err.value).startswith("too few periods (12) for 9 channels + ")
    assert "need at least" in str(err.value) and "What to do" in str(err.value)
