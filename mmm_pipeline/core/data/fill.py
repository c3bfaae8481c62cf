"""Repairs for missing values, applied only where the dataset config names one.

A blank is rejected by default (the schema fails on it); a channel with ``fill: zero`` (blank
months mean the channel was dark) or a ``fill:`` rule turns specific blanks into values, and
every cell changed is counted so the run's metadata says how much of the data was repaired.
"""

import logging

import pandas as pd

from mmm_pipeline.core.config import DatasetConfig
from mmm_pipeline.core.data.columns import source_columns
from mmm_pipeline.core.data.loaders import DATE

log = logging.getLogger(__name__)


def fill_missing(config: DatasetConfig, source_name: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Apply the configured fills of one source; returns the frame and ``{column: cells filled}``.

    Rules: ``zero`` (dark channel), ``ffill_median`` (carry the last value forward; blanks before
    the first value take the column median), ``interpolate`` (linear in time, ends held flat).
    Filling runs per category/sub-category when the source has them, in date order.
    """
    uses = [u for u in source_columns(config, source_name) if u.fill != "reject" and u.column in frame]
    groups = [u.column for u in source_columns(config, source_name) if u.role in ("category", "subcategory")]
    out = frame.copy()
    counts: dict[str, int] = {}
    for use in uses:
        blank = out[use.column].isna()
        if not blank.any():
            continue
        out[use.column] = _apply(out, use.column, use.fill, groups)
        filled = int((blank & out[use.column].notna()).sum())
        counts[use.column] = filled
        log.info("%s.%s: filled %d blank cell(s) with rule '%s'", source_name, use.column, filled, use.fill)
    return out, counts


def _apply(frame: pd.DataFrame, column: str, rule: str, groups: list[str]) -> pd.Series:
    if rule == "zero":
        return frame[column].fillna(0.0)
    order = [*groups, DATE] if DATE in frame else groups
    work = frame[[*order, column]].reset_index(drop=True)
    ordered = work.sort_values(order, kind="stable") if order else work

    def repair(s: pd.Series) -> pd.Series:
        if rule == "ffill_median":
            return s.ffill().fillna(s.median())
        return s.interpolate(method="linear", limit_direction="both")

    if groups:
        repaired = ordered.groupby(groups, sort=False)[column].transform(repair)
    else:
        repaired = repair(ordered[column])
    return pd.Series(repaired.sort_index().to_numpy(), index=frame.index, name=column)
