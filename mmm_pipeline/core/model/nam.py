"""The constrained, hierarchical Neural Additive Model for K members at once.

Prediction, in the scaled target space of each node (level: ``y / mean``; log: ``log(y / mean)``)::

    eta[k, t, n] = bias[k, n] + sum_c amp[k, n, c] * sat_c(adstock_c(spend)[t])
                 + sum_f f_f(u[t, n, f]; theta[k, n, f]) + sum_l beta[k, n, l] x[t, n, l]

Every term is a function of one input, so the prediction decomposes exactly into
per-feature contributions. Members are fully independent (no parameter is shared across K);
training K members is K fits in one tensor program.
"""

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import torch

from mmm_pipeline.core.model.features import KNOT_FAMILIES, ModelFeature
from mmm_pipeline.core.model.hierarchy import category_values, node_values, sigma_raw_init
from mmm_pipeline.core.model.layout import ParamLayout
from mmm_pipeline.core.model.media import MediaParams, media_params
from mmm_pipeline.core.model.scaling import DTYPE, ModelInputs, Scalers, group_indices
from mmm_pipeline.core.model.shapes import curves_from_hidden, hidden_units, interpolate, knot_fraction, linear_terms, output_weights
from mmm_pipeline.core.transforms.saturation import saturate
from mmm_pipeline.core.transforms.adstock import N_ADSTOCK_PARAMS, inverse_bounded
from mmm_pipeline.core.transforms.saturation import initial_raw, n_params

log = logging.getLogger(__name__)


def inverse_softplus(x: float) -> float:
    return x + math.log(-math.expm1(-x))


@dataclass
class NAMConfig:
    """Everything needed to rebuild the network (stored in checkpoints as plain values)."""

    n_models: int
    nodes: list[str]
    node_category: list[int]
    categories: list[str]
    features: list[ModelFeature]
    target_scale: str = "level"
    hidden: int = 16
    n_knots: int = 32
    l_max: int = 8
    adstock: str = "geometric"
    saturation: str = "hill"
    media_bounds: dict = field(default_factory=dict)
    pooling_mode: str = "learned"
    pooling_strength: float = 10.0
    mix_weight: float = 0.7
    sigma_bounds: tuple[float, float] = (0.01, 1.0)

    @property
    def use_deviations(self) -> bool:
        return len(self.categories) < len(self.nodes)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["features"] = [f.to_dict() for f in self.features]
        d["media_bounds"] = {k: list(v) for k, v in self.media_bounds.items()}
        d["sigma_bounds"] = list(self.sigma_bounds)
        return d

    @staticmethod
    def from_dict(d: dict) -> "NAMConfig":
        d = dict(d)
        d["features"] = [ModelFeature.from_dict(f) for f in d["features"]]
        d["media_bounds"] = {k: tuple(v) for k, v in d["media_bounds"].items()}
        d["sigma_bounds"] = tuple(d["sigma_bounds"])
        return NAMConfig(**d)


class _ContiguousGrad(torch.autograd.Function):
    """Identity whose backward makes the gradient contiguous in one copy, so the batched matrix
    products behind it do not each copy a strided ``[T, K]`` slice per node."""

    @staticmethod
    def forward(ctx, x):  # noqa: D102 (torch API)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        return grad.contiguous()


def _contiguous_grad(x: torch.Tensor) -> torch.Tensor:
    return _ContiguousGrad.apply(x)


@dataclass
class GroupOutput:
    contributions: torch.Tensor | None  # [K, T, N, Fg] (None on the training fast path)
    slopes: torch.Tensor | None  # [K, T, N, Fg] d f / d u (None on the training fast path)
    curves: torch.Tensor  # [K, N, Fg, P]
    amplitudes: torch.Tensor  # [K, N, Fg, H] effective output weights
    bounded_slopes: torch.Tensor | None = None  # [K, T, N, Fb] slopes of features with elasticity bounds


@dataclass
class NAMOutput:
    eta: torch.Tensor  # [K, T, N]
    bias: torch.Tensor  # [K, N]
    media: MediaParams | None
    adstocked: torch.Tensor | None  # [K, T, C]
    saturation: torch.Tensor | None  # [K, T, C]
    groups: dict[str, GroupOutput]
    linear: torch.Tensor | None  # [K, T, N, Fl]
    linear_beta: torch.Tensor | None  # [K, N, Fl]


class NAM(torch.nn.Module):
    """K independent NAMs in one ``[K, D]`` parameter tensor (see :mod:`.layout`)."""

    def __init__(self, cfg: NAMConfig, scalers: Scalers) -> None:
        super().__init__()
        self.cfg = cfg
        self.scalers = scalers
        self.index = group_indices(cfg.features)
        self.register_buffer("node_category", torch.as_tensor(cfg.node_category, dtype=torch.long))
        self.knots: dict[str, torch.Tensor] = {}
        self.lo: dict[str, torch.Tensor] = {}
        self.step: dict[str, torch.Tensor] = {}
        self.inv_step_cubed: dict[str, torch.Tensor] = {}
        self.direction: dict[str, torch.Tensor] = {}
        self.concave: dict[str, torch.Tensor] = {}
        for fam in KNOT_FAMILIES:
            ii = self.index[fam]
            if not ii:
                continue
            # monotone/concave curves read d*u (d = +1/-1); free curves read u and only carry
            # the direction for the soft-constraint penalty
            direction = torch.tensor([cfg.features[i].direction for i in ii], dtype=DTYPE)
            sign = torch.ones_like(direction) if fam == "free" else direction
            knots = torch.as_tensor(scalers.knots(ii), dtype=DTYPE)
            self.knots[fam] = knots * sign[:, None]
            self.lo[fam] = torch.as_tensor(scalers.knot_lo[ii], dtype=DTYPE)[None, None]
            self.step[fam] = torch.as_tensor((scalers.knot_hi[ii] - scalers.knot_lo[ii]) / (scalers.n_knots - 1), dtype=DTYPE)
            self.inv_step_cubed[fam] = self.step[fam].pow(-3)
            self.direction[fam] = direction
            self.concave[fam] = torch.tensor([cfg.features[i].concave for i in ii])
        self.init_amplitude = 0.05  # starting range of a monotone curve, in units of the node's mean target
        self.layout = self._build_layout()
        self.flat = torch.nn.Parameter(torch.zeros(cfg.n_models, self.layout.size, dtype=DTYPE))

    # ------------------------------------------------------------------ layout
    def _build_layout(self) -> ParamLayout:
        """Shared parameters first, then every node deviation, then every prior scale.

        Deviations and prior scales are contiguous so the hierarchical penalty is one
        matrix product over a slice of the flat tensor, whatever the number of features.
        """
        cfg = self.cfg
        lay = ParamLayout()
        n, g, h = len(cfg.nodes), len(cfg.categories), cfg.hidden
        devs: list[tuple[str, tuple[int, ...], list[int], int]] = []
        lay.add("bias", (n,))
        media = self.index["media"]
        if media:
            c = len(media)
            lay.add("media.adstock", (c, N_ADSTOCK_PARAMS[cfg.adstock]), media, 0)
            lay.add("media.saturation", (c, n_params(cfg.saturation)), media, 0)
            lay.add("media.amp_cat", (g, c), media, 1)
            devs.append(("media.amp", (n, c), media, 1))
        for fam in KNOT_FAMILIES:
            ii = self.index[fam]
            if not ii:
                continue
            for p in "awb":
                lay.add(f"{fam}.{p}_cat", (g, len(ii), h), ii, 1)
            # nodes deviate in the output weights: the category's hidden units are a shared
            # basis, each node re-weights it (positively, so monotone curves stay monotone)
            devs.append((f"{fam}.a", (n, len(ii), h), ii, 1))
        li = self.index["linear"]
        if li:
            lay.add("linear.beta_cat", (g, len(li)), li, 1)
            devs.append(("linear.beta", (n, len(li)), li, 1))
        self.dev_names = [d[0] for d in devs] if cfg.use_deviations else []
        if cfg.use_deviations:
            for stem, shape, owners, axis in devs:
                lay.add(f"{stem}_dev", shape, owners, axis)
            if cfg.pooling_mode == "learned":
                for stem, shape, owners, axis in devs:
                    lay.add(f"{stem}_sigma", (shape[axis],), owners, 0)
        return lay

    def deviation_slices(self) -> tuple[slice, slice, torch.Tensor]:
        """Flat ranges of all deviations and all prior scales, and the ``[D_dev, S]`` map between them."""
        ent = self.layout.entries
        if not self.dev_names:
            return slice(0, 0), slice(0, 0), torch.zeros(0, 0, dtype=DTYPE)
        first, last = ent[f"{self.dev_names[0]}_dev"], ent[f"{self.dev_names[-1]}_dev"]
        dev = slice(first.offset, last.offset + len(last.owners))
        if self.cfg.pooling_mode != "learned":
            return dev, slice(0, 0), torch.zeros(dev.stop - dev.start, 0, dtype=DTYPE)
        s_first, s_last = ent[f"{self.dev_names[0]}_sigma"], ent[f"{self.dev_names[-1]}_sigma"]
        sig = slice(s_first.offset, s_last.offset + len(s_last.owners))
        group = []
        for stem in self.dev_names:
            e, se = ent[f"{stem}_dev"], ent[f"{stem}_sigma"]
            feat_pos = np.broadcast_to(np.arange(e.shape[1]).reshape(1, -1, *([1] * (len(e.shape) - 2))), e.shape)
            group.append(se.offset - sig.start + feat_pos.reshape(-1))
        onehot = np.zeros((dev.stop - dev.start, sig.stop - sig.start), dtype=np.float32)
        onehot[np.arange(onehot.shape[0]), np.concatenate(group)] = 1.0
        return dev, sig, torch.as_tensor(onehot)

    def views(self, flat: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        return self.layout.views(self.flat if flat is None else flat)

    # ------------------------------------------------------------------ init
    def init_member(self, gen: torch.Generator) -> torch.Tensor:
        """One member's ``[D]`` initial parameters, drawn from ``gen`` (see docs/methodology.md)."""
        cfg = self.cfg
        v = {name: torch.zeros(e.shape, dtype=DTYPE) for name, e in self.layout.entries.items()}
        v["bias"][:] = 1.0 if cfg.target_scale == "level" else 0.0
        sig0 = sigma_raw_init(min(0.1, cfg.sigma_bounds[1] * 0.5), cfg.sigma_bounds)
        for name in v:
            if name.endswith("_sigma"):
                v[name][:] = sig0
        if self.index["media"]:
            b = cfg.media_bounds
            c = len(self.index["media"])
            ad = v["media.adstock"]
            if cfg.adstock in ("geometric", "delayed"):
                ad[:, 0] = inverse_bounded(0.3, *b["decay"])
            if cfg.adstock == "delayed":
                ad[:, 1] = inverse_bounded(1.0, 0.0, float(cfg.l_max - 1))
            if cfg.adstock == "weibull":
                ad[:, 0] = inverse_bounded(1.5, *b["weibull_shape"])
                ad[:, 1] = inverse_bounded(2.0, 0.1, float(cfg.l_max))
            v["media.saturation"][:] = torch.tensor(initial_raw(cfg.saturation, b), dtype=DTYPE)
            v["media.saturation"] += 0.1 * torch.randn(v["media.saturation"].shape, generator=gen)
            v["media.amp_cat"][:] = inverse_softplus(0.3 / c)
        h = cfg.hidden
        for fam in KNOT_FAMILIES:
            if fam not in self.knots:
                continue
            knots = self.knots[fam]
            lo, hi = knots.min(1).values, knots.max(1).values  # [Fg]
            shape = v[f"{fam}.a_cat"].shape  # [G, Fg, H]
            centres = lo[None, :, None] + (hi - lo)[None, :, None] * torch.rand(shape, generator=gen)
            if fam == "free":
                w = torch.randn(shape, generator=gen) * 1.0
                v[f"{fam}.w_cat"][:] = w
                v[f"{fam}.b_cat"][:] = -w * centres
                v[f"{fam}.a_cat"][:] = torch.randn(shape, generator=gen) * 0.02
            else:
                wpos = 0.5 + 1.5 * torch.rand(shape, generator=gen)
                v[f"{fam}.w_cat"][:] = torch.log(torch.expm1(wpos))
                v[f"{fam}.b_cat"][:] = -wpos * centres
                v[f"{fam}.a_cat"][:] = inverse_softplus(float(self.init_amplitude) / h)
        return torch.cat([v[name].reshape(-1) for name in self.layout.entries])

    def initialise(self, seeds: list[int]) -> None:
        """Draw member ``k`` from ``torch.Generator().manual_seed(seeds[k])``: reproducible by member."""
        drawn = {int(s): self.init_member(torch.Generator().manual_seed(int(s))) for s in dict.fromkeys(seeds)}
        rows = [drawn[int(s)] for s in seeds]
        with torch.no_grad():
            self.flat.copy_(torch.stack(rows))

    # ------------------------------------------------------------------ parameters
    def _node_param(self, v: dict, name: str) -> torch.Tensor:
        return node_values(v[f"{name}_cat"], v.get(f"{name}_dev"), self.node_category)

    def group_curves(self, v: dict, fam: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``[K, N, Fg, P]`` curve values at the knots for one family, and the node output weights ``[K, N, Fg, H]``.

        Hidden units are evaluated once per category; ``mix`` mixes output weights, which is
        the same as mixing the curves because they share the hidden units.
        """
        a_cat = v[f"{fam}.a_cat"]
        a_dev = v.get(f"{fam}.a_dev")
        amp = output_weights(fam, node_values(a_cat, a_dev, self.node_category))
        if self.cfg.pooling_mode == "mix" and a_dev is not None:
            w = self.cfg.mix_weight
            amp = w * output_weights(fam, category_values(a_cat, self.node_category)) + (1 - w) * amp
        hidden = hidden_units(fam, v[f"{fam}.w_cat"], v[f"{fam}.b_cat"], self.knots[fam])  # [K, G, Fg, P, H]
        return curves_from_hidden(hidden, amp, self.node_category), amp

    def linear_beta(self, v: dict) -> torch.Tensor:
        cat, dev = v["linear.beta_cat"], v.get("linear.beta_dev")
        if self.cfg.pooling_mode == "mix" and dev is not None:
            return node_values(cat, (1 - self.cfg.mix_weight) * dev, self.node_category)
        return node_values(cat, dev, self.node_category)

    def media_params(self, v: dict | None = None) -> MediaParams:
        return media_params(self.views() if v is None else v, self.cfg, self.node_category)

    # ------------------------------------------------------------------ forward
    def _group_fast(self, curves: torch.Tensor, amp: torch.Tensor, gi, acc: torch.Tensor | None) -> tuple[GroupOutput, torch.Tensor]:
        """Training path: add the family's summed contribution to ``acc [N, T, K]`` by one (b)addbmm;
        slopes only where bounded."""
        k, n, f, p = curves.shape
        t = gi.interp.shape[1]
        c = curves.permute(1, 2, 3, 0).reshape(n, f * p, k)  # [N, Fg*P, K]
        part = torch.bmm(gi.interp, c) if acc is None else torch.baddbmm(acc, gi.interp, c)
        bounded = None
        if gi.slope_op is not None:
            fb = len(gi.bounded)
            bounded = torch.bmm(gi.slope_op, c).reshape(n, t, fb, k).permute(3, 1, 0, 2)  # [K, T, N, Fb]
        return GroupOutput(None, None, curves, amp, bounded), part

    def forward(self, inputs: ModelInputs, flat: torch.Tensor | None = None, u_override: dict | None = None,
                detail: bool = True) -> NAMOutput:
        """One pass for all members. ``u_override[fam]`` (``[K, T, N, Fg]``) lets autograd see inputs.

        ``detail=False`` (training) skips per-feature contributions and uses the dense
        interpolation operators when the inputs carry them.
        """
        v = self.views(flat)
        bias = v["bias"]
        eta = bias.unsqueeze(1)
        media = adstocked = sat = None
        if self.index["media"]:
            media = self.media_params(v)
            # adstock as one bmm: [C, T, L] @ [C, L, K] -> [C, T, K]
            adstocked = torch.bmm(inputs.lags_ctl, media.weights.permute(1, 2, 0)).permute(2, 1, 0)
            sat = saturate(self.cfg.saturation, adstocked, media.shape, inputs.media_positive)
            eta = eta + torch.bmm(sat, media.amplitude.transpose(1, 2))
        groups = {}
        acc = None  # training fast path: knot and linear terms summed in [N, T, K] by chained bmm
        for fam, gi in inputs.groups.items():
            curves, amp = self.group_curves(v, fam)
            if not detail and gi.interp is not None:
                groups[fam], acc = self._group_fast(curves, amp, gi, acc)
                continue
            if u_override is not None and fam in u_override:
                frac = knot_fraction(u_override[fam], gi.segment, self.lo[fam], self.step[fam])
            else:
                frac = gi.frac
            contrib, slope = interpolate(curves, frac, gi.flat_index, self.step[fam])
            bounded = [j for j, i in enumerate(gi.index) if self.cfg.features[i].elasticity_bounds is not None]
            groups[fam] = GroupOutput(contrib, slope, curves, amp, slope[..., bounded] if bounded else None)
            eta = eta + contrib.sum(-1)
        lin = beta = None
        if inputs.linear_index:
            beta = self.linear_beta(v)
            if detail:
                lin = linear_terms(inputs.linear_x, beta)
                eta = eta + lin.sum(-1)
            else:  # [N, T, Fl] @ [N, Fl, K] -> [N, T, K]
                b = beta.permute(1, 2, 0)
                acc = torch.bmm(inputs.linear_ntf, b) if acc is None else torch.baddbmm(acc, inputs.linear_ntf, b)
        if acc is not None:
            eta = eta + _contiguous_grad(acc).permute(2, 1, 0)
        eta = eta.expand(-1, inputs.n_periods, -1) if eta.shape[1] == 1 else eta
        return NAMOutput(eta, bias, media, adstocked, sat, groups, lin, beta)

    def member_slice(self, k: int) -> "NAM":
        cfg = NAMConfig(**{**self.cfg.__dict__, "n_models": 1})
        out = NAM(cfg, self.scalers)
        with torch.no_grad():
            out.flat.copy_(self.flat[k : k + 1])
        return out

    def feature_contributions(self, out: NAMOutput) -> torch.Tensor:
        """``[K, T, N, F]`` contribution of every model feature in scaled space, model-feature order."""
        k, t, n = out.eta.shape
        contrib = torch.zeros(k, t, n, len(self.cfg.features), dtype=out.eta.dtype)
        if out.media is not None:
            mi = self.index["media"]
            contrib[..., mi] = out.saturation.unsqueeze(2) * out.media.amplitude.unsqueeze(1)
        for fam, g in out.groups.items():
            contrib[..., self.index[fam]] = g.contributions
        if out.linear is not None:
            contrib[..., self.index["linear"]] = out.linear
        return contrib


def member_seeds(seed: int, n_models: int, mode: str) -> list[int]:
    """``same``: every member starts from one draw; ``different``: member k from ``seed + k``."""
    return [seed] * n_models if mode == "same" else [seed + k for k in range(n_models)]
