"""Variance inflation factors and highly correlated pairs of model features.

Correlated inputs do not break prediction, but they make the split of credit between them
arbitrary; the report says which features the data cannot tell apart so "not identified" has
evidence behind it. Computed over all (period, node) rows of ``X``; national features repeat
across nodes, which leaves their correlations unchanged.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mmm_pipeline.core.features.model_data import ModelData

DEFAULT_CORRELATION = 0.85
DEFAULT_VIF = 10.0


@dataclass
class CollinearityReport:
    vif: pd.DataFrame  # feature, kind, vif, r2, max_abs_corr, most_correlated_with, flagged
    pairs: pd.DataFrame  # feature_a, feature_b, correlation (|r| above the threshold), strongest first
    summary: dict[str, Any]


def collinearity_report(data: ModelData, correlation_threshold: float | None = None,
                        vif_threshold: float | None = None, settings: dict | None = None) -> CollinearityReport:
    """VIF per model feature and pairs with ``|r| > correlation_threshold`` (settings.features defaults)."""
    fs = (settings or {}).get("features") or {}
    corr_max = float(correlation_threshold if correlation_threshold is not None
                     else fs.get("correlation_threshold", DEFAULT_CORRELATION))
    vif_max = float(vif_threshold if vif_threshold is not None else fs.get("vif_threshold", DEFAULT_VIF))
    names = data.feature_names
    x = data.X.reshape(-1, len(names))
    sd = x.std(axis=0)
    varying = sd > 1e-12 * np.maximum(1.0, np.abs(x).max(axis=0))
    z = (x[:, varying] - x[:, varying].mean(0)) / sd[varying]
    kept = [n for n, v in zip(names, varying) if v]
    corr = np.corrcoef(z, rowvar=False) if len(kept) > 1 else np.ones((len(kept), len(kept)))
    corr = np.atleast_2d(corr)
    r2 = _r_squared(z)
    with np.errstate(divide="ignore"):
        vif = np.where(1.0 - r2 < 1e-12, np.inf, 1.0 / np.maximum(1.0 - r2, 1e-300))
    off = np.abs(corr - np.eye(len(kept)))
    kinds = {f.name: f.kind for f in data.features}
    rows = []
    for i, name in enumerate(kept):
        j = int(off[i].argmax()) if len(kept) > 1 else i
        rows.append({"feature": name, "kind": kinds[name], "vif": float(vif[i]), "r2": float(r2[i]),
                     "max_abs_corr": float(off[i, j]) if len(kept) > 1 else 0.0,
                     "most_correlated_with": kept[j] if len(kept) > 1 else "", "flagged": bool(vif[i] > vif_max)})
    for name in names:
        if name not in kept:
            rows.append({"feature": name, "kind": kinds[name], "vif": np.nan, "r2": np.nan, "max_abs_corr": np.nan,
                         "most_correlated_with": "", "flagged": False})
    vif_frame = pd.DataFrame(rows)
    iu = np.triu_indices(len(kept), k=1)
    pair_rows = [{"feature_a": kept[a], "feature_b": kept[b], "correlation": float(corr[a, b])}
                 for a, b in zip(*iu) if abs(corr[a, b]) > corr_max]
    pairs = pd.DataFrame(pair_rows, columns=["feature_a", "feature_b", "correlation"])
    pairs = pairs.reindex(pairs["correlation"].abs().sort_values(ascending=False).index).reset_index(drop=True)
    finite = vif_frame["vif"].replace(np.inf, np.nan)
    summary = {
        "features": len(names), "constant_features": [n for n in names if n not in kept],
        "max_vif": None if np.isinf(vif_frame["vif"]).any() else _num(finite.max()),
        "perfectly_collinear": vif_frame.loc[np.isinf(vif_frame["vif"]), "feature"].tolist(),
        "vif_threshold": vif_max,
        "features_over_vif_threshold": vif_frame.loc[vif_frame["flagged"], "feature"].tolist(),
        "correlation_threshold": corr_max, "correlated_pairs": len(pairs),
        "pairs": [f"{r.feature_a} ~ {r.feature_b} ({r.correlation:+.2f})" for r in pairs.head(20).itertuples()],
    }
    return CollinearityReport(vif_frame, pairs, summary)


def _r_squared(z: np.ndarray) -> np.ndarray:
    """R^2 of each standardised column regressed on all the others.

    Works on the F x F Gram matrix, so the cost does not grow with the number of rows
    (daily data with many nodes has tens of thousands).
    """
    f = z.shape[1]
    out = np.zeros(f)
    if f < 2:
        return out
    gram = z.T @ z
    for j in range(f):  # F is tens of features: a diagnostic, not a hot path
        rest = np.delete(np.arange(f), j)
        coef, *_ = np.linalg.lstsq(gram[np.ix_(rest, rest)], gram[rest, j], rcond=None)
        explained = float(gram[j, rest] @ coef)
        out[j] = explained / float(gram[j, j])
    return np.clip(out, 0.0, 1.0)


def _num(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)
