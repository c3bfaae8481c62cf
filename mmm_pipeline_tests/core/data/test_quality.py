"""Quality checks return structured results that pass on clean data and catch each defect."""

import json

import numpy as np
import pandas as pd
import pytest
from toy_retail import toy_config

from mmm_pipeline.core.data.describe import describe_frame
from mmm_pipeline.core.data.modeling_table import load_dataset
from mmm_pipeline.core.data.quality import (
    QUALITY_CHECKS,
    check_date_continuity,
    check_duplicates,
    check_missing_values,
    check_outliers,
    check_total_consistency,
    check_value_bounds,
    run_quality_checks,
)


def test_clean_toy_dataset_passes_the_hard_checks(toy_loaded):
    cfg, table = toy_loaded.config, toy_loaded.table
    results = run_quality_checks(cfg, table, toy_loaded.sources, toy_loaded.report.filled_cells)
    assert tuple(results) == QUALITY_CHECKS
    for name in ("date_continuity", "duplicates", "value_bounds", "total_consistency", "missing_values"):
        assert results[name].passed, results[name].message
    assert results["missing_values"].metadata["filled_cells"] == {"media": {"Radio": 2}}
    assert results["date_continuity"].metadata["periods"] == 121
    json.dumps({k: r.metadata for k, r in results.items()})  # plain values only: asset metadata


def test_continuity_and_duplicates_catch_defects(toy_loaded):
    table = toy_loaded.table
    gap = table[table["date"] != pd.Timestamp("2016-02-02")]
    result = check_date_continuity(gap, "daily")
    assert not result.passed and result.severity == "ERROR"
    assert result.metadata["missing_by_node"]["Lens"] == ["2016-02-02"]
    dup = check_duplicates(pd.concat([table, table.iloc[[5]]]))
    assert not dup.passed and dup.metadata["duplicate_rows"] == 2


def test_value_bounds_report_each_column(toy_loaded):
    table = toy_loaded.table.copy()
    table.loc[3, "discount"] = 1.4
    table.loc[7, "TV"] = -5.0
    result = check_value_bounds(table, toy_loaded.config)
    assert not result.passed and set(result.metadata["violations"]) == {"discount", "TV"}
    assert result.metadata["violations"]["discount"]["max"] == pytest.approx(1.4)


def test_total_investment_consistency_within_rounding(toy_loaded):
    cfg = toy_loaded.config
    media = toy_loaded.sources["media"]
    ok = check_total_consistency(cfg, {"media": media})
    assert ok.passed and ok.metadata["totals"]["media.Total Investment"]["rounding_unit"] == pytest.approx(1e6)
    off = media.copy()
    off.loc[off["date"] == pd.Timestamp("2016-03-01"), "Total Investment"] += 2.0e7  # 2 crore too much
    bad = check_total_consistency(cfg, {"media": off})
    assert not bad.passed and bad.severity == "WARN"
    assert bad.metadata["totals"]["media.Total Investment"]["dates_off"] == ["2016-03-01"]


def test_outliers_flag_an_injected_spike_and_a_sales_collapse(robyn_loaded):
    cfg, table = robyn_loaded.config, robyn_loaded.table.copy()
    spike_at = table.index[120]
    table.loc[spike_at, "search"] = table["search"].max() * 20
    table.loc[table.index[60], "revenue"] = table["revenue"].median() / 500
    result = check_outliers(table, cfg)
    spike_date = str(table.loc[spike_at, "date"].date())
    assert spike_date in result.metadata["series"]["search"]["iqr"]
    assert spike_date in result.metadata["series"]["search"]["rolling_z"]
    collapse = str(table.loc[table.index[60], "date"].date())
    assert collapse in result.metadata["series"]["revenue[total]"]["iqr"]
    assert not result.passed and result.severity == "WARN"


def test_missing_values_check_counts_fills_and_catches_blanks(toy_loaded):
    table = toy_loaded.table.copy()
    assert check_missing_values(table, {"media": {"Radio": 2}}).metadata["filled_cells_total"] == 2
    table.loc[0, "nps"] = np.nan
    result = check_missing_values(table, {})
    assert not result.passed and result.metadata["blank_cells"] == {"nps": 1}


def test_fill_rules_are_applied_and_counted(toy_paths):
    text = toy_paths["nps"].read_text().replace("54.0", "")
    toy_paths["nps"].write_text(text)
    loaded = load_dataset(toy_config(toy_paths, fill=[{"column": "NPS", "source": "nps", "rule": "interpolate"}]))
    assert loaded.report.filled_cells["nps"] == {"NPS": 1}
    feb = loaded.sources["nps"].set_index("date")["NPS"][pd.Timestamp("2016-02-01")]
    assert feb == pytest.approx((50.0 + 46.0) / 2)


def test_describe_frame_summarises_any_table(toy_loaded):
    meta = describe_frame(toy_loaded.table)
    assert meta["row_count"] == 363 and meta["date_start"] == "2016-01-01" and meta["date_end"] == "2016-04-30"
    by_col = {c["column"]: c for c in meta["columns"]}
    assert by_col["Radio"]["zero_share"] > 0 and by_col["node"]["unique"] == 3
    assert meta["preview_markdown"].startswith("| date | node | category | gmv |")
    json.dumps(meta)


def test_rolling_z_ignores_spikes_on_event_days(toy_loaded):
    table = toy_loaded.table.copy()
    for day in ("2016-01-15", "2016-02-20"):  # a sale day and an ordinary day
        at = (table["date"] == pd.Timestamp(day)) & (table["node"] == "Lens")
        table.loc[at, "gmv"] *= 50
    spikes = check_outliers(table, toy_loaded.config).metadata["series"]["gmv[Lens]"]["rolling_z"]
    assert "2016-02-20" in spikes and "2016-01-15" not in spikes
