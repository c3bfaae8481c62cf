"""Pandera failure cases -> :class:`DataIssue` s a person can act on.

pandera reports (column, check, failing value, index); this adds what the check means for this
column's role and what would fix it, and lists missing periods for gaps rather than the row after.
"""

import pandas as pd

from mmm_pipeline.core.config import DatasetConfig
from mmm_pipeline.core.data import periods
from mmm_pipeline.core.data.columns import ColumnUse
from mmm_pipeline.core.data.errors import DataIssue, display_path
from mmm_pipeline.core.data.loaders import DATE


def failure_issues(failures: pd.DataFrame, frame: pd.DataFrame, config: DatasetConfig, where: str,
            uses: dict[str, ColumnUse], keys: list[str], frequency: str | None, csv: bool) -> list[DataIssue]:
    """Turn pandera failure cases into one issue per (column, check), with a fix for each."""
    issues: list[DataIssue] = []
    frame_checks = failures["schema_context"].eq("DataFrameSchema")
    for check, group in failures[frame_checks].groupby("check", sort=False):
        issues.append(_frame_issue(str(check), group, frame, config, where, keys, frequency, csv))
    for (column, check), group in failures[~frame_checks].groupby(["column", "check"], sort=False, dropna=False):
        issues.append(_column_issue(str(column), str(check), group, frame, config, where, uses.get(column), csv))
    return issues


def _locate(group: pd.DataFrame, frame: pd.DataFrame, csv: bool) -> tuple[tuple[int, ...], tuple[str, ...]]:
    idx = [i for i in group["index"].dropna().tolist()]
    if csv:
        return tuple(sorted({int(i) for i in idx})), ()
    labels = []
    for i in dict.fromkeys(idx):
        if i in frame.index:
            row = frame.loc[i]
            labels.append(f"{pd.Timestamp(row[DATE]).date()}/{row['node']}" if "node" in frame else str(i))
    return (), tuple(labels)


def _column_issue(column: str, check: str, group: pd.DataFrame, frame: pd.DataFrame, config: DatasetConfig,
                  where: str, use: ColumnUse | None, csv: bool) -> DataIssue:
    rows, labels = _locate(group, frame, csv)
    values = tuple(repr(v) for v in group["failure_case"].head(5)) if not labels else labels
    yaml = display_path(config.config_path) if config.config_path else "the dataset YAML"
    role = use.role if use else ""
    n = len(group)
    if check == "not_nullable":
        if role == "spend":
            fix = (f"enter the spend (0 if nothing was spent), or, if blank means the channel was dark, "
                   f"add `fill: zero` to channel '{use.name}' in {yaml}")
        else:
            fix = (f"fill the blanks in the file, or name a repair in {yaml}: "
                   f"`fill: [{{column: {column}, source: <source>, rule: ffill_median|zero|interpolate}}]`")
        return DataIssue(f"{n} missing value(s)", fix, where, column, rows, labels, "missing_values")
    if check.startswith("greater_than_or_equal_to"):
        fix = "correct the negative values; " + ("spend cannot be negative" if role == "spend"
                                                 else "this quantity cannot be negative")
        return DataIssue(f"{n} negative value(s)", fix, where, column, rows, values, "negative_values")
    if check.startswith("in_range"):
        return DataIssue(f"{n} value(s) outside 0..1", "give the discount as a fraction of the list price (0.25 for "
                         f"25%), or set `price.discount_kind: amount` in {yaml}", where, column, rows, values,
                         "discount_range")
    if check.startswith("isin"):
        return DataIssue(f"{n} value(s) are neither 0 nor 1", "event flags must be 0/1; for a text column of event "
                         f"names set `none_value` on the event in {yaml}", where, column, rows, values, "event_flags")
    if check == "not_all_zero":
        return DataIssue("is zero in every row", "check the export (wrong column?) or remove the channel from "
                         f"`channels` in {yaml}: a channel that never spends cannot be measured",
                         where, column, (), (), "all_zero_channel")
    if check == "column_in_dataframe":
        return DataIssue("column is missing", f"check the column names in {yaml}", where, column, (), (),
                         "missing_column")
    return DataIssue(f"failed check {check} in {n} row(s)", "correct the values", where, column, rows, values,
                     check)


def _frame_issue(check: str, group: pd.DataFrame, frame: pd.DataFrame, config: DatasetConfig, where: str,
                 keys: list[str], frequency: str | None, csv: bool) -> DataIssue:
    rows, labels = _locate(group, frame, csv)
    yaml = display_path(config.config_path) if config.config_path else "the dataset YAML"
    per = " and ".join(keys)
    if check == "unique_periods":
        dup = frame[frame.duplicated(keys, keep=False)]
        examples = tuple(str(pd.Timestamp(d).date()) for d in dup[DATE].drop_duplicates().head(5))
        return DataIssue(f"duplicate rows for the same {per}", f"keep one row per {per} (sum or remove the "
                         "duplicates)", where, None, rows, examples or labels, "duplicate_dates")
    if check == "no_gaps":
        group_keys = [k for k in keys if k != DATE]
        parts = frame.groupby(group_keys)[DATE] if group_keys else [("", frame[DATE])]
        missing = sorted({d for _, dates in parts for d in periods.missing_periods(dates, frequency)})
        shown = tuple(str(pd.Timestamp(d).date()) for d in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        return DataIssue(f"{len(missing)} {frequency} period(s) missing between "
                         f"{frame[DATE].min().date()} and {frame[DATE].max().date()}: {', '.join(shown)}{more}",
                         "add rows for the missing periods (a period with no sales is a row of zeros, not a gap), "
                         f"or restrict `window` in {yaml}", where, None, rows, (), "date_gaps")
    if check == "on_period_grid":
        return DataIssue(f"dates off the {frequency} grid", "every row must fall on a period start (same weekday "
                         "for weekly data, the 1st for monthly)", where, None, rows, labels, "period_grid")
    if check == "not_empty":
        return DataIssue("no data rows", "check `filter` / `drop_rows` and the file's contents", where, None, (), (),
                         "empty_file")
    if check == "every_node_every_period":
        return DataIssue("some nodes are missing in some periods", "every node needs a row in every period",
                         where, None, rows, labels, "unbalanced_panel")
    return DataIssue(f"failed check {check}", "correct the data", where, None, rows, labels, check)
