"""Scalers fitted on the training periods, and the tensors the NAM reads.

Why each scaling:

- target: each node's target is divided by its training mean, so a curve means "fraction of
  this node's typical sales" and sub-categories of very different size can share it.
- media: spend is divided by the channel's mean non-zero training spend, so saturation bounds
  (``hill_half_bounds`` ...) mean the same thing for every channel.
- own prices (``log_inputs`` kinds, strictly positive): log, centred per node, so the curve's
  slope is an elasticity and nodes with different price levels share one curve.
- other shaped inputs: centred (per node unless national) and divided by a pooled standard
  deviation; linear inputs are only divided by their largest absolute value, so a 0/1 event
  keeps its 0/1 meaning.

Scalers are fitted on training rows only, so a walk-forward fold or a bootstrap replicate
never sees statistics of data it was not trained on. Shaped (non-linear) features are
evaluated on a fixed grid of knots spanning the training range plus a margin and linearly
interpolated between knots: the network is exact at every knot, linear interpolation keeps
monotonicity and concavity exactly, and it makes a K=100 batch cheap. Beyond the margin the
curve is flat (no extrapolation far outside the evidence).
"""

import logging
from dataclasses import dataclass

import numpy as np
import torch

from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.model.features import KNOT_FAMILIES, ModelFeature, time_values
from mmm_pipeline.core.model.shapes import flat_knot_index, knot_fraction
from mmm_pipeline.core.transforms.adstock import lag_tensor
from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

DTYPE = torch.float32


@dataclass
class Scalers:
    """Training-period statistics; all arrays, so a checkpoint stores them exactly."""

    target_mean: np.ndarray  # [N]
    media_scale: np.ndarray  # [C]
    center: np.ndarray  # [F, N]
    scale: np.ndarray  # [F]
    knot_lo: np.ndarray  # [F]
    knot_hi: np.ndarray  # [F]
    time_origin: float
    time_span: float
    n_knots: int

    def to_dict(self) -> dict:
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()}

    @staticmethod
    def from_dict(d: dict) -> "Scalers":
        arrays = ("target_mean", "media_scale", "center", "scale", "knot_lo", "knot_hi")
        return Scalers(**{k: (np.asarray(v, dtype=np.float64) if k in arrays else v) for k, v in d.items()})

    def knots(self, index: list[int]) -> np.ndarray:
        """``[len(index), P]`` knot positions of the given features."""
        t = np.linspace(0.0, 1.0, self.n_knots)
        lo, hi = self.knot_lo[index], self.knot_hi[index]
        return lo[:, None] + (hi - lo)[:, None] * t[None, :]


def check_finite(data: ModelData) -> None:
    """Reject NaN/inf with the feature, nodes and dates at fault."""
    for name, arr in (("y", data.y[:, :, None]), ("X", data.X)):
        bad = ~np.isfinite(arr)
        if bad.any():
            t, n, f = np.nonzero(bad)
            what = data.target_name if name == "y" else data.features[f[0]].name
            dates = [str(d.date()) for d in data.dates[np.unique(t)[:5]]]
            raise ValueError(
                f"{data.dataset or 'model data'}: {int(bad.sum())} missing or infinite values in "
                f"'{what}' (node {data.nodes[n[0]]}, dates {join_names(dates)} ...); fill them in the features stage"
            )


def full_matrix(data: ModelData, features: list[ModelFeature], origin: float, span: float) -> np.ndarray:
    """``[T, N, F]`` raw values of every model feature: data columns, then time terms."""
    time_names = [f.name for f in features if f.source == "time"]
    tv = time_values(data.dates, time_names, origin, span)
    tv = np.broadcast_to(tv[:, None, :], (len(data.dates), len(data.nodes), tv.shape[1]))
    return np.concatenate([data.X.astype(np.float64), tv], axis=2)


def _transformed(x: np.ndarray, feat: ModelFeature) -> np.ndarray:
    return np.log(np.maximum(x, 1e-300)) if feat.transform == "log" else x


def fit_scalers(
    data: ModelData, features: list[ModelFeature], train: np.ndarray, target_scale: str, n_knots: int,
    margin: float, free_margin: float = 0.0,
) -> Scalers:
    """Statistics of the fitted rows (``train`` is a boolean ``[T]``).

    Knots span the fitted range plus ``margin`` of it on each side for constrained curves
    (their shape is known beyond the data) and ``free_margin`` for free curves, which are
    flat outside the data they were fitted on: a trend continues at its last level, an
    unseen NPS value gets the nearest seen value's effect.
    """
    if target_scale not in ("level", "log"):
        raise ValueError(f"settings.model.target_scale must be 'level' or 'log', got '{target_scale}'")
    y = data.y[train]
    target_mean = y.mean(0)
    if np.any(target_mean <= 0):
        bad = [data.nodes[i] for i in np.nonzero(target_mean <= 0)[0]]
        raise ValueError(f"target '{data.target_name}' has a non-positive training mean for node(s) {join_names(bad)}; "
                         "the model scales each node by its mean, so drop or merge those nodes")
    if target_scale == "log" and np.any(y <= 0):
        raise ValueError(f"target_scale 'log' needs a positive target; '{data.target_name}' has "
                         f"{int((y <= 0).sum())} non-positive training values: use target_scale 'level'")
    spend = data.spend[train]
    pos_mean = np.array([s[s > 0].mean() if np.any(s > 0) else 1.0 for s in spend.T])
    dates = data.dates[train]
    origin = float(dates.values.astype("datetime64[D]").astype(np.int64)[0])
    span = float(max((dates[-1] - dates[0]).days, 1))
    X = full_matrix(data, features, origin, span)[train]
    f_count, n_nodes = len(features), len(data.nodes)
    center = np.zeros((f_count, n_nodes))
    scale = np.ones(f_count)
    lo = np.zeros(f_count)
    hi = np.ones(f_count)
    for i, feat in enumerate(features):
        v = _transformed(X[:, :, i], feat)
        if feat.transform in ("log", "standard"):
            c = v.mean(0) if not feat.national else np.full(n_nodes, v.mean())
            sd = float((v - c).std())
            center[i], scale[i] = c, (sd if sd > 1e-12 else 1.0)
        elif feat.transform == "unit":
            m = float(np.abs(v).max())
            scale[i] = m if m > 1e-12 else 1.0
        if feat.family in KNOT_FAMILIES:
            u = (v - center[i]) / scale[i]
            a, b = float(u.min()), float(u.max())
            width = b - a
            if width < 1e-9:
                log.warning("feature '%s' is constant in the training window; its curve is not identified", feat.name)
                a, b, width = a - 1.0, b + 1.0, 0.0
            pad = free_margin if feat.family == "free" else margin
            lo[i], hi[i] = a - pad * width, b + pad * width
    return Scalers(target_mean, pos_mean, center, scale, lo, hi, origin, span, n_knots)


@dataclass
class KnotGroupInputs:
    """Inputs of one knot family: scaled values, the knot segment of each, d u / d log x."""

    index: list[int]  # model-feature indices
    u: torch.Tensor  # [T, N, Fg]
    segment: torch.Tensor  # [T, N, Fg] long, 0..P-2
    du_dlogx: torch.Tensor  # [T, N, Fg]
    frac: torch.Tensor  # [T, N, Fg] position inside the segment, clamped to [0, 1]
    flat_index: torch.Tensor  # [T*N*Fg] index of the left knot in curves.reshape(K, N*Fg*P)
    interp: torch.Tensor | None = None  # [N, T, Fg*P] interpolation weights (training fast path)
    bounded: list[int] | None = None  # positions (in the group) of features with elasticity bounds
    slope_op: torch.Tensor | None = None  # [N, T*Fb, Fg*P] knot-segment slope of each bounded feature


@dataclass
class ModelInputs:
    """Everything one forward pass reads, for one dataset slice (shared by all K members)."""

    n_periods: int
    n_nodes: int
    lags: torch.Tensor  # [T, L, C] scaled spend by lag
    lags_ctl: torch.Tensor  # [C, T, L] the same, laid out for one bmm
    media_positive: torch.Tensor  # [T, C] 1 where some spend within the lag window is above zero
    spend_scaled: torch.Tensor  # [T, C]
    groups: dict[str, KnotGroupInputs]
    linear_index: list[int]
    linear_x: torch.Tensor  # [T, N, Fl]
    linear_dx_dlogx: torch.Tensor  # [T, N, Fl]
    linear_ntf: torch.Tensor  # [N, T, Fl] the same values laid out for one bmm
    y_scaled: torch.Tensor | None  # [T, N] level: y/m, log: log(y/m)


def group_indices(features: list[ModelFeature]) -> dict[str, list[int]]:
    return {fam: [i for i, f in enumerate(features) if f.family == fam] for fam in ("media", *KNOT_FAMILIES, "linear")}


#: largest interpolation operator (elements) built for the training fast path; bigger problems use gathers
MAX_DENSE_OPERATOR = 40_000_000


def _add_dense_operators(gi: KnotGroupInputs, feats: list[ModelFeature], seg: np.ndarray, frac: np.ndarray,
                         step: np.ndarray, n_knots: int) -> None:
    """Interpolation as a dense ``[N, T, Fg*P]`` matrix, so the training pass is one batched matmul.

    Linear interpolation is linear in the knot values, so evaluating every observation of a
    family for all K members is ``interp @ curves`` (and its gradient ``interp^T @ grad``):
    one bmm instead of two gathers and a scatter per step, which is what keeps K=100 cheap.
    """
    t, n, f = seg.shape
    w = np.zeros((n, t, f, n_knots), dtype=np.float32)
    tt, nn, ff = np.meshgrid(np.arange(t), np.arange(n), np.arange(f), indexing="ij")
    np.add.at(w, (nn, tt, ff, seg), 1.0 - frac)
    np.add.at(w, (nn, tt, ff, seg + 1), frac)
    gi.interp = torch.as_tensor(w.reshape(n, t, f * n_knots))
    gi.bounded = [j for j, feat in enumerate(feats) if feat.elasticity_bounds is not None]
    if gi.bounded:
        fb = len(gi.bounded)
        d = np.zeros((n, t, fb, f, n_knots), dtype=np.float32)
        for b, j in enumerate(gi.bounded):
            tj, nj = np.meshgrid(np.arange(t), np.arange(n), indexing="ij")
            d[nj, tj, b, j, seg[:, :, j]] = -1.0 / step[j]
            d[nj, tj, b, j, seg[:, :, j] + 1] = 1.0 / step[j]
        gi.slope_op = torch.as_tensor(d.reshape(n, t * fb, f * n_knots))


def prepare_inputs(
    data: ModelData,
    features: list[ModelFeature],
    scalers: Scalers,
    l_max: int,
    target_scale: str,
    carry_in: np.ndarray | None = None,
    dense_operators: bool = False,
) -> ModelInputs:
    """Scale ``data`` with the fitted scalers and lay it out for the batched forward pass."""
    check_finite(data)
    X = full_matrix(data, features, scalers.time_origin, scalers.time_span)
    idx = group_indices(features)
    spend = X[:, 0, idx["media"]] / scalers.media_scale[None, :]
    spend_t = torch.as_tensor(spend, dtype=DTYPE)
    carry = None if carry_in is None else torch.as_tensor(carry_in / scalers.media_scale[None, :], dtype=DTYPE)
    lags = lag_tensor(spend_t, l_max, carry)
    groups = {}
    for fam in KNOT_FAMILIES:
        if not idx[fam]:
            continue
        ii = idx[fam]
        raw = X[:, :, ii]
        v = np.stack([_transformed(raw[:, :, j], features[i]) for j, i in enumerate(ii)], 2)
        u = (v - scalers.center[ii].T[None]) / scalers.scale[ii][None, None]
        lo, hi = scalers.knot_lo[ii], scalers.knot_hi[ii]
        step = (hi - lo) / (scalers.n_knots - 1)
        seg = np.clip(np.floor((u - lo) / step), 0, scalers.n_knots - 2).astype(np.int64)
        dlog = np.stack(
            [
                (np.full(raw.shape[:2], 1.0) if features[i].transform == "log" else raw[:, :, j]) / scalers.scale[i]
                if features[i].source == "data" else np.zeros(raw.shape[:2])
                for j, i in enumerate(ii)
            ],
            2,
        )
        u_t, seg_t = torch.as_tensor(u, dtype=DTYPE), torch.as_tensor(seg)
        lo_t, step_t = torch.as_tensor(lo, dtype=DTYPE), torch.as_tensor(step, dtype=DTYPE)
        frac_t = knot_fraction(u_t, seg_t, lo_t, step_t)
        gi = KnotGroupInputs(ii, u_t, seg_t, torch.as_tensor(dlog, dtype=DTYPE), frac_t, flat_knot_index(seg_t, scalers.n_knots))
        if dense_operators and len(data.nodes) * len(data.dates) * len(ii) * scalers.n_knots <= MAX_DENSE_OPERATOR:
            _add_dense_operators(gi, [features[i] for i in ii], seg, frac_t.numpy(), step, scalers.n_knots)
        groups[fam] = gi
    li = idx["linear"]
    lin = X[:, :, li] / scalers.scale[li][None, None] if li else np.zeros(X.shape[:2] + (0,))
    lin_d = np.where(np.array([features[i].source == "data" for i in li], dtype=bool)[None, None, :], lin, 0.0) if li else lin
    y_scaled = None
    if data.y is not None:
        ys = data.y / scalers.target_mean[None, :]
        if target_scale == "log":
            ys = np.log(np.maximum(ys, 1e-12))
        y_scaled = torch.as_tensor(ys, dtype=DTYPE)
    return ModelInputs(
        n_periods=len(data.dates),
        n_nodes=len(data.nodes),
        lags=lags,
        lags_ctl=lags.permute(2, 0, 1).contiguous(),
        media_positive=(lags.sum(1) > 0).to(DTYPE),
        spend_scaled=spend_t,
        groups=groups,
        linear_index=li,
        linear_x=torch.as_tensor(lin, dtype=DTYPE),
        linear_dx_dlogx=torch.as_tensor(lin_d, dtype=DTYPE),
        linear_ntf=torch.as_tensor(np.ascontiguousarray(lin.transpose(1, 0, 2)), dtype=DTYPE),
        y_scaled=y_scaled,
    )


def check_compatible(data: ModelData, nodes: list[str], feature_names: list[str]) -> None:
    """A fitted model can only read data with its own nodes and features, in its order."""
    if list(data.nodes) != list(nodes):
        raise ValueError(f"data nodes {join_names(data.nodes)} differ from the fitted model's nodes {join_names(nodes)}")
    if data.feature_names != list(feature_names):
        raise ValueError(f"data features {join_names(data.feature_names)} differ from the fitted model's "
                         f"{join_names(feature_names)}")

