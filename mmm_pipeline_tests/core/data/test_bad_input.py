"""Bad input fails loudly: the error names the file, the column, the CSV lines and the fix.

Each case is a small broken copy of a real shipped file (Robyn's weekly data). CSV lines count
the header as line 1, so data row ``i`` (0-based) is line ``i + 2``.
"""

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from toy_retail import with_source_path

from mmm_pipeline.core.config import DatasetConfig
from mmm_pipeline.core.data.errors import DataValidationError
from mmm_pipeline.core.data.loaders import read_source
from mmm_pipeline.core.data.modeling_table import load_dataset, prepare_source


def broken_copy(config: DatasetConfig, tmp_path: Path, edit: Callable[[pd.DataFrame], pd.DataFrame],
                source: str = "main") -> DatasetConfig:
    raw = pd.read_csv(config.source_path(source), dtype=str, keep_default_na=False)
    path = tmp_path / f"broken_{source}.csv"
    edit(raw).to_csv(path, index=False)
    return with_source_path(config, source, path)


def failure(config: DatasetConfig, source: str = "main") -> DataValidationError:
    with pytest.raises(DataValidationError) as err:
        prepare_source(config, source)
    return err.value


def only_issue(err: DataValidationError, check: str):
    matching = [i for i in err.issues if i.check == check]
    assert matching, f"no '{check}' issue in: {err}"
    return matching[0]


def set_cell(row: int, column: str, value: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(raw: pd.DataFrame) -> pd.DataFrame:
        raw.loc[row, column] = value
        return raw
    return edit


def test_missing_file_names_path_and_config_key(robyn, tmp_path):
    config = with_source_path(robyn, "main", tmp_path / "dt_simulated_weekly.cvs")
    issue = only_issue(failure(config), "missing_file")
    assert "dt_simulated_weekly.cvs" in issue.file and "sources.main.path" in issue.fix


def test_misspelled_column_suggests_the_closest_name(robyn, tmp_path):
    config = broken_copy(robyn, tmp_path, lambda raw: raw.rename(columns={"tv_S": "tv_Spend"}))
    err = failure(config)
    issue = only_issue(err, "missing_column")
    assert issue.column == "tv_S" and "did you mean 'tv_Spend'" in str(err)
    assert "broken_main.csv" in str(err)


def test_header_with_stray_spaces_is_not_an_error(robyn, tmp_path):
    config = broken_copy(robyn, tmp_path, lambda raw: raw.rename(columns={"tv_S": "  tv_S "}))
    frame, _ = prepare_source(config, "main")
    assert "tv_S" in frame


def test_unparseable_dates_name_the_lines(robyn, tmp_path):
    config = broken_copy(robyn, tmp_path, set_cell(4, "DATE", "2016-13-45"))
    issue = only_issue(failure(config), "unparseable_date")
    assert issue.column == "DATE" and issue.rows == (6,) and "'2016-13-45'" in issue.describe()
    assert "%Y-%m-%d" in issue.problem


def test_text_in_numeric_column(robyn, tmp_path):
    config = broken_copy(robyn, tmp_path, set_cell(8, "revenue", "n/a - store closed"))
    issue = only_issue(failure(config), "text_in_numeric")
    assert issue.column == "revenue" and issue.rows == (10,) and "store closed" in issue.describe()


def test_thousands_separator_without_config_gets_a_hint(robyn, tmp_path):
    config = broken_copy(robyn, tmp_path, set_cell(0, "competitor_sales_B", "8,125,009"))
    issue = only_issue(failure(config), "text_in_numeric")
    assert "thousands" in issue.fix


def test_negative_spend(robyn, tmp_path):
    config = broken_copy(robyn, tmp_path, set_cell(5, "tv_S", "-120.5"))
    issue = only_issue(failure(config), "negative_values")
    assert issue.column == "tv_S" and issue.rows == (7,) and "-120.5" in issue.describe()


def test_missing_spend_is_rejected_with_the_fill_option(robyn, tmp_path):
    config = broken_copy(robyn, tmp_path, set_cell(3, "ooh_S", ""))
    issue = only_issue(failure(config), "missing_values")
    assert issue.column == "ooh_S" and issue.rows == (5,)
    assert "fill: zero" in issue.fix and "channel 'ooh'" in issue.fix


def test_duplicate_dates(robyn, tmp_path):
    config = broken_copy(robyn, tmp_path, lambda raw: pd.concat([raw, raw.iloc[[10]]], ignore_index=True))
    issue = only_issue(failure(config), "duplicate_dates")
    assert issue.rows == (12, 210) and "2016-02-01" in issue.describe()


def test_gaps_in_dates_list_the_missing_periods(robyn, tmp_path):
    config = broken_copy(robyn, tmp_path, lambda raw: raw.drop(index=[20, 21]))
    issue = only_issue(failure(config), "date_gaps")
    assert "2 weekly period(s) missing" in issue.problem
    assert "2016-04-11" in issue.problem and "2016-04-18" in issue.problem
    assert issue.rows == (22,)  # the first row after the gap, as numbered in the broken file


def test_empty_file_and_header_only_file(robyn, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert only_issue(failure(with_source_path(robyn, "main", empty)), "empty_file").problem == "file is empty"
    config = broken_copy(robyn, tmp_path, lambda raw: raw.iloc[:0])
    assert "no data rows" in only_issue(failure(config), "empty_file").problem


def test_channel_that_is_all_zeros(robyn, tmp_path):
    def zero_print(raw: pd.DataFrame) -> pd.DataFrame:
        raw["print_S"] = "0"
        return raw
    issue = only_issue(failure(broken_copy(robyn, tmp_path, zero_print)), "all_zero_channel")
    assert issue.column == "print_S" and "cannot be measured" in issue.fix


def test_all_problems_are_reported_at_once(robyn, tmp_path):
    def many(raw: pd.DataFrame) -> pd.DataFrame:
        raw.loc[2, "tv_S"] = "-1"
        raw.loc[3, "search_S"] = ""
        return pd.concat([raw, raw.iloc[[7]]], ignore_index=True)
    err = failure(broken_copy(robyn, tmp_path, many))
    assert {"negative_values", "missing_values", "duplicate_dates"} <= set(err.checks)
    assert str(err).startswith("3 problems in the input data")


def test_every_source_is_checked_before_failing(toy_paths, tmp_path):
    from toy_retail import toy_config

    toy_paths["nps"].write_text(toy_paths["nps"].read_text().replace("2/1/2016", "Feb 2016"))
    toy_paths["special_sale"].unlink()
    with pytest.raises(DataValidationError) as err:
        load_dataset(toy_config(toy_paths))
    assert {"unparseable_date", "missing_file"} <= set(err.value.checks)


def test_media_that_does_not_cover_the_sales_dates(toy_paths):
    from toy_retail import toy_config

    lines = toy_paths["media"].read_bytes().decode().splitlines()
    toy_paths["media"].write_text("\n".join(line for line in lines if not line.startswith("2016,4,")) + "\n")
    with pytest.raises(DataValidationError) as err:
        load_dataset(toy_config(toy_paths))
    issue = only_issue(err.value, "coverage")
    assert "covers 2016-01-01..2016-03-31" in issue.problem
    assert "30 modelling period(s)" in issue.problem and "2016-04-01" in issue.problem
    assert "window" in issue.fix


# --- the file as text: encodings, ragged rows, repeated headers, harmless variants ---------------

def bytes_copy(config: DatasetConfig, tmp_path: Path, edit: Callable[[bytes], bytes]) -> DatasetConfig:
    """``main`` read from a copy of its file with ``edit`` applied to the raw bytes."""
    path = tmp_path / "edited_main.csv"
    path.write_bytes(edit(config.source_path("main").read_bytes()))
    return with_source_path(config, "main", path)


def on_line(line: int, edit: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    """Apply ``edit`` to one line of the file (header = line 1)."""
    def apply(data: bytes) -> bytes:
        lines = data.split(b"\n")
        lines[line - 1] = edit(lines[line - 1])
        return b"\n".join(lines)
    return apply


def test_row_with_an_extra_field_names_line_and_field_counts(robyn, tmp_path):
    err = failure(bytes_copy(robyn, tmp_path, on_line(10, lambda b: b + b",17")))
    issue = only_issue(err, "ragged_rows")
    assert issue.rows == (10,) and "1 row(s) have 13 fields where the header has 12" in issue.problem
    assert "edited_main.csv" in str(err) and "quotes" in issue.fix


def test_line_cut_short_is_refused_not_padded_with_blanks(robyn, tmp_path):
    issue = only_issue(failure(bytes_copy(robyn, tmp_path, on_line(7, lambda b: b[:b.index(b",", 20)]))), "ragged_rows")
    assert issue.rows == (7,) and "have 2 fields where the header has 12" in issue.problem


def test_header_missing_a_name_is_told_apart_from_ragged_rows(robyn, tmp_path):
    def extra_everywhere(data: bytes) -> bytes:
        header, *rows = data.rstrip(b"\n").split(b"\n")
        return b"\n".join([header] + [row + b",0" for row in rows]) + b"\n"
    issue = only_issue(failure(bytes_copy(robyn, tmp_path, extra_everywhere)), "ragged_rows")
    assert issue.rows == (1,) and "header (line 1) has 12 fields but every row has 13" in issue.problem


def test_undecodable_byte_names_line_likely_encoding_and_the_setting(robyn, tmp_path):
    fete = on_line(5, lambda b: b.replace(b'"na"', "Fête".encode("cp1252")))
    issue = only_issue(failure(bytes_copy(robyn, tmp_path, fete)), "bad_encoding")
    assert issue.rows == (5,) and "0xea" in issue.problem and "Windows-1252" in issue.problem
    assert "'ê'" in issue.problem
    assert "`encoding: cp1252`" in issue.fix and "sources.main" in issue.fix and "robyn_weekly.yaml" in issue.fix


def test_encoding_setting_reads_a_windows_file(robyn, tmp_path):
    config = bytes_copy(robyn, tmp_path, on_line(5, lambda b: b.replace(b'"na"', "Fête".encode("cp1252"))))
    sources = dict(config.sources)
    sources["main"] = sources["main"].model_copy(update={"encoding": "cp1252"})
    frame = read_source(config.model_copy(update={"sources": sources}), "main")
    assert frame.loc[5, "events"] == "Fête"


def test_repeated_header_is_refused_naming_both_positions(robyn, tmp_path):
    err = failure(bytes_copy(robyn, tmp_path, on_line(1, lambda b: b.replace(b'"ooh_S"', b'"tv_S"'))))
    issue = only_issue(err, "duplicate_column")
    assert issue.column == "tv_S" and "columns 3 and 4" in issue.problem and "tv_S.1" not in str(err)


def test_unclosed_quote_names_the_line_it_opened_on(robyn, tmp_path):
    issue = only_issue(failure(bytes_copy(robyn, tmp_path, on_line(20, lambda b: b.replace(b'"na"', b'"na')))),
                       "unreadable_csv")
    assert issue.rows == (20,) and "never closed" in issue.problem


HARMLESS = {
    "utf-8 byte-order mark": lambda data: b"\xef\xbb\xbf" + data,
    "windows line endings": lambda data: data.replace(b"\n", b"\r\n"),
    "spaces around header names": on_line(1, lambda b: b.replace(b'"revenue"', b' "revenue"  ').replace(b'"DATE"', b'" DATE "')),
    "trailing empty lines": lambda data: data + b"\n\n",
}


@pytest.mark.parametrize("variant", HARMLESS)
def test_harmless_variants_load_exactly_like_the_original(robyn, tmp_path, variant):
    expected = read_source(robyn, "main")
    pd.testing.assert_frame_equal(read_source(bytes_copy(robyn, tmp_path, HARMLESS[variant]), "main"), expected)


# --- property: a mangled file loads exactly like the original or fails naming the file ----------

BREAKING = ("drop a delimiter", "double a delimiter", "insert a non-UTF-8 byte", "cut a line short")
HARMLESS_KINDS = ("byte-order mark", "windows line endings", "spaces around a header name", "trailing empty line")


def mangle(good: bytes, breaking: tuple[str, int, int, int] | None, harmless: set[str]) -> bytes:
    """``good`` (an unquoted CSV) with at most one breaking edit and any of the harmless ones."""
    lines = good.rstrip(b"\n").split(b"\n")
    if breaking is not None:
        kind, line_pick, position_pick, byte = breaking
        i = line_pick % len(lines)
        line = lines[i]
        comma = [k for k, c in enumerate(line) if c == ord(",")][position_pick % line.count(b",")]
        lines[i] = {
            "drop a delimiter": line[:comma] + line[comma + 1:],
            "double a delimiter": line[:comma] + b"," + line[comma:],
            "insert a non-UTF-8 byte": line[:comma] + bytes([byte]) + line[comma:],
            "cut a line short": line[:comma],
        }[kind]
    if "spaces around a header name" in harmless:
        names = lines[0].split(b",")
        names[len(names) // 2] = b"  " + names[len(names) // 2] + b" "
        lines[0] = b",".join(names)
    eol = b"\r\n" if "windows line endings" in harmless else b"\n"
    text = eol.join(lines) + eol + (eol if "trailing empty line" in harmless else b"")
    return (b"\xef\xbb\xbf" if "byte-order mark" in harmless else b"") + text


@pytest.fixture(scope="module")
def unquoted_robyn(robyn, tmp_path_factory) -> tuple[DatasetConfig, bytes, pd.DataFrame]:
    """Robyn's main file rewritten without quotes, its config and what the loader makes of it."""
    path = tmp_path_factory.mktemp("good") / "good_main.csv"
    pd.read_csv(robyn.source_path("main"), dtype=str, keep_default_na=False).to_csv(path, index=False)
    config = with_source_path(robyn, "main", path)
    return config, path.read_bytes(), read_source(config, "main")


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(breaking=st.none() | st.tuples(st.sampled_from(BREAKING), st.integers(0, 10_000), st.integers(0, 100),
                                      st.integers(0x80, 0xFF)),
       harmless=st.sets(st.sampled_from(HARMLESS_KINDS)))
def test_mangled_file_loads_identically_or_fails_naming_the_file(unquoted_robyn, tmp_path, breaking, harmless):
    config, good, expected = unquoted_robyn
    path = tmp_path / "mangled_main.csv"
    path.write_bytes(mangle(good, breaking, harmless))
    mangled = with_source_path(config, "main", path)
    if breaking is None:
        pd.testing.assert_frame_equal(read_source(mangled, "main"), expected)
        return
    with pytest.raises(DataValidationError) as err:
        read_source(mangled, "main")
    assert "mangled_main.csv" in str(err.value)
