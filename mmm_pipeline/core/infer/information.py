"""How much the data, and how much the model's own assumptions, pin down each channel's return.

The bootstrap refits the model on resampled periods, but every replicate shares the same
regularisers, bounds and starting point. Where the data say little, the replicates agree with
each other because the assumptions decide, and the interval is narrow for the wrong reason.
The Fisher information of the fit says what the data alone can support: by the Cramér-Rao
bound no unbiased estimator of a channel's ROAS has a smaller variance than
``g' F⁻¹ g`` (``g`` the gradient of ROAS in the parameters, ``F`` the information).

Computed here for the fitted NAM (one member), all from autograd:

- ``F_data = J' J / σ²`` (Gauss-Newton; ``J`` the Jacobian of the scaled prediction over the
  training periods, every other parameter of the model included, so what a control curve or
  the trend can absorb is profiled out), divided by a long-run-variance factor
  ``(1 + ρ) / (1 - ρ)`` for the residuals' lag-1 autocorrelation ``ρ``: autocorrelated noise
  carries less information than its count of periods suggests.
- ``F_total = F_data + H_pen``: the curvature the regularisers add (hierarchy, smoothness,
  weight decay, elasticity bounds, ROAS priors — the trainer's own penalties, in the same
  likelihood units) and parameters sitting at a bound held fixed, as a bound does.
- per channel: the ROAS standard error under each, and the *prior share*
  ``1 - var_total / var_data``: how much of the precision the assumptions supply.

Directions the data cannot see at all (eigenvalues of ``F`` that are numerically zero) give an
infinite standard error when the ROAS moves along them, never a silently dropped term.
"""

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import torch

from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.model.fitted import FittedNAM
from mmm_pipeline.core.model.nam import NAM, NAMConfig
from mmm_pipeline.core.model.scaling import ModelInputs

log = logging.getLogger(__name__)

#: eigenvalues (unit-diagonal scaling) below this fraction of the largest are directions the fit
#: cannot see: a condition number past 1e7 is beyond what a float32 Jacobian resolves, and a
#: direction that weak would leave any ROAS that leans on it unidentified anyway
EIGEN_TOLERANCE = 1e-7
#: ridge on the unit-scaled nuisance block (see :func:`profiled_forms`)
NUISANCE_RIDGE = 1e-8
#: a ROAS gradient with more than this share of its norm in unseen directions is not estimable
NULL_SHARE = 1e-3
#: a bounded parameter within this share of its range from a bound is "at its bound"
AT_BOUND = 0.01
#: largest residual autocorrelation credited when widening for it (keeps the factor <= 19)
MAX_RHO = 0.9
#: outputs (or parameter directions) per batched pass
CHUNK = 256


@dataclass(frozen=True)
class ChannelInformation:
    """What the information says about one channel's ROAS (relative standard errors)."""

    roas: float  # the fitted model's ROAS (level of the delta-method linearisation)
    rel_se_data: float  # standard error / ROAS from the evidence: sales history and lift tests (inf: unseen)
    rel_se_total: float  # ... with the regularisers, priors and active bounds included
    rel_se_sales: float = math.nan  # ... from the sales history alone (equal to rel_se_data without lift tests)
    at_bounds: tuple[str, ...] = field(default_factory=tuple)  # its parameters held by a bound

    @property
    def prior_share(self) -> float:
        """Share of the ROAS precision supplied by the model's assumptions rather than the data."""
        if not math.isfinite(self.rel_se_data):
            return 1.0
        if self.rel_se_data <= 0 or not math.isfinite(self.rel_se_total):
            return 0.0
        return float(min(1.0, max(0.0, 1.0 - (self.rel_se_total / self.rel_se_data) ** 2)))

    def to_dict(self) -> dict:
        return {
            "roas_model": _finite(self.roas),
            "roas_rel_se": _finite(self.rel_se_data),
            "roas_se": _finite(self.rel_se_data * abs(self.roas)),
            "roas_rel_se_with_priors": _finite(self.rel_se_total),
            "roas_rel_se_sales_only": _finite(self.rel_se_sales),
            "prior_share": round(self.prior_share, 4),
            "at_bounds": list(self.at_bounds),
        }


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


# ---------------------------------------------------------------------------- batched autograd


def _copies(model: NAM, k: int) -> NAM:
    """A K-member NAM with the same configuration: K independent copies of one parameter row."""
    return NAM(NAMConfig(**{**model.cfg.__dict__, "n_models": k}), model.scalers)


def output_jacobian(model: NAM, inputs: ModelInputs, theta: torch.Tensor, rows: np.ndarray) -> torch.Tensor:
    """``[R, D]`` derivative of the scaled prediction at flat positions ``rows`` of ``[T, N]``.

    Members are independent, so member ``k`` of a K-copy batch differentiates output
    ``rows[k]``: one backward pass gives K Jacobian rows (the custom autograd functions of the
    saturation curves rule out ``torch.func``).
    """
    out = torch.zeros(len(rows), theta.numel(), dtype=torch.float64)
    big = _copies(model, min(CHUNK, len(rows)))
    for start in range(0, len(rows), CHUNK):
        idx = torch.as_tensor(rows[start : start + CHUNK])
        k = len(idx)
        flat = theta.expand(k, -1).clone().requires_grad_(True)
        if k != big.cfg.n_models:
            big = _copies(model, k)
        eta = big(inputs, flat=flat, detail=False).eta.reshape(k, -1)
        (grad,) = torch.autograd.grad(eta[torch.arange(k), idx].sum(), flat)
        out[start : start + k] = grad.double()
    return out


def channel_roas(model: NAM, out, spend_total: torch.Tensor) -> torch.Tensor:
    """``[K, C]`` revenue per unit of spend of each channel over the periods of ``out``."""
    m = torch.as_tensor(model.scalers.target_mean, dtype=out.eta.dtype)
    if model.cfg.target_scale == "log":
        yhat = torch.exp(out.eta) * m  # [K, T, N]
        share = -torch.expm1(-out.saturation.unsqueeze(2) * out.media.amplitude.unsqueeze(1))
        revenue = torch.einsum("ktn,ktnc->kc", yhat, share)
    else:
        revenue = torch.einsum("ktc,knc,n->kc", out.saturation, out.media.amplitude, m)
    return revenue / spend_total.clamp_min(1e-12)


def roas_gradient(model: NAM, inputs: ModelInputs, theta: torch.Tensor, spend_total: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """ROAS ``[C]`` of the parameters ``theta`` and its gradient ``[C, D]`` (member c, channel c)."""
    c = len(spend_total)
    flat = theta.expand(c, -1).clone().requires_grad_(True)
    out = _copies(model, c)(inputs, flat=flat, detail=False)
    roas = channel_roas(model, out, torch.as_tensor(spend_total, dtype=out.eta.dtype))
    own = roas[torch.arange(c), torch.arange(c)]
    (grad,) = torch.autograd.grad(own.sum(), flat)
    return own.detach().double().numpy(), grad.double().numpy()


def penalty_hessian(model: NAM, inputs: ModelInputs, ctx, theta: torch.Tensor, step: float = 1e-3) -> np.ndarray:
    """``[D, D]`` Hessian of the trainer's penalties (every term but the fit) at ``theta``.

    Central differences of the autograd gradient, one parameter direction per member, so no
    second derivative of the custom saturation functions is needed. Symmetrised and clipped to
    its positive part.
    """
    from mmm_pipeline.core.train.losses import loss_terms, total_loss

    d = theta.numel()
    hess = np.zeros((d, d))
    ctx.report_constraints = True
    for start in range(0, d, CHUNK // 2):
        dirs = np.arange(start, min(start + CHUNK // 2, d))
        k = len(dirs)
        shift = torch.zeros(2 * k, d, dtype=theta.dtype)
        shift[torch.arange(k), torch.as_tensor(dirs)] = step
        shift[torch.arange(k, 2 * k), torch.as_tensor(dirs)] = -step
        big = _copies(model, 2 * k)
        with torch.no_grad():
            big.flat.copy_(theta.expand(2 * k, -1) + shift)
        big.flat.requires_grad_(True)
        _broadcast_context(ctx, 2 * k)
        out = big(inputs, detail=False)
        terms = loss_terms(big, out, inputs, ctx)
        penalty = total_loss(terms, ctx.weights, 1.0) - terms["fit"]
        (grad,) = torch.autograd.grad(penalty.sum(), big.flat)
        grad = grad.double().numpy()
        hess[dirs] = (grad[:k] - grad[k:]) / (2 * step)
    _broadcast_context(ctx, 1)
    return positive_part(hess)


def positive_part(matrix: np.ndarray) -> np.ndarray:
    """The nearest positive semi-definite matrix: negative curvature (a penalty's concave part,
    finite-difference noise) is not information and must not cancel what the data supply."""
    values, vectors = np.linalg.eigh(0.5 * (matrix + matrix.T))
    return (vectors * np.clip(values, 0.0, None)) @ vectors.T


def _broadcast_context(ctx, k: int) -> None:
    """Repeat the one-member loss context for ``k`` members (weights are per member)."""
    for name in ("fit_w", "val_w", "spend_money"):
        value = getattr(ctx, name)
        if value is not None:
            setattr(ctx, name, value[:1].expand(k, *value.shape[1:]))
    ctx.elastic_weights = None


# ---------------------------------------------------------------------------- linear algebra


def quadratic_forms(info: np.ndarray, grads: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """``g' F⁻¹ g`` for every row ``g`` of ``grads``, infinite where ``g`` reaches a direction
    ``F`` does not see (the function is not estimable from this information).

    Both are judged after unit-diagonal (Jacobi) scaling, which leaves the form unchanged but
    keeps parameters of very different scales from pushing genuine directions below the
    tolerance. ``reference`` (default ``info``) sets the scaling and what "unseen" means: pass
    the data's own information when ``info`` adds a stiff prior to it, so the prior's curvature
    does not make the data's weaker directions look unseen.
    """
    ref = info if reference is None else reference
    diag = np.diag(ref).copy()
    d = np.where(diag > 0, 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0)), 1.0)
    top = max(float(np.linalg.eigvalsh(ref * d[:, None] * d[None, :]).max(initial=0.0)), 1e-300) \
        if reference is not None else None
    values, vectors = np.linalg.eigh(0.5 * (info + info.T) * d[:, None] * d[None, :])
    top = top if top is not None else max(float(values.max(initial=0.0)), 1e-300)
    seen = values > EIGEN_TOLERANCE * top
    grads = grads * d[None, :]
    coef = grads @ vectors  # [C, D]
    var = (coef[:, seen] ** 2 / values[seen]).sum(-1)
    norms = np.linalg.norm(grads, axis=1)
    unseen = np.linalg.norm(coef[:, ~seen], axis=1)
    var[(unseen > NULL_SHARE * norms) & (norms > 0)] = np.inf
    return var


def profiled_information(info: np.ndarray, interest: np.ndarray) -> np.ndarray:
    """The information on the ``interest`` parameters with every other one profiled out:
    ``F_ii - F_io F_oo⁻¹ F_oi``.

    The nuisance block is solved by Cholesky after unit-diagonal scaling with a tiny ridge:
    nuisance directions the data do not see change no prediction, so they cannot absorb a media
    effect, and holding them still changes nothing. This keeps the cost at one Cholesky of the
    nuisance block instead of an eigen-decomposition of the whole matrix.
    """
    i, o = np.flatnonzero(interest), np.flatnonzero(~interest)
    if o.size == 0:
        return info[np.ix_(i, i)]
    diag = np.diag(info)[o]
    d = np.where(diag > 0, 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0)), 1.0)
    f_oo = info[np.ix_(o, o)] * d[:, None] * d[None, :] + NUISANCE_RIDGE * np.eye(o.size)
    f_oi = info[np.ix_(o, i)] * d[:, None]
    try:
        half = np.linalg.solve(np.linalg.cholesky(f_oo), f_oi)  # L⁻¹ F_oi
        correction = half.T @ half
    except np.linalg.LinAlgError:  # rounding made the block indefinite: pseudo-inverse of its positive part
        values, vectors = np.linalg.eigh(f_oo)
        keep = values > EIGEN_TOLERANCE * values.max()
        proj = vectors[:, keep].T @ f_oi
        correction = proj.T @ (proj / values[keep, None])
    return info[np.ix_(i, i)] - correction


def residual_variance(resid: np.ndarray, rank: int) -> float:
    """Residual variance with the degrees of freedom the fit used (``rank`` of its Jacobian)."""
    n = resid.size
    return float((resid**2).sum() / max(n - rank, n // 2, 1))


def jacobian_rank(gram: np.ndarray) -> int:
    """Rank of ``J`` from its Gram matrix ``J'J`` (unit-diagonal scaled, same tolerance as above)."""
    diag = np.diag(gram)
    keep = diag > 0
    if not keep.any():
        return 0
    d = 1.0 / np.sqrt(diag[keep])
    values = np.linalg.eigvalsh(gram[np.ix_(keep, keep)] * d[:, None] * d[None, :])
    return int((values > EIGEN_TOLERANCE * values.max()).sum())


def long_run_factor(resid: np.ndarray) -> float:
    """``(1 + ρ) / (1 - ρ)`` for the mean lag-1 autocorrelation ``ρ`` of ``resid [T, N]`` (>= 1)."""
    r = resid - resid.mean(0, keepdims=True)
    num = (r[1:] * r[:-1]).sum()
    den = (r**2).sum()
    rho = float(np.clip(num / den if den > 0 else 0.0, 0.0, MAX_RHO))
    return (1.0 + rho) / (1.0 - rho)


# ---------------------------------------------------------------------------- the model


def media_parameters(model: NAM) -> np.ndarray:
    """``[D]`` mask of the parameters a channel's ROAS depends on (carry-over, saturation, amplitude)."""
    mask = np.zeros(model.layout.size, dtype=bool)
    for name, e in model.layout.entries.items():
        if name.startswith("media.") and not name.endswith("_sigma"):
            mask[e.offset : e.offset + int(np.prod(e.shape))] = True
    return mask


def _bounded_positions(model: NAM, theta: torch.Tensor) -> dict[int, tuple[str, str]]:
    """Flat positions of media parameters at a bound: ``{position: (channel, which parameter)}``."""
    cfg = model.cfg
    if not model.index["media"]:
        return {}
    channels = [cfg.features[i].name for i in model.index["media"]]
    ent = model.layout.entries
    found: dict[int, tuple[str, str]] = {}
    for key, label in (("media.adstock", "carry-over"), ("media.saturation", "saturation")):
        e = ent[key]
        raw = theta[e.offset : e.offset + int(np.prod(e.shape))].reshape(e.shape)
        p = torch.sigmoid(raw)
        for c, j in zip(*torch.nonzero((p < AT_BOUND) | (p > 1 - AT_BOUND), as_tuple=True)):
            found[e.offset + int(c) * e.shape[1] + int(j)] = (channels[int(c)], label)
    return found


def experiment_jacobian(model: NAM, inputs: ModelInputs, theta: torch.Tensor, tests) -> np.ndarray:
    """``[E, D]`` derivative of each lift test's standardised residual: a test is one more
    observation with unit variance, so its information is ``J_z' J_z``."""
    from mmm_pipeline.core.train.experiments import experiment_residuals

    flat = theta[None].clone().requires_grad_(True)
    z = experiment_residuals(model, flat, inputs, tests)[0]
    rows = [torch.autograd.grad(z[e], flat, retain_graph=e + 1 < len(z))[0][0] for e in range(len(z))]
    return torch.stack(rows).double().numpy() if rows else np.zeros((0, theta.numel()))


def _relative(var: np.ndarray, roas: np.ndarray) -> np.ndarray:
    """Relative standard errors; infinite where the ROAS is zero (nothing to be relative to)."""
    scale = np.where(roas != 0, np.abs(roas), np.nan)
    out = np.sqrt(var) / scale
    return np.where(np.isfinite(scale), out, np.inf)


def _with_assumptions(f_total: np.ndarray, s_data: np.ndarray, grads: np.ndarray, interest: np.ndarray,
                      held: dict[int, tuple[str, str]]) -> np.ndarray:
    """ROAS variances when the penalties' curvature is added and parameters at a bound are held
    fixed; unseen directions are judged on the evidence's own scale (``s_data``)."""
    at_bound = np.fromiter(held, dtype=int, count=len(held))
    free = np.setdiff1d(np.arange(len(interest)), at_bound)
    s_total = profiled_information(f_total[np.ix_(free, free)], interest[free])
    kept = ~np.isin(np.flatnonzero(interest), at_bound)
    return quadratic_forms(s_total, grads[:, interest][:, kept], s_data[np.ix_(kept, kept)])


@dataclass(frozen=True)
class MediaInformation:
    """The evidence's information on the media parameters (every other parameter profiled out),
    kept so a planned experiment's effect on each channel's precision can be predicted."""

    channels: dict[str, ChannelInformation]
    profiled: np.ndarray  # [P, P] evidence information on the media parameters
    gradients: np.ndarray  # [C, P] ROAS of each channel differentiated in the media parameters
    roas: np.ndarray  # [C] the model's ROAS (what the relative errors are relative to)
    media_mask: np.ndarray  # [D] which flat parameters are the media parameters

    def rel_se_after(self, test_jacobian: np.ndarray) -> np.ndarray:
        """``[C]`` relative ROAS standard errors once lift tests with standardised-residual
        Jacobian ``[E, P]`` (media parameters) are added to the evidence.

        A lift test reads only the media response (a difference of two media forward passes),
        so its Jacobian has no nuisance part and its information adds to the profiled block as
        it is (on a log target the lift also scales with the base: ignored, second order).
        """
        after = self.profiled + test_jacobian.T @ test_jacobian
        return _relative(quadratic_forms(after, self.gradients), self.roas)


def channel_information(fitted: FittedNAM, data: ModelData, train_mask: np.ndarray, settings: dict
                        ) -> dict[str, ChannelInformation]:
    """Per channel, the ROAS precision from the evidence and with the model's assumptions (see
    :func:`media_information`)."""
    return media_information(fitted, data, train_mask, settings).channels


def media_information(fitted: FittedNAM, data: ModelData, train_mask: np.ndarray, settings: dict
                      ) -> MediaInformation:
    """Per channel, the ROAS precision from the evidence (sales history and lift tests) and with
    the model's assumptions added; and from the sales history alone, to say which evidence
    identified a channel.

    ``fitted`` is the final model (its first member is used); ``train_mask`` the periods it was
    fitted on. ROAS is over all of ``data``'s periods, as in channels.json; the standard errors
    are relative, so they apply to the reported ROAS whatever its definition details.
    """
    from mmm_pipeline.core.train.trainer import penalty_context

    model = fitted.model
    if not model.index["media"]:
        return MediaInformation({}, np.zeros((0, 0)), np.zeros((0, 0)), np.zeros(0), np.zeros(model.layout.size, bool))
    mask = np.asarray(train_mask, dtype=bool)
    inputs = fitted.inputs(data, dense_operators=True)  # the trainer's fast path: K-member passes are bmm
    single = fitted.member(0).model if fitted.n_models > 1 else model
    theta = single.flat.detach()[0].clone()
    n = inputs.n_nodes
    rows = (np.flatnonzero(mask)[:, None] * n + np.arange(n)[None, :]).reshape(-1)
    jac = output_jacobian(single, inputs, theta, rows)
    with torch.no_grad():
        eta = single(inputs, detail=False).eta[0].double().numpy()
    resid = (inputs.y_scaled.double().numpy() - eta)[mask]
    gram = (jac.T @ jac).numpy()
    sigma2 = residual_variance(resid, jacobian_rank(gram))
    factor = long_run_factor(resid)
    f_sales = gram / (sigma2 * factor)
    ctx = penalty_context(single, inputs, data, mask, settings)
    tests, ctx.experiments = ctx.experiments, None  # lift tests are evidence, not a penalty
    j_tests = experiment_jacobian(single, inputs, theta, tests) if tests is not None else np.zeros((0, theta.numel()))
    f_data = f_sales + j_tests.T @ j_tests
    roas, grads = roas_gradient(single, inputs, theta, np.asarray(data.spend, dtype=float).sum(0))
    interest = media_parameters(single)
    s_data = profiled_information(f_data, interest)
    var_data = quadratic_forms(s_data, grads[:, interest])
    var_sales = quadratic_forms(profiled_information(f_sales, interest), grads[:, interest]) if len(j_tests) else var_data
    h_pen = penalty_hessian(single, inputs, ctx, theta) * ctx.n_obs / (2.0 * sigma2)
    held = _bounded_positions(single, theta)
    var_total = _with_assumptions(f_data + h_pen, s_data, grads, interest, held)

    names = [single.cfg.features[i].name for i in single.index["media"]]
    rel_data, rel_total, rel_sales = (_relative(v, roas) for v in (var_data, var_total, var_sales))
    out = {ch: ChannelInformation(
        roas=float(roas[c]), rel_se_data=float(rel_data[c]), rel_se_total=float(rel_total[c]),
        rel_se_sales=float(rel_sales[c]), at_bounds=tuple(sorted({what for owner, what in held.values() if owner == ch})),
    ) for c, ch in enumerate(names)}
    log.info("information: σ² %.3g, long-run factor %.2f, %d parameters, %d rows, %d lift test(s); relative ROAS "
             "SE (evidence / with assumptions) %s", sigma2, factor, theta.numel(), len(rows), len(j_tests),
             ", ".join(f"{ch} {v.rel_se_data:.2f}/{v.rel_se_total:.2f}" for ch, v in out.items()))
    return MediaInformation(out, s_data, grads[:, interest], roas, interest)
