"""Lift-test files: good rows become LiftTests, bad rows are refused naming file, column and line."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from toy_retail import toy_config

from mmm_pipeline.core.config import DatasetConfig, load_dataset_config
from mmm_pipeline.core.data.errors import DataValidationError
from mmm_pipeline.core.data.experiments import Z95, load_lift_tests

DATES = pd.date_range("2016-01-01", "2016-04-30", freq="D")
NODES = ["Headphones", "Speakers", "Lens"]
CATEGORIES = ["Audio", "Audio", "Camera"]
HEADER = "channel,start,end,node,lift,lift_se,spend_multiplier"
GOOD = "TV,2016-02-01,2016-02-28,,-150000,30000,0"


def with_experiments(toy_paths: dict[str, Path], tmp_path: Path, lines: list[str]) -> DatasetConfig:
    path = tmp_path / "experiments.csv"
    path.write_text("\n".join(lines) + "\n")
    return toy_config(toy_paths, sources={"experiments": {"path": str(path), "kind": "experiments"}})


def load(config: DatasetConfig):
    return load_lift_tests(config, DATES, NODES, CATEGORIES)


def refused(config: DatasetConfig) -> DataValidationError:
    with pytest.raises(DataValidationError) as info:
        load(config)
    return info.value


def test_good_rows_become_lift_tests_with_an_interval_read_as_a_standard_error(toy_paths, tmp_path):
    config = with_experiments(toy_paths, tmp_path, [
        "channel,start,end,node,lift,lift_lower,lift_upper,spend_change,note",
        "TV,2016-02-01,2016-02-28,,-150000,-250000,-50000,-1000,geo hold-out",
        "Search,2016-03-01,2016-03-14,Audio,20000,10000,30000,500,",
    ])
    tests = load(config)
    assert tests.channel == ("TV", "Search") and tests.node == (None, "Audio")
    assert tests.se == pytest.approx([200000 / (2 * Z95), 20000 / (2 * Z95)])
    assert tests.change.tolist() == [-1000.0, 500.0] and np.isnan(tests.multiplier).all()
    assert "line 2" in tests.label[0]


def test_a_dataset_without_an_experiments_source_has_no_tests():
    assert load_lift_tests(load_dataset_config("robyn_weekly"), DATES, NODES, CATEGORIES) is None


@pytest.mark.parametrize("row, column, check", [
    ("Tv,2016-03-01,2016-03-28,,-1,1,0", "channel", "experiment_known_channel"),
    ("TV,2015-12-01,2015-12-28,,-1,1,0", "start", "experiment_within_data"),
    ("TV,2016-04-20,2016-05-10,,-1,1,0", "start", "experiment_within_data"),
    ("TV,2016-03-01,2016-03-28,,-1,0,0", "lift_se", "experiment_greater_than"),
    ("TV,2016-03-01,2016-03-28,,-1,-5,0", "lift_se", "experiment_greater_than"),
    ("TV,2016-03-01,2016-03-28,Moon,-1,1,0", "node", "experiment_known_node"),
    ("TV,2016-03-28,2016-03-01,,-1,1,0", "end", "experiment_end_not_before_start"),
    ("TV,2016-03-01,2016-03-28,,-1,1,1", "spend_multiplier", "experiment_changes_spend"),
    ("TV,2016-03-01,2016-03-28,,-1,1,-0.5", "spend_multiplier", "experiment_greater_than_or_equal_to"),
    ("TV,2016-03-01,2016-03-28,,lots,1,0", "lift", "text_in_numeric"),
    ("TV,1 March,2016-03-28,,-1,1,0", "start", "unparseable_date"),
])
def test_a_bad_row_is_refused_naming_file_column_and_line(toy_paths, tmp_path, row, column, check):
    error = refused(with_experiments(toy_paths, tmp_path, [HEADER, GOOD, row]))
    issue = next(i for i in error.issues if i.check == check)
    assert issue.column == column and issue.rows == (3,)
    assert issue.file.endswith("experiments.csv") and issue.fix
    assert "[" not in str(error)  # plain words, no Python list reprs


def test_overlapping_tests_of_one_channel_in_one_node_are_refused_both_lines_named(toy_paths, tmp_path):
    error = refused(with_experiments(toy_paths, tmp_path, [
        HEADER, GOOD,
        "TV,2016-02-20,2016-03-10,Audio,-1,1,0",  # inside the whole-market test's window
        "TV,2016-03-20,2016-03-30,Audio,-1,1,0",
        "TV,2016-03-25,2016-04-05,Camera,-1,1,0",  # another node: no clash
        "Search,2016-02-01,2016-02-28,,-1,1,0",  # another channel: no clash
    ]))
    assert [(i.check, i.rows) for i in error.issues] == [("experiment_no_overlap", (2, 3))]


def test_missing_standard_error_and_spend_change_columns_are_named(toy_paths, tmp_path):
    error = refused(with_experiments(toy_paths, tmp_path, ["channel,start,end,lift", "TV,2016-02-01,2016-02-28,-1"]))
    assert sorted(i.column for i in error.issues) == ["lift_se", "spend_multiplier"]


def test_the_default_dataset_ships_experiments_inside_its_data():
    config = load_dataset_config("retail_daily")
    dates = pd.date_range("2022-07-01", "2025-06-30", freq="D")
    tests = load_lift_tests(config, dates, ["DSLR"], ["Camera"])
    assert len(tests) >= 2 and (tests.se > 0).all() and set(tests.channel) <= set(config.channel_names)
