"""Read one raw source named in the dataset config into a typed, sorted pandas frame.

Real exports are messy: headers with stray spaces, CRLF line endings, ``\\N`` for missing,
thousands separators, a "Total" row, M/D/YYYY dates or separate year and month columns, rows out
of order, one column per category, an unnamed R row index. Every such quirk is described in the
YAML, not handled by dataset-specific code here.

The returned frame has a ``date`` column (period start; absent for reference tables), the
config-referenced columns typed as numbers or text, wide layouts melted to one row per
(date, category), rows sorted by date. Its index holds the CSV line of each row (header = line
1), so later checks can point at the exact line to fix. Anything that stops the file from being
read at all raises :class:`DataValidationError` listing every problem found.
"""

import hashlib
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from mmm_pipeline.core.config import DatasetConfig, SourceConfig
from mmm_pipeline.core.data import periods
from mmm_pipeline.core.data.columns import MONEY_ROLES, NUMERIC_ROLES, source_columns
from mmm_pipeline.core.data.csv_file import read_csv_cells
from mmm_pipeline.core.data.errors import DataIssue, DataValidationError, display_path, raise_issues
from mmm_pipeline.core.hints import suggest
from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

DATE = "date"


def file_sha256(path: Path) -> str:
    """Content hash of a raw file: what tells the raw-data sensor a file version was ingested."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_source(config: DatasetConfig, source_name: str) -> pd.DataFrame:
    """Load ``config.sources[source_name]``; see the module docstring for the result's shape."""
    if source_name not in config.sources:
        raise KeyError(f"dataset '{config.name}' has no source '{source_name}'; "
                       f"its sources are {join_names(sorted(config.sources))}")
    src = config.sources[source_name]
    path = config.source_path(source_name)
    shown = display_path(path)
    _check_file(path, shown, config, source_name)
    frame = _read_text(path, src, _where(config, source_name))
    issues: list[DataIssue] = []
    frame = _select_rows(frame, src, shown, config, source_name, issues)
    if frame.empty and not issues:
        issues.append(DataIssue("no rows left after `filter` / `drop_rows`",
                                f"check the values in {_where(config, source_name)}", file=shown, check="empty_file"))
    if src.wide is not None:
        frame = _melt_wide(frame, config, source_name, shown, issues)
    raise_issues(issues)
    _require_columns(frame, config, source_name, shown, issues)
    raise_issues(issues)
    dates = _parse_dates(frame, src, shown, config, source_name, issues) if src.date is not None else None
    frame = _parse_numbers(frame, config, source_name, shown, issues)
    raise_issues(issues)
    if dates is not None:
        drop = [c for c in (src.date.column, src.date.year_column, src.date.month_column) if c]
        frame = frame.drop(columns=drop).assign(**{DATE: periods.normalise(dates, src.frequency)})
        frame = frame[[DATE] + [c for c in frame.columns if c != DATE]]
        keys = [DATE] + [u.column for u in source_columns(config, source_name) if u.role in ("category", "subcategory")]
        frame = frame.sort_values(keys, kind="stable")
    log.info("read %s: %d rows x %d columns", shown, len(frame), frame.shape[1])
    return frame


def read_all_sources(config: DatasetConfig) -> dict[str, pd.DataFrame]:
    """Every source of the dataset, problems in all of them reported together."""
    frames: dict[str, pd.DataFrame] = {}
    issues: list[DataIssue] = []
    for name in config.sources:
        try:
            frames[name] = read_source(config, name)
        except DataValidationError as exc:
            issues.extend(exc.issues)
    raise_issues(issues)
    return frames


def csv_lines(index: pd.Index, mask: np.ndarray | pd.Series) -> tuple[int, ...]:
    """The CSV line numbers of the rows where ``mask`` holds, in file order, without repeats."""
    picked = np.asarray(index)[np.asarray(mask, dtype=bool)]
    return tuple(int(x) for x in sorted(set(picked.tolist())))


def _where(config: DatasetConfig, source_name: str, key: str = "") -> str:
    suffix = f".{key}" if key else ""
    yaml = display_path(config.config_path) if config.config_path else "the dataset YAML"
    return f"`sources.{source_name}{suffix}` in {yaml}"


def _check_file(path: Path, shown: str, config: DatasetConfig, source_name: str) -> None:
    if not path.is_file():
        near = ""
        if path.parent.is_dir():
            files = [p.name for p in path.parent.iterdir() if p.is_file()]
            near = suggest(path.name, files)
        fix = f"put the file there or correct {_where(config, source_name, 'path')}"
        if "${MMM_SHARED_DATA}" in config.sources[source_name].path:
            fix += "; set MMM_SHARED_DATA to the folder holding the shared datasets"
        raise DataValidationError([DataIssue(f"file not found{near}", fix, file=shown, check="missing_file")])


def _read_text(path: Path, src: SourceConfig, where: str) -> pd.DataFrame:
    """Everything as stripped text first, so conversion errors can name the offending cells."""
    frame = read_csv_cells(path, where, src.encoding)
    unnamed = [c for c in frame.columns if c == ""]
    if unnamed:  # an R / pandas row index: it carries no data and no config can name it
        log.info("%s: dropping %d unnamed row-index column(s)", path.name, len(unnamed))
        frame = frame.loc[:, [c != "" for c in frame.columns]]
    ignore = {c.strip() for c in src.ignore_columns}
    frame = frame.drop(columns=[c for c in frame.columns if c in ignore])
    missing_tokens = {""} | {v.strip() for v in src.na_values}
    return frame.apply(lambda s: s.str.strip().mask(lambda v: v.isin(missing_tokens)))


def _select_rows(frame: pd.DataFrame, src: SourceConfig, shown: str, config: DatasetConfig,
                 source_name: str, issues: list[DataIssue]) -> pd.DataFrame:
    for key, conditions in (("filter", src.filter), ("drop_rows", src.drop_rows)):
        for column in conditions:
            if column not in frame.columns:
                issues.append(DataIssue(
                    f"no column '{column}' to apply `{key}`{suggest(column, list(frame.columns))}",
                    f"correct {_where(config, source_name, key)}", file=shown, column=column, check="missing_column"))
    if issues:
        return frame
    for column, value in src.filter.items():
        frame = frame[frame[column] == value]
    for column, values in src.drop_rows.items():
        frame = frame[~frame[column].isin(values)]
    return frame


def _melt_wide(frame: pd.DataFrame, config: DatasetConfig, source_name: str, shown: str,
               issues: list[DataIssue]) -> pd.DataFrame:
    """``Revenue_Camera, Units_Camera, ...`` -> one row per category with ``gmv, units, ...``."""
    wide = config.sources[source_name].wide
    category_col = config.hierarchy.category if config.hierarchy else "category"
    wide_cols = {wide.pattern.format(measure=prefix, category=cat): (name, cat)
                 for name, prefix in wide.measures.items() for cat in wide.categories}
    for col in wide_cols:
        if col not in frame.columns:
            issues.append(DataIssue(
                f"wide-layout column '{col}' is missing{suggest(col, list(frame.columns))}",
                f"correct `wide.measures` / `wide.categories` of {_where(config, source_name)}",
                file=shown, column=col, check="missing_column"))
    if issues:
        return frame
    rest = [c for c in frame.columns if c not in wide_cols]
    parts = []
    for cat in wide.categories:
        cols = {wide.pattern.format(measure=prefix, category=cat): name for name, prefix in wide.measures.items()}
        parts.append(frame[rest + list(cols)].rename(columns=cols).assign(**{category_col: cat}))
    return pd.concat(parts)


def _require_columns(frame: pd.DataFrame, config: DatasetConfig, source_name: str, shown: str,
                     issues: list[DataIssue]) -> None:
    src = config.sources[source_name]
    needed = list(src.required_columns) + [u.column for u in source_columns(config, source_name)]
    if src.date is not None:
        needed += [c for c in (src.date.column, src.date.year_column, src.date.month_column) if c]
    available = list(frame.columns)
    for col in dict.fromkeys(needed):
        if col not in frame.columns:
            issues.append(DataIssue(
                f"required column '{col}' is missing{suggest(col, available)}",
                f"rename the column in the file, or correct the name in {_where(config, source_name)} "
                f"(columns in the file: {', '.join(available)})",
                file=shown, column=col, check="missing_column"))


def _parse_dates(frame: pd.DataFrame, src: SourceConfig, shown: str, config: DatasetConfig,
                 source_name: str, issues: list[DataIssue]) -> pd.Series:
    spec = src.date
    if spec.column:
        text = frame[spec.column]
        fmt = spec.format or "ISO8601"
        dates = pd.to_datetime(text, format=fmt, errors="coerce")
        bad = dates.isna()
        if bad.any():
            example = pd.Timestamp("2016-01-31").strftime(spec.format) if spec.format else "2016-01-31"
            issues.append(DataIssue(
                f"{int(bad.sum())} date(s) could not be read with format '{fmt}'",
                f"write every date like '{example}' or change {_where(config, source_name, 'date.format')}",
                file=shown, column=spec.column, rows=csv_lines(frame.index, bad),
                examples=tuple(repr(v) for v in text[bad].head(5)), check="unparseable_date"))
        return dates.dt.normalize()
    year = pd.to_numeric(frame[spec.year_column], errors="coerce")
    month = pd.to_numeric(frame[spec.month_column], errors="coerce")
    bad = year.isna() | month.isna() | ~month.between(1, 12) | (year % 1 != 0) | (month % 1 != 0)
    if bad.any():
        issues.append(DataIssue(
            "year/month not readable as a year and a month number 1-12",
            "write the year as e.g. 2016 and the month as 1..12",
            file=shown, column=f"{spec.year_column}/{spec.month_column}", rows=csv_lines(frame.index, bad),
            examples=tuple(f"{y}/{m}" for y, m in zip(frame.loc[bad, spec.year_column].head(5),
                                                      frame.loc[bad, spec.month_column].head(5))),
            check="unparseable_date"))
        return pd.Series(pd.NaT, index=frame.index)
    return pd.to_datetime(pd.DataFrame({"year": year.astype(int), "month": month.astype(int), "day": 1}))


def _parse_numbers(frame: pd.DataFrame, config: DatasetConfig, source_name: str, shown: str,
                   issues: list[DataIssue]) -> pd.DataFrame:
    """Config-referenced numeric columns must parse; other columns convert only when they all do."""
    src = config.sources[source_name]
    uses = {u.column: u for u in source_columns(config, source_name)}
    date_cols = {c for c in (src.date.column, src.date.year_column, src.date.month_column) if c} if src.date else set()
    out = frame.copy()
    for col in frame.columns:
        if col in date_cols:
            continue
        text = frame[col]
        if src.thousands:
            text = text.str.replace(src.thousands, "", regex=False)
        values = pd.to_numeric(text, errors="coerce")
        bad = values.isna() & text.notna()
        use = uses.get(col)
        if use is not None and use.role in NUMERIC_ROLES:
            if bad.any():
                issues.append(_text_in_numbers(frame, col, bad, src, shown, config, source_name))
                continue
        elif bad.any() or (use is not None):
            continue  # a text column (or one the config treats as text)
        if use is not None and use.role in MONEY_ROLES and src.unit_multiplier != 1.0:
            values = values * src.unit_multiplier
        out[col] = values.astype(float)
    return out


def _text_in_numbers(frame: pd.DataFrame, col: str, bad: pd.Series, src: SourceConfig, shown: str,
                     config: DatasetConfig, source_name: str) -> DataIssue:
    examples = frame.loc[bad, col].head(5)
    fix = "replace them with plain numbers (no units, currency signs or notes)"
    if src.thousands is None and examples.str.contains(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$", regex=True).any():
        fix = f"the values use ',' as a thousands separator: set `thousands: \",\"` in {_where(config, source_name)}"
    elif src.na_values == [] and examples.isin(["NA", "\\N", "null", "NULL", "-", "n/a"]).any():
        fix = (f"if these mark missing values, list them under `na_values` in {_where(config, source_name)} "
               "and say how to fill them (`fill:`), otherwise replace them with numbers")
    return DataIssue(f"{int(bad.sum())} value(s) are not numbers", fix, file=shown, column=col,
                     rows=csv_lines(frame.index, bad), examples=tuple(repr(v) for v in examples),
                     check="text_in_numeric")
