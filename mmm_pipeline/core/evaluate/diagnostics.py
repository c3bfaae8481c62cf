"""Residual diagnostics of a final model: is what the model leaves behind noise?

Autocorrelated residuals (Durbin-Watson far from 2, large ACF) mean a missed carry-over or
trend, and make naive intervals too narrow; heteroscedastic residuals (Breusch-Pagan) mean
errors grow with the level, so a log target may fit better; non-normal residuals (Jarque-Bera)
warn that Gaussian intervals misstate tails. The bootstrap does not assume normality, so the
latter is a warning, not a failure.

Input is a long prediction table (date, node, actual, predicted). Serial statistics (DW, ACF)
are computed per node on its own time series and averaged, weighted by length, because
stacking nodes would put unrelated neighbours next to each other.
"""

import logging
from dataclasses import asdict, dataclass, field
from io import BytesIO
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.diagnostic import het_breuschpagan
from statsmodels.stats.stattools import durbin_watson, jarque_bera
from statsmodels.tsa.stattools import acf

from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResidualDiagnostics:
    n: int
    mean_residual: float  # bias; Durbin-Watson uses raw residuals, so a bias also lowers it
    residual_std: float
    durbin_watson: float
    breusch_pagan_stat: float
    breusch_pagan_p: float
    normality_test: str
    normality_stat: float
    normality_p: float
    acf: list[float]  # lags 1..max_lag
    acf_bound: float  # approximate 95% white-noise band, 1.96 / sqrt(n per node)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ``diagnostics`` block of summary.json (plus test statistics and notes)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float) and not np.isfinite(value):
                out[key] = None
        out["acf"] = [float(v) if np.isfinite(v) else None for v in self.acf]
        return out


def _residual_frame(predictions: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("date", "node", "actual", "predicted") if c not in predictions.columns]
    if missing:
        raise ValueError(f"residual diagnostics need column(s) {join_names(missing)}; the table has "
                         f"{join_names(predictions.columns)}")
    frame = predictions[["date", "node", "actual", "predicted"]].copy()
    frame["date"] = pd.to_datetime(frame["date"])
    frame = frame[np.isfinite(frame["actual"]) & np.isfinite(frame["predicted"])]
    frame["residual"] = frame["actual"] - frame["predicted"]
    return frame.sort_values(["node", "date"], kind="stable").reset_index(drop=True)


def residual_diagnostics(predictions: pd.DataFrame, max_lag: int | None = None) -> ResidualDiagnostics:
    """Durbin-Watson, Breusch-Pagan (residual variance vs prediction), Jarque-Bera and ACF."""
    frame = _residual_frame(predictions)
    n = len(frame)
    if n < 8:
        raise ValueError(f"{n} residuals are too few for diagnostics (need at least 8)")
    notes: list[str] = []
    groups = [g["residual"].to_numpy(float) for _, g in frame.groupby("node", sort=False)]
    lengths = np.array([len(g) for g in groups], dtype=float)
    shortest = int(lengths.min())
    lag = int(max_lag) if max_lag is not None else max(1, min(20, shortest // 4))
    lag = min(lag, shortest - 1)
    dw = float(np.average([durbin_watson(g) for g in groups], weights=lengths))
    acfs = np.array([acf(g, nlags=lag, fft=True)[1:] for g in groups])
    mean_acf = np.average(acfs, axis=0, weights=lengths)
    resid = frame["residual"].to_numpy(float)
    exog = np.column_stack([np.ones(n), frame["predicted"].to_numpy(float)])
    if np.ptp(exog[:, 1]) > 0:
        bp_stat, bp_p, _, _ = het_breuschpagan(resid, exog)
    else:
        bp_stat, bp_p = float("nan"), float("nan")
        notes.append("Breusch-Pagan skipped: predictions are constant")
    jb_stat, jb_p, skew, kurt = jarque_bera(resid)
    bias, spread = float(resid.mean()), float(resid.std(ddof=1))
    # flag a bias that is both statistically visible (> 2 standard errors, ignoring
    # autocorrelation) and practically visible (> 10% of the residual spread)
    if spread > 0 and abs(bias) > max(2.0 * spread / np.sqrt(n), 0.1 * spread):
        notes.append(f"mean residual {bias:.4g} is {abs(bias) / spread:.2f} residual std: predictions are biased")
    if dw < 1.5 or dw > 2.5:
        notes.append(f"Durbin-Watson {dw:.2f}: residuals are serially correlated (2 means none)")
    if np.isfinite(bp_p) and bp_p < 0.05:
        notes.append(f"Breusch-Pagan p {bp_p:.3g}: residual variance changes with the predicted level")
    if jb_p < 0.05:
        notes.append(f"Jarque-Bera p {jb_p:.3g}: residuals are not normal (skew {skew:.2f}, kurtosis {kurt:.2f})")
    return ResidualDiagnostics(
        n=n,
        mean_residual=bias,
        residual_std=spread,
        durbin_watson=dw,
        breusch_pagan_stat=float(bp_stat),
        breusch_pagan_p=float(bp_p),
        normality_test="jarque_bera",
        normality_stat=float(jb_stat),
        normality_p=float(jb_p),
        acf=[float(v) for v in mean_acf],
        acf_bound=float(1.96 / np.sqrt(lengths.mean())),
        notes=notes,
    )


def residual_plot(predictions: pd.DataFrame, title: str = "") -> bytes:
    """One PNG with four panels: residual vs predicted, normal Q-Q, residual over time, histogram."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = _residual_frame(predictions)
    resid = frame["residual"].to_numpy(float)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    try:
        ax = axes[0, 0]
        ax.scatter(frame["predicted"], resid, s=6, alpha=0.5, color="#1c7ed6")
        ax.axhline(0, color="#495057", lw=1)
        ax.set(xlabel="predicted", ylabel="residual", title="Residual vs predicted")
        ax = axes[0, 1]
        (osm, osr), (slope, intercept, _) = stats.probplot(resid, dist="norm")
        ax.scatter(osm, osr, s=6, color="#1c7ed6")
        ax.plot(osm, slope * np.asarray(osm) + intercept, color="#c92a2a", lw=1)
        ax.set(xlabel="theoretical quantile", ylabel="residual quantile", title="Normal Q-Q")
        ax = axes[1, 0]
        for node, part in frame.groupby("node", sort=False):
            ax.plot(part["date"], part["residual"], lw=0.8, alpha=0.7, label=str(node))
        ax.axhline(0, color="#495057", lw=1)
        ax.set(ylabel="residual", title="Residual over time")
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
        ax = axes[1, 1]
        ax.hist(resid, bins=min(40, max(10, len(resid) // 10)), color="#1c7ed6", alpha=0.8)
        ax.set(xlabel="residual", ylabel="count", title="Histogram")
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        buffer = BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()
    finally:
        plt.close(fig)
