"""Batched shape functions of single features: monotone, concave, free and linear.

All features of one family are evaluated together from parameter tensors ``[K, N, F, H]``
(members x nodes x features x hidden units): no loop over per-feature modules.

- ``monotone``: ``f(u) = sum_h softplus(a_h) * sigmoid(softplus(w_h) * d*u + b_h)``. Every term
  is a non-decreasing function of ``d*u`` for ANY raw weights (positive weights through
  softplus, a monotone activation, no batch norm or dropout), so ``f`` is increasing
  (``d = +1``) or decreasing (``d = -1``) by construction. A sum of shifted sigmoids with
  positive weights approximates any bounded monotone curve.
- ``concave``: the activation ``-softplus(-z)`` is increasing and concave, so the sum is
  monotone with diminishing returns by construction (for ``d = -1``: decreasing, and price
  cuts have diminishing returns).
- ``free``: ``sum_h a_h tanh(w_h u + b_h)``, unconstrained (NPS, trend, controls).
- ``linear``: ``beta * x`` (0/1 events, Fourier terms).

Curves are computed at the knots of :mod:`mmm_pipeline.core.model.scaling` and interpolated
linearly, which preserves monotonicity and concavity exactly.
"""

import torch
import torch.nn.functional as F

def exact_softplus(x: torch.Tensor) -> torch.Tensor:
    """``log(1 + e^x)`` without torch's linear switch-over at x > 20, whose tiny jump
    (about 2e-9) would break monotonicity of the concave activation at that point."""
    return torch.relu(x) + torch.log1p(torch.exp(-x.abs()))


ACTIVATIONS = {
    "monotone": torch.sigmoid,
    "concave": lambda z: -exact_softplus(-z),
    "free": torch.tanh,
}


def output_weights(family: str, a: torch.Tensor) -> torch.Tensor:
    """Effective output weights: positive (softplus) for monotone and concave families."""
    return a if family == "free" else F.softplus(a)


def hidden_units(family: str, w: torch.Tensor, b: torch.Tensor, knots: torch.Tensor) -> torch.Tensor:
    """Hidden activations ``[K, G, F, P, H]`` at ``knots [F, P]`` (direction applied) from raw ``[K, G, F, H]``."""
    weight = w if family == "free" else F.softplus(w)
    z = weight.unsqueeze(-2) * knots[None, None, :, :, None] + b.unsqueeze(-2)
    return ACTIVATIONS[family](z)


def curves_from_hidden(hidden: torch.Tensor, amp: torch.Tensor, node_category: torch.Tensor) -> torch.Tensor:
    """Node curves ``[K, N, F, P]``: each node's output weights ``amp [K, N, F, H]`` on its category's hidden units.

    One bmm computes every (category, node) pair, ``[K*F, G*P, H] @ [K*F, H, N]``, and the
    node's own category is picked afterwards: G times the (tiny) matmul work, but no copy of
    the hidden activations per node and no loop.
    """
    k, g, f, p, h = hidden.shape
    n = amp.shape[1]
    left = hidden.permute(0, 2, 1, 3, 4).reshape(k * f, g * p, h)
    right = amp.permute(0, 2, 3, 1).reshape(k * f, h, n)
    pairs = torch.bmm(left, right).reshape(k, f, g, p, n)
    picked = pairs[:, :, node_category, :, torch.arange(n)]  # [N, K, F, P]
    return picked.permute(1, 0, 2, 3)


def knot_curves(family: str, a: torch.Tensor, w: torch.Tensor, b: torch.Tensor, knots: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Curves ``[K, N, F, P]`` and output weights when every node has its own raw ``[K, N, F, H]`` parameters
    (tests and single-level models: each node is its own category)."""
    amp = output_weights(family, a)
    hidden = hidden_units(family, w, b, knots)
    n = a.shape[1]
    return curves_from_hidden(hidden, amp, torch.arange(n)), amp


def flat_knot_index(segment: torch.Tensor, n_knots: int) -> torch.Tensor:
    """Index into ``curves.reshape(K, N*F*P)`` of the left knot of each observation ``[T, N, F]``."""
    t, n, f = segment.shape
    base = (torch.arange(n).unsqueeze(1) * f + torch.arange(f).unsqueeze(0)) * n_knots  # [N, F]
    return (base.unsqueeze(0) + segment).reshape(-1)


def knot_fraction(u: torch.Tensor, segment: torch.Tensor, lo: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
    """Position of ``u`` inside its knot segment, clamped to [0, 1]: the curve is flat outside the knots."""
    return ((u - lo) / step - segment.to(u.dtype)).clamp(0.0, 1.0)


def interpolate(
    curves: torch.Tensor, frac: torch.Tensor, flat_index: torch.Tensor, step: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Curve value and slope (d f / d u) at every observation: both ``[K, T, N, F]``.

    ``frac`` (from :func:`knot_fraction`) is ``[T, N, F]`` (shared) or ``[K, T, N, F]`` (per
    member, so autograd can differentiate through the input for elasticities).
    """
    k = curves.shape[0]
    shape = frac.shape[-3:]
    flat = curves.reshape(k, -1)
    v0 = flat.index_select(1, flat_index).reshape(k, *shape)
    v1 = flat.index_select(1, flat_index + 1).reshape(k, *shape)
    rise = v1 - v0
    return v0 + rise * frac, rise / step


def knot_violations(curves: torch.Tensor, direction: torch.Tensor, concave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Wrong-direction first differences and positive second differences on the knot grid.

    ``direction [F]`` is +1/-1 (0: unconstrained), ``concave [F]`` is 0/1. Returns
    ``(monotone, concave)`` violation magnitudes ``[K, N, F, P-1]`` and ``[K, N, F, P-2]``.
    """
    d1 = curves.diff(dim=-1)
    mono = torch.relu(-direction[:, None] * d1) * (direction != 0).to(d1.dtype)[:, None]
    d2 = d1.diff(dim=-1)
    conc = torch.relu(d2) * concave.to(d1.dtype)[:, None]
    return mono, conc


def roughness(curves: torch.Tensor, inv_step_cubed: torch.Tensor) -> torch.Tensor:
    """``[K]`` approximate integral of the squared second derivative (``sum d2^2 / step^3``), summed over features, mean over nodes."""
    d2 = curves[..., 2:] - 2 * curves[..., 1:-1] + curves[..., :-2]
    return (d2.pow(2).sum(-1) * inv_step_cubed).sum(-1).mean(1)


def linear_terms(x: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """``[K, T, N, F]`` linear contributions from ``x [T, N, F]`` and ``beta [K, N, F]``."""
    return x.unsqueeze(0) * beta.unsqueeze(1)
