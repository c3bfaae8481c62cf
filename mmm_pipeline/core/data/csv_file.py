"""Read a CSV file a user gave us into text cells, or fail saying which line to fix and how.

pandas' reader stops on a ragged row with "Error tokenizing data ... line 91" and no file
name, reports an undecodable byte by its offset, silently renames a repeated header to
``tv_S.1`` and pads short rows with blanks. Every file the product reads from a user goes
through :func:`read_csv_cells` instead, which refuses each of those with the file, the line
(as a text editor numbers it, header = line 1) and the fix, and accepts the harmless variants:
a UTF-8 byte-order mark, Windows line endings, spaces around header names, blank lines.
"""

import codecs
import csv
import io
from pathlib import Path

import pandas as pd

from mmm_pipeline.core.data.errors import DataIssue, DataValidationError, display_path, raise_issues
from mmm_pipeline.core.wording import join_names

ROW_INDEX = "csv_line"
DEFAULT_ENCODING = "utf-8"
#: encodings tried, in order, to say what an undecodable file most likely is (latin-1 reads any byte)
LIKELY_ENCODINGS = {"utf-16": "UTF-16", "cp1252": "Windows-1252 (Western European)", "latin-1": "Latin-1 (ISO-8859-1)"}


def read_csv_cells(path: str | Path, where: str, encoding: str | None = None) -> pd.DataFrame:
    """Every cell as the text in the file, headers stripped, index = the CSV line of each row.

    ``where`` names the configuration entry of this file (e.g. "`sources.main` in
    configs/datasets/x.yaml"); fixes that need a setting, such as ``encoding:``, point there.
    """
    shown = display_path(path)
    text = _decode(Path(path).read_bytes(), encoding or DEFAULT_ENCODING, shown, where)
    header, rows, lines = _records(text, shown)
    issues = _ragged(header, rows, lines, shown) + _duplicate_headers(header, shown)
    raise_issues(issues)
    if not rows:
        raise DataValidationError([DataIssue(
            "has a header but no data rows", "export the data again; the file was cut off or written empty",
            file=shown, check="empty_file")])
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame.index = pd.Index(lines, name=ROW_INDEX)
    return frame


def _decode(data: bytes, encoding: str, shown: str, where: str) -> str:
    try:
        codec = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    except LookupError:
        raise DataValidationError([DataIssue(
            f"'{encoding}' is not an encoding Python knows", f"set `encoding:` of {where} to e.g. utf-8 or cp1252",
            file=shown, check="bad_encoding")]) from None
    try:
        return data.decode(codec).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise DataValidationError([_undecodable(data, exc, encoding, shown, where)]) from None


def _undecodable(data: bytes, exc: UnicodeDecodeError, encoding: str, shown: str, where: str) -> DataIssue:
    """Turn a byte offset into a line and column, and say which encoding the file looks like."""
    line = data.count(b"\n", 0, exc.start) + 1
    column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
    byte = data[exc.start]
    problem = f"byte 0x{byte:02x} (character {column} of its line) is not valid {encoding}"
    guess = _likely_encoding(data, encoding)
    if guess is None:
        fix = f"save the file as UTF-8, or set `encoding:` of {where} to the encoding it was written in"
    else:
        char = data[exc.start:exc.start + 1].decode(guess, errors="replace") if guess != "utf-16" else ""
        reads = f", where that byte is '{char}'" if char.isprintable() and char else ""
        problem += f"; the file looks like {LIKELY_ENCODINGS[guess]}{reads}"
        fix = f"add `encoding: {guess}` to {where}, or save the file as UTF-8"
    return DataIssue(problem, fix, file=shown, rows=(line,), check="bad_encoding")


def _likely_encoding(data: bytes, tried: str) -> str | None:
    for candidate in LIKELY_ENCODINGS:
        if codecs.lookup(candidate).name == codecs.lookup(tried).name:
            continue
        if candidate == "utf-16" and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            continue
        try:
            data.decode(candidate)
        except UnicodeDecodeError:
            continue
        return candidate
    return None


def _records(text: str, shown: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Header (stripped), data rows and the line each row starts on; blank lines skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    records: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            if len(row) > 1 or (row and row[0].strip()):
                records.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataValidationError([DataIssue(
            f"cannot be read as CSV: {exc}", "check the quotes on that line: a value opened with \" must close with \"",
            file=shown, rows=(reader.line_num,), check="unreadable_csv")]) from None
    if not records:
        raise DataValidationError([DataIssue(
            "file is empty", "export the data again; a CSV needs a header line and data rows",
            file=shown, check="empty_file")])
    _check_quotes_closed(text, records, shown)
    header = [name.strip() for name in records[0][1]]
    return header, [row for _, row in records[1:]], [line for line, _ in records[1:]]


def _check_quotes_closed(text: str, records: list[tuple[int, list[str]]], shown: str) -> None:
    """An unclosed quote swallows the rest of the file into one value: say where it opened."""
    if text.count('"') % 2 == 0:
        return
    for line, row in records:
        if any("\n" in value or "\r" in value for value in row):
            raise DataValidationError([DataIssue(
                "a quoted value opened on this line is never closed, so the lines after it read as one value",
                'close the quote (write a literal quote inside a quoted value as "")',
                file=shown, rows=(line,), check="unreadable_csv")])


def _ragged(header: list[str], rows: list[list[str]], lines: list[int], shown: str) -> list[DataIssue]:
    """Rows with more or fewer fields than the header; pandas would shift or pad them silently."""
    bad = [(line, len(row)) for line, row in zip(lines, rows) if len(row) != len(header)]
    if not bad:
        return []
    counts = {n for _, n in bad}
    if len(bad) == len(rows) and len(counts) == 1:
        found = counts.pop()
        return [DataIssue(
            f"the header (line 1) has {len(header)} fields but every row has {found}",
            "make the header name every column, one name per column, separated by commas",
            file=shown, rows=(1,), check="ragged_rows")]
    first_line, first_count = bad[0]
    problem = (f"{len(bad)} row(s) have {first_count} fields where the header has {len(header)}" if len(counts) == 1
               else f"{len(bad)} rows do not have the header's {len(header)} fields; the first, line {first_line}, "
               f"has {first_count}")
    return [DataIssue(
        problem,
        "a value with a comma in it needs quotes (\"1,234\"), and a line cut short or joined to the next "
        "must be restored from the original export",
        file=shown, rows=tuple(line for line, _ in bad), check="ragged_rows")]


def _duplicate_headers(header: list[str], shown: str) -> list[DataIssue]:
    """The same column name twice: pandas would rename one ``name.1`` and read whichever it kept."""
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(header, 1):
        if name:
            positions.setdefault(name, []).append(i)
    return [DataIssue(
        f"the header names column '{name}' {len(where)} times (columns {join_names(str(p) for p in where)})",
        "rename or delete the extra column(s): the file cannot say which one holds the data",
        file=shown, column=name, check="duplicate_column")
        for name, where in positions.items() if len(where) > 1]
