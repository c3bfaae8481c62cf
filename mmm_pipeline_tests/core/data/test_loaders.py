"""read_source: real-world mess described in YAML comes out as a typed, sorted frame."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from toy_retail import MONTHS, RADIO_CRORE, TV_CRORE, toy_config, toy_sales, with_source_path

from mmm_pipeline.core.data.errors import DataValidationError
from mmm_pipeline.core.data.loaders import DATE, read_source, suggest


def test_robyn_main_is_typed_sorted_and_keeps_csv_lines(robyn):
    frame = read_source(robyn, "main")
    assert frame.shape == (208, 12)
    assert frame.columns[0] == DATE and "DATE" not in frame
    assert frame[DATE].is_monotonic_increasing and frame[DATE].dt.dayofweek.eq(0).all()
    assert frame.index[0] == 2 and frame.index.name == "csv_line"  # header is line 1
    assert frame["tv_S"].dtype == float
    assert set(frame["events"]) == {"na", "event1", "event2"}  # "na" is a label here, not missing


def test_calendar_filter_keeps_only_matching_rows(robyn):
    frame = read_source(robyn, "holidays")
    assert len(frame) == 451 and set(frame["country"]) == {"DE"}
    assert pd.Timestamp("2016-12-25") in set(frame[DATE])


def test_messy_media_file_crlf_padded_headers_blanks_year_month(toy):
    frame = read_source(toy, "media")
    assert list(frame.columns) == [DATE, "Total Investment", "TV", "Search", "Radio"]  # spaces stripped
    assert list(frame[DATE]) == list(MONTHS)  # year+month -> 1st of month, rows re-sorted
    assert frame["TV"].tolist() == pytest.approx([v * 1e7 for v in TV_CRORE])  # crores -> rupees
    assert frame["Radio"].isna().tolist() == [v is None for v in RADIO_CRORE]  # blank stays missing
    assert frame.loc[frame[DATE] == MONTHS[0]].index[0] == 4  # January was written on line 4


def test_out_of_order_daily_rows_are_sorted_by_date_and_hierarchy(toy):
    frame = read_source(toy, "main")
    assert len(frame) == len(toy_sales())
    keys = frame[[DATE, "product_category", "product_subcategory"]].apply(tuple, axis=1)
    assert keys.is_monotonic_increasing
    assert frame["mrp"].dtype == float and frame["product_category"].dtype == object


def test_month_day_year_dates(toy):
    frame = read_source(toy, "nps")
    assert list(frame[DATE]) == list(MONTHS)


def test_thousands_separator_and_configured_missing_token(tmp_path, pymc):
    raw = pd.read_csv(Path(pymc.source_path("main")))
    raw["y"] = raw["y"].map(lambda v: f"{v * 1000:,.2f}")
    path = tmp_path / "mmm.csv"
    raw.to_csv(path, index=False)
    sources = dict(pymc.sources)
    sources["main"] = sources["main"].model_copy(update={"path": str(path), "thousands": ","})
    frame = read_source(pymc.model_copy(update={"sources": sources}), "main")
    assert frame["y"].iloc[0] == pytest.approx(3984662.24, abs=0.01)


def test_backslash_n_is_missing_only_where_configured(tmp_path, toy_paths):
    text = toy_paths["nps"].read_text().replace("54.0", "\\N")
    toy_paths["nps"].write_text(text)
    plain = toy_config(toy_paths)
    with pytest.raises(DataValidationError) as err:
        read_source(plain, "nps")
    assert err.value.issues[0].check == "text_in_numeric" and "na_values" in str(err.value)
    configured = toy_config(toy_paths, sources={"nps": {"na_values": ["\\N"]}})
    frame = read_source(configured, "nps")
    assert frame["NPS"].isna().sum() == 1


def test_unnamed_r_index_column_is_dropped(tmp_path, pymc):
    raw = pd.read_csv(Path(pymc.source_path("main")))
    raw.index = np.arange(1, len(raw) + 1)
    path = tmp_path / "indexed.csv"
    raw.to_csv(path, index=True, index_label="")  # R's write.csv: "" header over 1..n
    frame = read_source(with_source_path(pymc, "main", path), "main")
    assert list(frame.columns) == [DATE, "y", "x1", "x2", "event_1", "event_2"]


def test_suggest_matches_case_spacing_and_typos():
    assert suggest("Total Investment", ["Total.Investment", "TV"]) == " (did you mean 'Total.Investment'?)"
    assert suggest("tv_S", ["tv_s", "ooh_S"]) == " (did you mean 'tv_s'?)"
    assert suggest("zzz", ["TV"]) == ""
