"""Lift tests (geo hold-outs, on/off flights, budget splits) read as data: :class:`LiftTests`.

An experiment measures what the MMM can only infer: the change in the outcome that a known
change of one channel's spend caused over a known window. The fit uses each result as one
more observation with its own standard error (:mod:`mmm_pipeline.core.train.experiments`), so
a channel the sales history cannot pin down can still be measured. The file format is in
docs/experiments.md; every row is checked against the modelling data (channels, nodes, dates)
and a bad row is reported with the file, the column, the CSV line and the fix.

Convention: ``lift`` is the change in the target (in the target's units) over the test window
that the spend change caused, for the whole market or the named node; the spend the data
record for the window is the business-as-usual spend the change is applied to. A go-dark test
(``spend_multiplier`` 0) of a channel that works therefore has a negative lift.
"""

import logging
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from mmm_pipeline.core.config import DatasetConfig
from mmm_pipeline.core.data import periods
from mmm_pipeline.core.data.errors import DataIssue, DataValidationError, display_path, raise_issues
from mmm_pipeline.core.data.loaders import csv_lines, read_source
from mmm_pipeline.core.data.schemas import validate_experiments
from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

REQUIRED = ("channel", "start", "end", "lift")
NUMBERS = ("lift", "lift_se", "lift_lower", "lift_upper", "spend_multiplier", "spend_change")
#: a 95% interval spans 2 x 1.96 standard errors of a normal estimate
Z95 = 1.959964


@dataclass(frozen=True)
class LiftTests:
    """E experiments in model terms; ``lift`` is ``[E]``, or ``[K, E]`` once drawn per bootstrap replicate.

    ``node`` is a node or category name, or ``None`` for the whole market. Exactly one of
    ``multiplier`` (nan when not used) and ``change`` (money per period, 0 when not used)
    describes each test's spend change.
    """

    channel: tuple[str, ...]
    node: tuple[str | None, ...]
    start: pd.DatetimeIndex
    end: pd.DatetimeIndex
    lift: np.ndarray
    se: np.ndarray
    multiplier: np.ndarray
    change: np.ndarray
    label: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.channel)

    def select(self, keep: np.ndarray) -> "LiftTests":
        """The tests where ``keep [E]`` is true."""
        keep = np.asarray(keep, dtype=bool)
        pick = np.flatnonzero(keep)
        return LiftTests(tuple(self.channel[i] for i in pick), tuple(self.node[i] for i in pick),
                         self.start[keep], self.end[keep], self.lift[..., keep], self.se[keep],
                         self.multiplier[keep], self.change[keep], tuple(self.label[i] for i in pick))

    def draws(self, n: int, seed: int) -> "LiftTests":
        """``n`` noisy copies of the measured lifts (``lift + se * N(0, 1)``), one per bootstrap
        replicate, so intervals carry the experiments' own uncertainty as well as the data's."""
        rng = np.random.default_rng([int(seed), len(self)])
        base = np.broadcast_to(self.lift, (n, len(self))) if self.lift.ndim == 1 else self.lift
        return replace(self, lift=base + self.se[None, :] * rng.standard_normal((n, len(self))))


def with_lift_tests(data: ModelData, config: DatasetConfig) -> ModelData:
    """``data`` carrying the dataset's lift tests (unchanged when the dataset has none)."""
    tests = load_lift_tests(config, data.dates, data.nodes, data.node_category)
    return data if tests is None else replace(data, experiments=tests)


def experiment_sources(config: DatasetConfig) -> list[str]:
    return [name for name, src in config.sources.items() if src.kind == "experiments"]


def load_lift_tests(config: DatasetConfig, dates: pd.DatetimeIndex, nodes: list[str],
                    node_category: list[str]) -> LiftTests | None:
    """Every ``experiments`` source of the dataset, checked against the modelling periods and
    nodes; ``None`` when the dataset has none. All bad rows of all files are reported together."""
    names = experiment_sources(config)
    if not names:
        return None
    parts, issues = [], []
    for name in names:
        try:
            parts.append(_read_one(config, name, dates, nodes, node_category))
        except DataValidationError as exc:
            issues.extend(exc.issues)
    raise_issues(issues)
    tests = pd.concat(parts)
    log.info("%d experiment(s) read: %s", len(tests), join_names(tests["channel"].unique()))
    return LiftTests(
        channel=tuple(tests["channel"]), node=tuple(None if pd.isna(n) else str(n) for n in tests["node"]),
        start=pd.DatetimeIndex(tests["start"]), end=pd.DatetimeIndex(tests["end"]),
        lift=tests["lift"].to_numpy(float), se=tests["lift_se"].to_numpy(float),
        multiplier=tests["spend_multiplier"].to_numpy(float),
        change=tests["spend_change"].fillna(0.0).to_numpy(float), label=tuple(tests["label"]))


def _read_one(config: DatasetConfig, source_name: str, dates: pd.DatetimeIndex, nodes: list[str],
              node_category: list[str]) -> pd.DataFrame:
    shown = display_path(config.source_path(source_name))
    frame = read_source(config, source_name)
    issues = _missing_columns(frame, shown)
    raise_issues(issues)
    frame = frame.copy()
    for col in ("node", "lift_se", "lift_lower", "lift_upper", "spend_multiplier", "spend_change"):
        if col not in frame:
            frame[col] = np.nan
    spec = config.sources[source_name].date
    fmt = spec.format if spec is not None and spec.format else "ISO8601"
    for col in ("start", "end"):
        frame[col] = _dates(frame, col, fmt, shown, issues)
    for col in NUMBERS:
        frame[col] = _numbers(frame, col, shown, issues)
    raise_issues(issues)
    frame["lift_se"] = frame["lift_se"].fillna((frame["lift_upper"] - frame["lift_lower"]) / (2 * Z95))
    frame["channel"] = frame["channel"].astype("string")
    frame["node"] = frame["node"].astype(object).where(frame["node"].notna(), None)
    last_day = periods.next_start(dates[-1:], config.frequency)[0] - pd.Timedelta(days=1)
    validate_experiments(frame, shown, config.channel_names, list(dict.fromkeys([*nodes, *node_category])),
                         dates[0], last_day)
    frame["label"] = [f"{c}, {s.date()} to {e.date()} ({shown} line {i})"
                      for c, s, e, i in zip(frame["channel"], frame["start"], frame["end"], frame.index)]
    return frame


def _missing_columns(frame: pd.DataFrame, shown: str) -> list[DataIssue]:
    issues = [DataIssue(f"required column '{col}' is missing",
                        "an experiments file needs the columns channel, start, end, lift, a standard error "
                        "(lift_se, or lift_lower and lift_upper of a 95% interval) and the spend change "
                        "(spend_multiplier or spend_change); see docs/experiments.md",
                        file=shown, column=col, check="missing_column")
              for col in REQUIRED if col not in frame]
    if "lift_se" not in frame and not {"lift_lower", "lift_upper"} <= set(frame.columns):
        issues.append(DataIssue("has no standard error column", "add `lift_se`, or `lift_lower` and `lift_upper` "
                                "(a 95% interval)", file=shown, column="lift_se", check="missing_column"))
    if "spend_multiplier" not in frame and "spend_change" not in frame:
        issues.append(DataIssue("does not say how spend changed", "add `spend_multiplier` (0 for go-dark, 1.2 for "
                                "+20%) or `spend_change` (money added per period; negative to cut)",
                                file=shown, column="spend_multiplier", check="missing_column"))
    return issues


def _dates(frame: pd.DataFrame, col: str, fmt: str, shown: str, issues: list[DataIssue]) -> pd.Series:
    text = frame[col]
    parsed = pd.to_datetime(text, format=fmt, errors="coerce").dt.normalize()
    bad = parsed.isna()
    if bad.any():
        issues.append(DataIssue(f"{int(bad.sum())} date(s) could not be read with format '{fmt}'",
                                "write every date like 2024-03-01", file=shown, column=col,
                                rows=csv_lines(frame.index, bad), examples=tuple(repr(v) for v in text[bad].head(5)),
                                check="unparseable_date"))
    return parsed


def _numbers(frame: pd.DataFrame, col: str, shown: str, issues: list[DataIssue]) -> pd.Series:
    text = frame[col]
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna() & text.notna()
    if bad.any():
        issues.append(DataIssue(f"{int(bad.sum())} value(s) are not numbers",
                                "write plain numbers in the target's units (no currency signs or notes)",
                                file=shown, column=col, rows=csv_lines(frame.index, bad),
                                examples=tuple(repr(v) for v in text[bad].head(5)), check="text_in_numeric"))
    return values.astype(float)
