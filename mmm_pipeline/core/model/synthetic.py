"""Small ModelData problems with known truth, for model tests and speed benchmarks.

Not a business simulator (that is :mod:`mmm_pipeline.core.data.simulator`): this builds the
model's own functional form directly as arrays, so tests of the model's machinery (recovery
of its own form, monotonicity, determinism, checkpoints) do not depend on feature
engineering, and benchmarks can make problems of any size.
"""

import numpy as np
import pandas as pd

from mmm_pipeline.core.features.model_data import DEFAULT_BLOCK, FeatureSpec, ModelData

FREQ = {"daily": "D", "weekly": "7D", "monthly": "MS"}


def _flighted(rng: np.random.Generator, t: int, level: float, on_share: float) -> np.ndarray:
    """Bursty spend: on/off runs with log-normal levels, so adstock and saturation are visible."""
    on = np.zeros(t, dtype=bool)
    i = 0
    while i < t:
        run = int(rng.integers(2, 8))
        on[i : i + run] = rng.random() < on_share
        i += run
    return np.round(np.where(on, level * rng.lognormal(0.0, 0.4, t), 0.0), 2)


def _geometric(decay: float, l_max: int) -> np.ndarray:
    w = decay ** np.arange(l_max)
    return w / w.sum()


def _adstock(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x)
    for lag, wl in enumerate(w):
        out[lag:] += wl * x[: len(x) - lag]
    return out


def synthetic_model_data(
    seed: int = 0,
    *,
    n_periods: int = 156,
    frequency: str = "weekly",
    nodes: tuple[str, ...] = ("total",),
    categories: tuple[str, ...] | None = None,
    n_channels: int = 3,
    n_decreasing: int = 1,
    n_increasing: int = 1,
    n_free: int = 1,
    n_linear: int = 1,
    l_max: int = 8,
    noise: float = 0.03,
    media_share: float = 0.25,
) -> tuple[ModelData, dict]:
    """A level-scale additive problem and its truth (see module docstring).

    Truth keys: ``decay``, ``half`` (money), ``slope``, ``coefficient`` (revenue per period at
    saturation, summed over nodes), ``contributions`` ``[T, N, F]`` in revenue units,
    ``media_share_of_media`` ``[C]``, ``elasticity`` ``{feature: [N]}`` (mean d log y / d log x).
    """
    rng = np.random.default_rng(seed)
    t, n = n_periods, len(nodes)
    cats = list(categories) if categories is not None else list(nodes)
    dates = pd.date_range("2021-01-04", periods=t, freq=FREQ[frequency])
    level = rng.uniform(200.0, 2000.0, n)  # node mean sales
    feats: list[FeatureSpec] = []
    cols: list[np.ndarray] = []  # [T, N] each
    terms: list[np.ndarray] = []  # scaled contribution [T, N]
    truth: dict = {"decay": [], "half": [], "slope": [], "coefficient": [], "elasticity": {}}

    def add(name: str, kind: str, x: np.ndarray, term: np.ndarray, national: bool) -> None:
        feats.append(FeatureSpec(name, kind, DEFAULT_BLOCK[kind], national))
        cols.append(x)
        terms.append(term)

    node_gain = rng.uniform(0.7, 1.3, n)
    share_draw = rng.dirichlet(np.full(max(n_channels, 1), 3.0))
    for c in range(n_channels):
        spend = _flighted(rng, t, rng.uniform(1e3, 1e4), rng.uniform(0.5, 0.8))
        decay = round(float(rng.uniform(0.1, 0.7)), 2)
        on_mean = spend[spend > 0].mean() if np.any(spend > 0) else 1.0
        half = float(rng.uniform(0.6, 1.2) * on_mean)
        slope = round(float(rng.uniform(1.0, 2.0)), 2)
        ad = _adstock(spend, _geometric(decay, l_max))
        sat = ad**slope / (half**slope + ad**slope)
        amp = media_share * share_draw[c] / max(sat.mean(), 1e-6) * node_gain
        term = sat[:, None] * amp[None, :]
        add(f"media_{c}", "media", np.repeat(spend[:, None], n, 1), term, True)
        truth["decay"].append(decay)
        truth["half"].append(half)
        truth["slope"].append(slope)
        truth["coefficient"].append(float((amp * level).sum()))
    el_true = {}
    for j in range(n_decreasing):
        base_price = rng.uniform(10.0, 100.0, n)
        wiggle = np.zeros((t, n))
        for i in range(1, t):  # AR(1) price moves of about 10%
            wiggle[i] = 0.7 * wiggle[i - 1] + rng.normal(0, 0.07, n)
        logp = np.log(base_price)[None, :] + wiggle
        e = -float(rng.uniform(0.8, 2.0))
        term = e * (logp - logp.mean(0))
        add(f"price_{j}", "decreasing", np.round(np.exp(logp), 2), term, False)
        el_true[f"price_{j}"] = e
    for j in range(n_increasing):
        disc = np.where(rng.random((t, n)) < 0.3, rng.uniform(0.05, 0.3, (t, n)), 0.0)
        add(f"discount_{j}", "increasing", disc, 0.6 * disc, False)
    for j in range(n_free):
        z = np.cumsum(rng.normal(0, 0.3, t))
        z = (z - z.mean()) / (z.std() + 1e-9)
        add(f"control_{j}", "free", np.repeat(z[:, None], n, 1), np.repeat(0.05 * np.tanh(z)[:, None], n, 1), True)
    for j in range(n_linear):
        ev = (rng.random(t) < 0.05).astype(float)
        add(f"event_{j}", "linear", np.repeat(ev[:, None], n, 1), np.repeat(0.1 * ev[:, None], n, 1), True)
    scaled = 1.0 + sum(tm - (tm.mean(0) if f.kind != "media" else 0) for tm, f in zip(terms, feats))
    y_clean = level[None, :] * scaled
    y = y_clean * (1.0 + noise * rng.normal(0, 1, (t, n)))
    X = np.stack(cols, 2)
    contrib = np.stack(terms, 2) * level[None, :, None]
    media_tot = contrib[:, :, :n_channels].sum(axis=(0, 1))
    truth["contributions"] = contrib
    truth["media_share_of_media"] = media_tot / media_tot.sum() if n_channels else np.zeros(0)
    for name, e in el_true.items():
        truth["elasticity"][name] = (e * level[None, :] / y_clean).mean(0)
    truth["level"] = level
    truth["l_max"] = l_max
    node_category = [cats[i % len(cats)] for i in range(n)] if categories is not None else list(nodes)
    data = ModelData(dates=dates, nodes=list(nodes), node_category=node_category, X=X, y=y, features=feats,
                     frequency=frequency, target_name="sales", dataset=f"synthetic_s{seed}")
    return data, truth
