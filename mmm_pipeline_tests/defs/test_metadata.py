"""Dagster metadata reads like a report: rounded numbers, amounts with separators, lists in words."""

import math

import numpy as np
import pandas as pd

from mmm_pipeline.defs.metadata import plain, readable, table


def test_numbers_are_rounded_to_what_a_person_reads():
    assert readable(0.9488344396550596) == 0.949
    assert readable(-1.23456) == -1.23
    assert readable(0.000123456) == 0.000123
    assert readable(1234567.89) == "1,234,568"
    assert readable({"r2": np.float64(0.91234), "counts": [np.int64(12345)], "nan": math.nan}) == \
        {"r2": 0.912, "counts": [12345], "nan": None}


def test_plain_keeps_full_precision_for_the_result_files():
    assert plain(0.9488344396550596) == 0.9488344396550596


def test_table_rounds_floats_and_writes_amounts_and_lists_as_text():
    frame = pd.DataFrame({"channel": ["TV", "Radio"], "r2": [0.9488344396550596, np.nan],
                          "spend": [1234567.89, 12.5], "folds": [3, 4], "held": [["TV", "Radio", "SEM"], []]})
    shown = table(frame)
    kinds = {c.name: c.type for c in shown.schema.columns}
    assert kinds == {"channel": "string", "r2": "float", "spend": "string", "folds": "int", "held": "string"}
    first, second = (r.data for r in shown.records)
    assert first == {"channel": "TV", "r2": 0.949, "spend": "1,234,568", "folds": 3, "held": "TV, Radio and SEM"}
    assert second["r2"] is None and second["spend"] == "12.5" and second["held"] == ""
