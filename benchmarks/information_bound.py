"""The oracle information bound: how precisely a weekly simulation's data could pin each ROAS.

Judging intervals needs a yardstick that does not come from the model being judged. This is
the Cramér-Rao bound of the TRUE parametric model — the one the simulator drew the data from,
known form, known noise — so no estimator of that model can do better on average:

* noiseless revenue = X beta + sum_c coef_c * hill(adstock(spend_c; decay_c); half_c, slope_c),
  with X the baseline's linear terms (intercept, trend, yearly Fourier pair 1 and 2, every
  control, every event);
* Jacobian of it w.r.t. (beta, and per channel coef, decay, half, slope) by central finite
  differences at the true values, Gauss-Newton information ``J'J / sigma^2`` with the true
  noise sigma, and the delta method to each channel's ROAS over the data window.

For the mediated design the channel parameters are those of the *total* effect and the
awareness tracker's own drift (the part media did not build) is a control: the bound is then
the one for the planning-relevant total ROAS when the drift is known.

This lives in the benchmarks, not the product: the product never knows the true form.
"""

from typing import Any

import numpy as np

from mmm_pipeline.core.data.simulator_truth import Simulation, adstock, geometric_weights, hill

FOURIER_ORDER = 2
MEDIA_PARAMETERS = ("coefficient", "decay", "half_saturation", "slope")


def _media(spend: np.ndarray, theta: np.ndarray, l_max: int) -> np.ndarray:
    """``[T]`` one channel's contribution for ``theta = (coefficient, decay, half, slope)``."""
    coef, decay, half, slope = theta
    adstocked = adstock(spend[:, None], geometric_weights(decay, l_max))[:, 0]
    return coef * hill(adstocked, half, slope)


def _step(value: float) -> float:
    return 1e-5 * max(abs(value), 1e-3)


def _gradient(fn: Any, theta: np.ndarray) -> np.ndarray:
    """Central finite differences of ``fn`` (array-valued) w.r.t. each entry of ``theta``."""
    columns = []
    for j, value in enumerate(theta):
        h = _step(value)
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        columns.append((np.asarray(fn(up)) - np.asarray(fn(down))) / (2.0 * h))
    return np.stack(columns, axis=-1)


def media_parameters(truth: dict[str, Any], channel: str) -> np.ndarray:
    """``(coefficient, decay, half, slope)`` of ``channel`` from a truth dict."""
    m = truth["media"][channel]
    return np.array([m["coefficient"], m["adstock"]["decay"], m["saturation"]["half_saturation"],
                     m["saturation"]["slope"]], dtype=float)


def linear_terms(sim: Simulation) -> np.ndarray:
    """``[T, P]`` the baseline's linear terms as the simulator used them (see the module docstring)."""
    frame = sim.tables["weekly.csv"]
    truth = sim.truth
    n = len(sim.dates)
    day = sim.dates.dayofyear.to_numpy() + 3.0  # the simulator dates weeks mid-week
    columns = [np.ones(n), np.arange(n, dtype=float)]
    for k in range(1, FOURIER_ORDER + 1):
        angle = 2.0 * np.pi * k * day / 365.25
        columns += [np.sin(angle), np.cos(angle)]
    mediator = truth.get("mediator") or {}
    for name in truth["controls"]:
        values = frame[name].to_numpy(dtype=float)
        if name == mediator.get("column"):
            values = values - _media_built_points(sim, mediator)
        columns.append(values - values.mean())
    columns += [frame[name].to_numpy(dtype=float) for name in truth["events"]]
    return np.column_stack(columns)


def _media_built_points(sim: Simulation, mediator: dict[str, Any]) -> np.ndarray:
    """``[T]`` the awareness points the media built (the tracker minus its own drift)."""
    truth = sim.truth
    points = np.zeros(len(sim.dates))
    for i, c in enumerate(sim.channels):
        theta = media_parameters(truth, c)
        theta[0] = mediator["points_at_full_saturation"][c]
        points += _media(sim.spend[:, i], theta, int(truth["l_max"]))
    return points


def roas_standard_errors(sim: Simulation) -> dict[str, dict[str, float]]:
    """Per channel: true ROAS over the window, its Cramér-Rao standard error and relative SE."""
    truth = sim.truth
    l_max = int(truth["l_max"])
    x = linear_terms(sim)
    thetas = [media_parameters(truth, c) for c in sim.channels]
    blocks = [x] + [_gradient(lambda th, s=sim.spend[:, i]: _media(s, th, l_max), th) for i, th in enumerate(thetas)]
    jac = np.column_stack(blocks)
    norms = np.linalg.norm(jac, axis=0)
    norms[norms == 0] = 1.0
    scaled = jac / norms
    sigma = float(truth["noise"]["sd"])
    info = scaled.T @ scaled / sigma**2
    cov = np.linalg.pinv(info, rcond=1e-13, hermitian=True) / np.outer(norms, norms)
    out: dict[str, dict[str, float]] = {}
    offset = x.shape[1]
    for i, (c, th) in enumerate(zip(sim.channels, thetas)):
        spend = sim.spend[:, i]
        total = float(spend.sum())

        def roas(theta: np.ndarray, s: np.ndarray = spend, t: float = total) -> float:
            return float(_media(s, theta, l_max).sum() / t)

        grad = _gradient(roas, th)
        block = slice(offset + 4 * i, offset + 4 * i + 4)
        se = float(np.sqrt(max(grad @ cov[block, block] @ grad, 0.0)))
        value = roas(th)
        out[c] = {"roas": value, "se": se, "relative_se": se / abs(value) if value else float("inf")}
    return out
