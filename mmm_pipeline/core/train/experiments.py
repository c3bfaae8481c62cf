"""The lift-test likelihood: how far the model's predicted incremental outcome of each
experiment is from the measured one, in units of the experiment's standard error.

For test ``e`` of channel ``c`` over periods ``W_e`` the model predicts

    lift_e = sum_{t in W_e} sum_{n in nodes_e} [ y_tn(spend with the test's change) - y_tn(spend) ]

where only channel ``c``'s spend in the test periods changes (times the multiplier, or plus the
per-period change), and its adstock carries the change into the later periods of the window:
the media response is evaluated twice, once on the recorded lags and once on the changed
ones. The trainer adds ``sum_e z_e^2`` with ``z_e = (lift_e - measured_e) / se_e`` to the fit
as a Gaussian likelihood (see :mod:`mmm_pipeline.core.train.losses`), and
:func:`experiment_residuals` is a pure function of the parameters so the Fisher information
of the fit can include the tests as well.
"""

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from mmm_pipeline.core.data import periods
from mmm_pipeline.core.data.experiments import LiftTests
from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.model.nam import NAM
from mmm_pipeline.core.model.scaling import DTYPE, ModelInputs
from mmm_pipeline.core.transforms.saturation import saturate
from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

#: largest residual autocorrelation credited in the long-run factor (keeps it <= 19), as in
#: :mod:`mmm_pipeline.core.infer.information`
MAX_RHO = 0.9


@dataclass
class ExperimentInputs:
    """E lift tests laid out for the batched model, each on its test periods (padded to W)."""

    channel: torch.Tensor  # [E] long: position of the test's channel among the media channels
    rows: torch.Tensor  # [E, W] long: period index of each test period (padding repeats the last)
    row_w: torch.Tensor  # [E, W] 1 on the test's periods, 0 on padding
    changed: torch.Tensor  # [E, W, L] share of the spend at lag l of each test period that the test changed
    multiplier: torch.Tensor  # [E] spend multiplier (1 where the change is absolute)
    change: torch.Tensor  # [E] scaled spend added per period (0 where a multiplier is given)
    node_w: torch.Tensor  # [E, N] 1 on the nodes the test covers
    target_mean: torch.Tensor  # [N] revenue units per scaled unit of each node
    measured: torch.Tensor  # [K, E] measured lift, target units
    se: torch.Tensor  # [E] its standard error
    labels: list[str]

    @property
    def n_tests(self) -> int:
        return int(self.channel.shape[0])


def period_overlap(dates: pd.DatetimeIndex, frequency: str, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    """``[T]`` share of each modelling period's days inside ``start .. end`` (both included):
    a test of ten days in a weekly dataset changes one week fully and a second one by 3/7."""
    starts = dates.values.astype("datetime64[D]")
    ends = periods.next_start(dates, frequency).values.astype("datetime64[D]")
    lo = np.maximum(starts, np.datetime64(start.date()))
    hi = np.minimum(ends, np.datetime64((end + pd.Timedelta(days=1)).date()))
    days = np.maximum((hi - lo).astype(np.int64), 0)
    return days / (ends - starts).astype(np.int64)


def prepare_experiments(tests: LiftTests | None, data: ModelData, train_mask: np.ndarray, media_scale: np.ndarray,
                        target_mean: np.ndarray, l_max: int, n_models: int) -> ExperimentInputs | None:
    """The tests that lie wholly inside the training periods (a walk-forward fold never sees a
    test that ended after its training window), as tensors; None when no test is left."""
    if tests is None or len(tests) == 0:
        return None
    mask = np.asarray(train_mask, dtype=bool)
    share = np.stack([period_overlap(data.dates, data.frequency, s, e) for s, e in zip(tests.start, tests.end)])
    inside = (share > 0).any(1) & ~((share > 0) & ~mask[None]).any(1)
    if not inside.all():
        left = [tests.label[i] for i in np.flatnonzero(~inside)]
        log.info("%d experiment(s) outside this fit's training periods, not used: %s", len(left), join_names(left))
    if not inside.any():
        return None
    tests, share = tests.select(inside), share[inside]
    channels = data.channel_names
    lift = np.asarray(tests.lift, dtype=float)
    if lift.ndim == 2 and lift.shape[0] != n_models:
        raise ValueError(f"experiments were drawn for {lift.shape[0]} models but {n_models} are fitted")
    rows = [np.flatnonzero(s > 0) for s in share]
    width = max(len(r) for r in rows)
    padded = np.stack([np.pad(r, (0, width - len(r)), mode="edge") for r in rows])
    row_w = np.stack([np.arange(width) < len(r) for r in rows]).astype(float)
    lagged = padded[:, :, None] - np.arange(l_max)[None, None, :]  # [E, W, L] period of each lag
    changed = np.where(lagged >= 0, np.take_along_axis(share[:, None, :].repeat(width, 1),
                                                       np.clip(lagged, 0, None), axis=2), 0.0)
    channel = np.array([channels.index(c) for c in tests.channel])
    multiplier = np.where(np.isnan(tests.multiplier), 1.0, tests.multiplier)
    node_w = np.array([[1.0 if t in (None, n, cat) else 0.0 for n, cat in zip(data.nodes, data.node_category)]
                       for t in tests.node])
    as_t = _tensor
    return ExperimentInputs(
        channel=torch.as_tensor(channel), rows=torch.as_tensor(padded), row_w=as_t(row_w), changed=as_t(changed),
        multiplier=as_t(multiplier), change=as_t(tests.change / media_scale[channel]), node_w=as_t(node_w),
        target_mean=as_t(target_mean), measured=as_t(np.broadcast_to(lift, (n_models, len(tests)))),
        se=as_t(tests.se), labels=list(tests.label))


def _tensor(values: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.array(values, dtype=np.float64), dtype=DTYPE)


def predicted_lift(model: NAM, flat: torch.Tensor, inputs: ModelInputs, tests: ExperimentInputs,
                   eta: torch.Tensor | None = None) -> torch.Tensor:
    """``[K, E]`` the model's incremental outcome of each test (target units), carry-over
    included; ``eta [K, T, N]`` is only read on a log target scale (computed when not given)."""
    mp = model.media_params(model.views(flat))
    lags = inputs.lags_ctl[tests.channel[:, None], tests.rows]  # [E, W, L]
    varied = lags * (1 + (tests.multiplier[:, None, None] - 1) * tests.changed)
    varied = (varied + tests.change[:, None, None] * tests.changed).clamp_min(0.0)
    weights = mp.weights[:, tests.channel, :]  # [K, E, L]
    shape = {name: p[:, tests.channel] for name, p in mp.shape.items()}  # [K, E]

    def response(lag_values: torch.Tensor) -> torch.Tensor:  # [K, W, E]
        adstocked = torch.einsum("ewl,kel->kwe", lag_values, weights)
        positive = (lag_values.sum(-1) > 0).to(DTYPE).transpose(0, 1)  # [W, E]
        return saturate(model.cfg.saturation, adstocked, shape, positive)

    delta = response(varied) - response(lags)  # [K, W, E]
    amp = mp.amplitude[:, :, tests.channel]  # [K, N, E]
    if model.cfg.target_scale == "level":
        return torch.einsum("kwe,kne,en,n,ew->ke", delta, amp, tests.node_w, tests.target_mean, tests.row_w)
    if eta is None:
        eta = model(inputs, flat, detail=False).eta
    level = torch.exp(eta[:, tests.rows]) * tests.target_mean  # [K, E, W, N]
    lift = level * torch.expm1(amp.permute(0, 2, 1)[:, :, None, :] * delta.permute(0, 2, 1)[..., None])
    return torch.einsum("kewn,en,ew->ke", lift, tests.node_w, tests.row_w)


def experiment_residuals(model: NAM, flat: torch.Tensor, inputs: ModelInputs, tests: ExperimentInputs,
                         eta: torch.Tensor | None = None) -> torch.Tensor:
    """``[K, E]`` standardised residuals ``(predicted lift - measured lift) / se`` of every test."""
    return (predicted_lift(model, flat, inputs, tests, eta) - tests.measured) / tests.se


def long_run_factor(resid: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``[K]`` ``(1 + rho) / (1 - rho)`` for each member's lag-1 autocorrelation ``rho`` of its
    residuals ``[K, T, N]`` over its fitted periods (``weights [K, T]`` > 0).

    The fit term counts every period as independent; autocorrelated residuals carry less
    information than their count, by this factor, so a lift test weighed against the fit
    must count that much more for the two to be weighed as their information says.
    """
    fitted = (weights > 0).to(resid.dtype)
    mean = (resid * weights[..., None]).sum(1, keepdim=True) / weights.sum(1)[:, None, None]
    r = (resid - mean) * fitted[..., None]
    num = (r[:, 1:] * r[:, :-1]).sum((1, 2))
    den = r.pow(2).sum((1, 2)).clamp_min(1e-30)
    rho = (num / den).clamp(0.0, MAX_RHO)
    return (1 + rho) / (1 - rho)
