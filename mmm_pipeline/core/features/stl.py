"""STL trend / seasonal / remainder split of the target, for reports only.

A quick look at how much of the sales movement is slow drift and calendar pattern before any
media effect is estimated; it never feeds the model.
"""

import pandas as pd
from statsmodels.tsa.seasonal import STL

from mmm_pipeline.core.config import DatasetConfig

#: the seasonal cycle STL looks for at each frequency (weekday pattern for daily data)
DEFAULT_PERIOD = {"daily": 7, "weekly": 52, "monthly": 12}


def stl_decompose(table: pd.DataFrame, config: DatasetConfig, period: int | None = None,
                  by_node: bool = False) -> pd.DataFrame:
    """Columns date, node, observed, trend, seasonal, resid of the target (summed over nodes unless ``by_node``).

    Raises ``ValueError`` when there are fewer than two full cycles (STL cannot separate them).
    """
    period = int(period or DEFAULT_PERIOD[config.frequency])
    target = config.target.name
    if by_node:
        groups = [(node, rows.set_index("date")[target]) for node, rows in table.groupby("node", sort=False)]
    else:
        groups = [("total", table.groupby("date")[target].sum())]
    parts = []
    for node, series in groups:
        if len(series) < 2 * period + 1:
            raise ValueError(f"{config.name}: STL with a {period}-period cycle needs at least {2 * period + 1} "
                             f"{config.frequency} periods, the table has {len(series)}")
        fit = STL(series.to_numpy(dtype=float), period=period, robust=True).fit()
        parts.append(pd.DataFrame({"date": series.index, "node": node, "observed": series.to_numpy(),
                                   "trend": fit.trend, "seasonal": fit.seasonal, "resid": fit.resid}))
    return pd.concat(parts, ignore_index=True)
