"""The training objective, term by term, each ``[K]`` (one value per member).

``total = fit + w_c * a * constraint + w_h * hierarchy + w_s * smoothness + w_e * a * elasticity
+ w_r * a * roas_prior + w_d * a * spend_share + l2 * ||theta||^2`` where ``w_*`` are
``settings.loss`` weights and ``a`` ramps from 0 to 1 over the first half of training when
``anneal_constraints`` is on (the fit finds the signal first, then the business rules bend it).

- fit: sample-weighted mean squared error in the scaled target space (``sample_weights [K, T]``
  make bootstrap replicates and ensembles the same code path).
- constraint: squared wrong-direction first differences and positive second differences of
  each constrained curve on its knot grid. By-construction curves make this exactly 0; it is
  still computed and reported, and it is what enforces constraints in ``constraints: soft``.
- hierarchy: deviation penalty of :mod:`mmm_pipeline.core.model.hierarchy`, per observation.
- smoothness: integral of squared second derivative of every shaped curve.
- elasticity: squared distance of each node's mean elasticity (d log y / d log x over the
  fitted periods, from knot-segment slopes: a cheap exact finite difference) outside the
  feature's ``elasticity_bounds``.
- roas_prior: squared relative distance of each channel's ROAS outside
  ``settings.model.roas_priors[channel] = [lo, hi]``.
- spend_share: Robyn's DECOMP.RSSD, ``sqrt(sum_c (effect share - spend share)^2)``.
- experiments: ``(f sigma^2 / n) * sum_e z_e^2`` with ``z_e`` the standardised residual of lift
  test ``e`` (:mod:`mmm_pipeline.core.train.experiments`), ``sigma^2`` the current fit MSE and
  ``f = (1 + rho) / (1 - rho)`` the long-run factor of the residuals' lag-1 autocorrelation
  (both detached). The fit term is ``sum r^2 / n``; with ``n / f`` independent periods' worth of
  information in it, fit + experiments is ``2 f sigma^2 / n`` times the negative Gaussian
  log-likelihood of sales and tests together: at weight 1 a test counts exactly as much as its
  standard error says, whatever the length or the autocorrelation of the sales history (the
  information bound of :mod:`mmm_pipeline.core.infer.information` uses the same factor).
"""

from dataclasses import dataclass

import numpy as np
import torch

from mmm_pipeline.core.model.hierarchy import deviation_penalty
from mmm_pipeline.core.model.nam import NAM, NAMOutput
from mmm_pipeline.core.model.scaling import DTYPE, ModelInputs
from mmm_pipeline.core.model.shapes import knot_violations, roughness
from mmm_pipeline.core.train.experiments import ExperimentInputs, experiment_residuals, long_run_factor
from mmm_pipeline.core.wording import join_names

TERMS = ("fit", "constraint", "hierarchy", "smoothness", "elasticity", "roas_prior", "spend_share", "experiments", "l2")
ANNEALED = ("constraint", "elasticity", "roas_prior", "spend_share")


@dataclass
class LossContext:
    """Constant inputs of the loss for one training run."""

    fit_w: torch.Tensor  # [K, T] sums to 1 per member
    val_w: torch.Tensor | None  # [K, T] sums to 1 per member
    n_obs: float
    y: torch.Tensor  # [T, N] scaled target
    weights: dict[str, float]
    target_mean: torch.Tensor  # [N]
    spend_money: torch.Tensor  # [K, C] weighted spend over fitted periods
    roas_lo: torch.Tensor  # [C] (nan: no prior)
    roas_hi: torch.Tensor  # [C]
    elastic: dict[str, tuple[list[int], torch.Tensor, torch.Tensor]]  # group -> (positions, lo, hi)
    soft_constraints: bool = False  # any constrained feature on a free network
    anneal: bool = False  # ramp the ANNEALED terms in over the first training epochs
    deviation_slices: tuple = (slice(0, 0), slice(0, 0), None)  # NAM.deviation_slices()
    report_constraints: bool = True  # compute the (by-construction zero) constraint penalty this step
    elastic_weights: dict | None = None  # elasticity_weights(), refreshed by the trainer (None: now)
    experiments: ExperimentInputs | None = None  # lift tests inside the training periods


def weighted_mse(eta: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``[K]`` sum_t w[k, t] * mean_n (y - eta)^2 with ``w`` normalised per member."""
    return ((y.unsqueeze(0) - eta).pow(2).mean(-1) * w).sum(-1)


def constraint_penalty(model: NAM, out: NAMOutput) -> torch.Tensor:
    total = torch.zeros(out.eta.shape[0], dtype=DTYPE)
    for fam, g in out.groups.items():
        mono, conc = knot_violations(g.curves, model.direction[fam], model.concave[fam])
        total = total + mono.pow(2).sum(dim=(2, 3)).mean(1) + conc.pow(2).sum(dim=(2, 3)).mean(1)
    return total


def hierarchy_penalty(model: NAM, flat: torch.Tensor, slices: tuple) -> torch.Tensor:
    """``[K]`` hierarchical penalty of all node deviations (see :mod:`mmm_pipeline.core.model.hierarchy`)."""
    cfg = model.cfg
    dev, sig, groups = slices
    sigma_raw = flat[:, sig] if sig.stop > sig.start else None
    return deviation_penalty(flat[:, dev], cfg.pooling_mode, cfg.pooling_strength, sigma_raw, groups, cfg.sigma_bounds)


def smoothness_penalty(model: NAM, out: NAMOutput) -> torch.Tensor:
    total = torch.zeros(out.eta.shape[0], dtype=DTYPE)
    for fam, g in out.groups.items():
        total = total + roughness(g.curves, model.inv_step_cubed[fam])
    return total


def elasticity_weights(out: NAMOutput, inputs: ModelInputs, ctx: LossContext, log_scale: bool) -> dict[str, torch.Tensor]:
    """Per bounded feature, ``w[k, t] * (d u / d log x) / level`` ``[K, T, N, Fb]``: what turns a
    curve slope into a contribution to the node's mean elasticity. The level (the model's own
    prediction, detached) moves slowly, so the trainer refreshes these every few steps instead
    of dividing a ``[K, T, N]`` tensor every step."""
    level = out.eta.detach().clamp_min(0.05)
    weights = {}
    for fam, (pos, _, _) in ctx.elastic.items():
        dlog = (inputs.linear_dx_dlogx if fam == "linear" else inputs.groups[fam].du_dlogx)[..., pos]
        w = dlog.unsqueeze(0) * ctx.fit_w[:, :, None, None]
        weights[fam] = w if log_scale else w / level.unsqueeze(-1)
    return weights


def elasticity_penalty(out: NAMOutput, inputs: ModelInputs, ctx: LossContext, log_scale: bool) -> torch.Tensor:
    total = torch.zeros(out.eta.shape[0], dtype=DTYPE)
    if not ctx.elastic:
        return total
    if ctx.elastic_weights is None:
        ctx.elastic_weights = elasticity_weights(out, inputs, ctx, log_scale)
    for fam, (pos, lo, hi) in ctx.elastic.items():
        if fam == "linear":
            slope = out.linear_beta[..., pos].unsqueeze(1)  # [K, 1, N, Fb]
        else:  # bounded_slopes holds exactly the bounded features, in group order
            slope = out.groups[fam].bounded_slopes
        mean_e = (slope * ctx.elastic_weights[fam]).sum(1)  # [K, N, Fb]
        total = total + (torch.relu(lo - mean_e).pow(2) + torch.relu(mean_e - hi).pow(2)).sum(-1).mean(-1)
    return total


def channel_revenue(out: NAMOutput, ctx: LossContext, log_scale: bool) -> torch.Tensor:
    """``[K, C]`` weighted revenue attributed to each channel over the fitted periods."""
    if log_scale:
        yhat = torch.exp(out.eta) * ctx.target_mean  # [K, T, N]
        share = -torch.expm1(-out.saturation.unsqueeze(2) * out.media.amplitude.unsqueeze(1))  # [K,T,N,C]
        return torch.einsum("ktn,ktnc,kt->kc", yhat, share, ctx.fit_w)
    return torch.einsum("ktc,knc,n,kt->kc", out.saturation, out.media.amplitude, ctx.target_mean, ctx.fit_w)


def media_penalties(out: NAMOutput, ctx: LossContext, log_scale: bool, need: dict[str, bool]) -> tuple[torch.Tensor, torch.Tensor]:
    k = out.eta.shape[0]
    zero = torch.zeros(k, dtype=DTYPE)
    if out.media is None or not (need["roas_prior"] or need["spend_share"]):
        return zero, zero
    revenue = channel_revenue(out, ctx, log_scale)
    roas_pen = zero
    if need["roas_prior"]:
        roas = revenue / ctx.spend_money.clamp_min(1e-12)
        has = ~torch.isnan(ctx.roas_lo)
        lo, hi = torch.nan_to_num(ctx.roas_lo), torch.nan_to_num(ctx.roas_hi, nan=1.0)
        below = torch.relu(lo - roas) / lo.clamp_min(1e-6)
        above = torch.relu(roas - hi) / hi.clamp_min(1e-6)
        roas_pen = ((below.pow(2) + above.pow(2)) * has).sum(-1)
    share_pen = zero
    if need["spend_share"]:
        eff = revenue.clamp_min(0) / revenue.clamp_min(0).sum(-1, keepdim=True).clamp_min(1e-12)
        spend = ctx.spend_money / ctx.spend_money.sum(-1, keepdim=True).clamp_min(1e-12)
        share_pen = torch.sqrt((eff - spend).pow(2).sum(-1) + 1e-12)
    return roas_pen, share_pen


def experiment_penalty(model: NAM, out: NAMOutput, inputs: ModelInputs, ctx: LossContext,
                       fit: torch.Tensor) -> torch.Tensor:
    """``[K]`` the lift tests' Gaussian likelihood on the fit term's scale (module docstring)."""
    if ctx.experiments is None:
        return torch.zeros_like(fit)
    z = experiment_residuals(model, model.flat, inputs, ctx.experiments, out.eta)
    factor = long_run_factor(ctx.y.unsqueeze(0) - out.eta.detach(), ctx.fit_w)
    return fit.detach() * factor / ctx.n_obs * z.pow(2).sum(-1)


def weight_decay(out: NAMOutput) -> torch.Tensor:
    """``[K]`` squared effective output weights of the shape networks and linear slopes.

    Raw parameters behind softplus/sigmoid reparametrisations are not decayed (shrinking a raw
    value toward 0 would push the real parameter toward an arbitrary mid-point).
    """
    k = out.eta.shape[0]
    total = torch.zeros(k, dtype=DTYPE)
    for g in out.groups.values():
        total = total + g.amplitudes.pow(2).reshape(k, -1).sum(-1)
    if out.linear_beta is not None:
        total = total + out.linear_beta.pow(2).reshape(k, -1).sum(-1)
    return total


def loss_terms(model: NAM, out: NAMOutput, inputs: ModelInputs, ctx: LossContext) -> dict[str, torch.Tensor]:
    """Every term of the objective, ``[K]`` each, plus ``val`` (not differentiated) when there is a validation slice."""
    log_scale = model.cfg.target_scale == "log"
    w = ctx.weights
    terms = {"fit": weighted_mse(out.eta, ctx.y, ctx.fit_w)}
    if ctx.soft_constraints:
        terms["constraint"] = constraint_penalty(model, out)
    elif ctx.report_constraints:  # by construction: computed and reported, never differentiated (exactly zero)
        with torch.no_grad():
            terms["constraint"] = constraint_penalty(model, out)
    else:
        terms["constraint"] = torch.full_like(terms["fit"], float("nan"))
    terms["hierarchy"] = hierarchy_penalty(model, model.flat, ctx.deviation_slices) / ctx.n_obs
    terms["smoothness"] = smoothness_penalty(model, out) if w["smoothness"] > 0 else torch.zeros_like(terms["fit"])
    terms["elasticity"] = elasticity_penalty(out, inputs, ctx, log_scale)
    need = {"roas_prior": w["roas_prior"] > 0 and bool((~torch.isnan(ctx.roas_lo)).any()), "spend_share": w["spend_share"] > 0}
    terms["roas_prior"], terms["spend_share"] = media_penalties(out, ctx, log_scale, need)
    terms["experiments"] = experiment_penalty(model, out, inputs, ctx, terms["fit"])
    terms["l2"] = weight_decay(out)
    if ctx.val_w is not None:
        with torch.no_grad():
            terms["val"] = weighted_mse(out.eta, ctx.y, ctx.val_w)
    return terms


def total_loss(terms: dict[str, torch.Tensor], weights: dict[str, float], anneal: float) -> torch.Tensor:
    """``[K]`` weighted sum of the terms (see module docstring)."""
    total = terms["fit"] + weights["l2"] * terms["l2"]
    for name in ("constraint", "hierarchy", "smoothness", "elasticity", "roas_prior", "spend_share", "experiments"):
        factor = anneal if name in ANNEALED else 1.0
        if weights[name] > 0:  # nan_to_num: a by-construction constraint term is only computed every few steps
            total = total + weights[name] * factor * torch.nan_to_num(terms[name])
    return total


def roas_bounds(channels: list[str], priors: dict | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``[C]`` lower/upper ROAS bounds from ``settings.model.roas_priors`` (nan where none)."""
    lo = np.full(len(channels), np.nan)
    hi = np.full(len(channels), np.nan)
    for name, rng in (priors or {}).items():
        if name not in channels:
            raise ValueError(f"settings.model.roas_priors names channel '{name}', which is not in the data; "
                             f"the channels are {join_names(channels)}")
        a, b = float(rng[0]), float(rng[1])
        if not 0 <= a < b:
            raise ValueError(f"settings.model.roas_priors.{name} must be [lo, hi] with 0 <= lo < hi, "
                             f"got lo {a:g} and hi {b:g}")
        lo[channels.index(name)], hi[channels.index(name)] = a, b
    return torch.as_tensor(lo, dtype=DTYPE), torch.as_tensor(hi, dtype=DTYPE)
