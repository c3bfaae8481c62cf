"""Errors for bad input data, written for the person who has to fix the file.

Every problem is a :class:`DataIssue` naming the file, the column, example rows and what would
fix it; a :class:`DataValidationError` carries all issues found in one pass, so a run reports
every failure at once instead of one per retry.

Row convention: ``rows`` are line numbers of the CSV as a text editor shows them, counting the
header as line 1 (so the first data row is line 2). Rows of derived tables (the modelling table)
are given as dates and nodes instead.
"""

from dataclasses import dataclass
from pathlib import Path

MAX_EXAMPLES = 5


@dataclass(frozen=True)
class DataIssue:
    """One thing wrong with one column (or the whole file) of one source."""

    problem: str
    fix: str
    file: str = ""
    column: str | None = None
    rows: tuple[int, ...] = ()
    examples: tuple[str, ...] = ()
    check: str = ""

    def describe(self) -> str:
        where = self.file or "<data>"
        if self.column is not None:
            where += f", column '{self.column}'"
        text = f"{where}: {self.problem}"
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:MAX_EXAMPLES])
            more = f" and {len(self.rows) - MAX_EXAMPLES} more" if len(self.rows) > MAX_EXAMPLES else ""
            text += f" (CSV line{'s' if len(self.rows) > 1 else ''} {shown}{more}; header = line 1)"
        if self.examples:
            text += f"; values: {', '.join(self.examples[:MAX_EXAMPLES])}"
        return f"{text}. Fix: {self.fix}"


class DataValidationError(ValueError):
    """Raised when a raw source or the modelling table cannot be used as it is."""

    def __init__(self, issues: list[DataIssue]) -> None:
        self.issues = list(issues)
        super().__init__(self._message())

    def __reduce__(self):  # keep the issues when pickled (multiprocess executors)
        return (type(self), (self.issues,))

    def _message(self) -> str:
        if len(self.issues) == 1:
            return self.issues[0].describe()
        lines = [f"{len(self.issues)} problems in the input data:"]
        lines += [f"  {i}. {issue.describe()}" for i, issue in enumerate(self.issues, 1)]
        return "\n".join(lines)

    @property
    def columns(self) -> list[str]:
        return [i.column for i in self.issues if i.column is not None]

    @property
    def checks(self) -> list[str]:
        return [i.check for i in self.issues]


def raise_issues(issues: list[DataIssue]) -> None:
    """Raise one error holding every issue, or do nothing when the list is empty."""
    if issues:
        raise DataValidationError(list(issues))


def display_path(path: str | Path) -> str:
    """The path as the user wrote it where possible (relative to the project root)."""
    from mmm_pipeline.core.config import PROJECT_ROOT

    p = Path(path)
    try:
        return str(p.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(p)
