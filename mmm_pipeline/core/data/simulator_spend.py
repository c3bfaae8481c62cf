"""Realistic spend and driver patterns for the simulator.

Recovery is only a real test when spend looks like real media plans: bursts and dark periods
(flighting) so carry-over is visible after a burst ends, a shared seasonal budget so channels
move together (the collinearity every MMM has to live with), and enough independent wobble
that each channel is still separable from the others.
"""

import numpy as np


def ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    """Stationary AR(1) path with marginal standard deviation ``sd``."""
    eps = rng.normal(0.0, sd * np.sqrt(1.0 - phi**2), size=n)
    out = np.empty(n)
    out[0] = rng.normal(0.0, sd)
    for t in range(1, n):
        out[t] = phi * out[t - 1] + eps[t]
    return out


def flighting(
    rng: np.random.Generator, n: int, on_length: tuple[int, int], off_length: tuple[int, int], start_on: bool | None = None
) -> np.ndarray:
    """``[n]`` 0/1 on-air indicator alternating bursts and dark runs of random lengths.

    Run lengths are uniform on the inclusive ranges; bursts followed by dark runs are what make
    adstock decay identifiable (the tail after a burst is the carry-over).
    """
    on = np.zeros(n)
    state = bool(rng.random() < 0.5) if start_on is None else start_on
    t = 0
    while t < n:
        lo, hi = on_length if state else off_length
        run = int(rng.integers(lo, hi + 1))
        on[t : t + run] = 1.0 if state else 0.0
        t += run
        state = not state
    return on


def markov_on(rng: np.random.Generator, n: int, p_on: float, persistence: float = 0.5) -> np.ndarray:
    """``[n]`` 0/1 indicator with stationary on-probability ``p_on`` and sticky states.

    ``persistence`` in [0, 1): 0 gives independent draws, higher values longer runs; used for
    monthly plans where a channel is switched on for a few months at a time.
    """
    if p_on >= 1.0:
        return np.ones(n)
    stay_on = p_on + persistence * (1.0 - p_on)
    go_on = p_on * (1.0 - persistence)
    on = np.zeros(n)
    on[0] = float(rng.random() < p_on)
    for t in range(1, n):
        p = stay_on if on[t - 1] else go_on
        on[t] = float(rng.random() < p)
    return on


def random_dark(rng: np.random.Generator, n: int, fraction: float) -> np.ndarray:
    """``[n]`` 0/1 indicator switching off a random ``fraction`` of periods (campaign pauses)."""
    on = np.ones(n)
    k = int(round(fraction * n))
    if k:
        on[rng.choice(n, size=k, replace=False)] = 0.0
    return on


def yearly_fourier(day_of_year: np.ndarray, coefficients: list[tuple[float, float]]) -> np.ndarray:
    """``sum_k a_k sin(2 pi k d / 365.25) + b_k cos(2 pi k d / 365.25)`` for ``coefficients[k-1] = (a_k, b_k)``."""
    out = np.zeros(len(day_of_year))
    for k, (a, b) in enumerate(coefficients, start=1):
        angle = 2.0 * np.pi * k * np.asarray(day_of_year, dtype=float) / 365.25
        out += a * np.sin(angle) + b * np.cos(angle)
    return out


def peak_coefficients(amplitudes: list[float], peak_days: list[float]) -> list[tuple[float, float]]:
    """Fourier (sin, cos) pairs for harmonics with the given amplitude peaking on the given day of year."""
    pairs = []
    for k, (amp, day) in enumerate(zip(amplitudes, peak_days), start=1):
        phase = 2.0 * np.pi * k * day / 365.25
        pairs.append((amp * np.sin(phase), amp * np.cos(phase)))
    return pairs


def flight_levels(rng: np.random.Generator, on: np.ndarray, sd: float) -> np.ndarray:
    """``[n]`` a lognormal level per burst of ``on`` (mean 1), zero in the dark runs.

    Test-and-learn plans vary the weight of each burst on purpose, so a channel is seen at
    several spend levels and the curvature of its response is visible, not only on versus off.
    """
    burst = np.cumsum(np.diff(np.r_[0.0, on]) > 0)  # 1 in the first burst, 2 in the second, ...
    levels = np.exp(rng.normal(-sd**2 / 2, sd, size=max(int(burst[-1]), 1)))
    return np.where(on > 0, levels[np.maximum(burst - 1, 0)], 0.0)
