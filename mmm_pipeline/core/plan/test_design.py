"""What to test next: lift tests proposed for channels the data cannot pin down, ranked by
value of information per unit of cost.

For each candidate channel and each design (go dark, or a spend multiplier, for N weeks at
today's spend, i.e. over the last N weeks of the training window; a channel dark today is
switched on at its usual spend instead) the fitted model predicts:

- the test's lift (:func:`~mmm_pipeline.core.train.experiments.predicted_lift`, carry-over
  inside the window included) and so its money cost: spend change minus revenue change
  (a go-dark test saves its spend and loses its revenue);
- the standard error the test would measure that lift with: the model's own residual noise of
  total sales summed over the window, ``sd(r) * sqrt(N * f)`` with ``f`` the residuals'
  long-run factor, as for a time-split test read against the model's counterfactual;
- the channel's ROAS standard error after the test: with the model's information
  (:class:`~mmm_pipeline.core.infer.information.MediaInformation`), the test's gradient on the
  media parameters over its standard error is added to the evidence's information — a short
  test pins the response at today's spend, not the whole-window ROAS, and this says how much
  that buys; without it, ``1 / sqrt(1 / se_now^2 + 1 / se_test^2)`` as two independent
  measurements, ``se_test`` the lift's standard error per unit of spend changed and ``se_now``
  the information-based ROAS standard error (the interval half-width / 1.96 without it; the
  ROAS itself when neither says anything, i.e. 100% relative uncertainty).

Value of information: the standard error of the channel's revenue over a year that the test
removes, ``(se_now - se_after) * annual spend``. Tests are ranked by that value per unit of
cost (cost floored at 1% of the spend changed, so a test that pays for itself ranks first
without dividing by zero).
"""

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from mmm_pipeline.core.data import periods
from mmm_pipeline.core.data.experiments import LiftTests
from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.infer.information import MediaInformation, long_run_factor
from mmm_pipeline.core.train.experiments import predicted_lift, prepare_experiments

log = logging.getLogger(__name__)

Z95 = 1.959964
PLAN_FILE = "experiment_plan.json"
PERIODS_PER_WEEK = {"daily": 7.0, "weekly": 1.0, "monthly": 12.0 / 52.18}
PERIODS_PER_YEAR = {"daily": 365.25, "weekly": 52.18, "monthly": 12.0}
DEFAULT_WEEKS = (2, 4, 8)
DEFAULT_MULTIPLIERS = (0.0, 0.5, 1.5)  # go dark, half spend, +50%: the usual geo/budget test cells
MIN_COST_SHARE = 0.01
METHOD = ("Each test changes one channel's spend for N weeks at today's spend. The model predicts its revenue "
          "change and cost (spend change minus revenue change); its precision comes from the model's own noise in "
          "total sales over the test window; the ROAS standard error after the test is the model's: the test "
          "counted as one more observation of the media response, beside the sales history and the tests already "
          "run. Value: the yearly revenue uncertainty the test removes; tests "
          "are ranked by value per unit of cost. See docs/experiments.md.")


@dataclass(frozen=True)
class ProposedTest:
    """One candidate experiment with its predicted outcome, precision and cost."""

    channel: str
    design: str
    multiplier: float
    weeks: int
    periods: int
    spend_change: float
    revenue_change: float
    cost: float
    roas_now: float
    roas_se_now: float
    roas_se_test: float
    roas_se_after: float
    width_now: float
    width_after: float
    value: float
    value_per_cost: float


def design_tests(fitted: Any, data: ModelData, channels: dict[str, dict[str, Any]], settings: dict[str, Any],
                 train_mask: np.ndarray, information: MediaInformation | None = None) -> dict[str, Any]:
    """experiment_plan.json: proposals for every not-identified channel (and any listed in
    ``settings.experiment_design.channels``), best value per unit of cost first.

    ``information`` (:func:`~mmm_pipeline.core.infer.information.media_information` of
    ``fitted``): the ROAS error after each test is then the model's own — the test's information
    on the media parameters added to the evidence's — instead of two independent measurements.
    """
    cfg = settings.get("experiment_design") or {}
    wanted = [ch for ch, entry in channels.items() if not entry.get("identified")]
    wanted += [ch for ch in cfg.get("channels") or [] if ch in channels and ch not in wanted]
    mask = np.asarray(train_mask, dtype=bool)
    noise = _window_noise(fitted, data, mask)
    proposals = []
    rows = np.flatnonzero(mask)
    for channel in wanted:
        c = data.channel_names.index(channel)
        for weeks in cfg.get("weeks") or DEFAULT_WEEKS:
            window = rows[-max(1, int(round(float(weeks) * PERIODS_PER_WEEK[data.frequency]))):]
            for design in _designs(data, c, rows, window, cfg.get("multipliers") or DEFAULT_MULTIPLIERS):
                found = _propose(fitted, data, channels[channel], channel, int(weeks), design, mask, window, noise,
                                 information)
                if found is not None:
                    proposals.append(found)
    proposals.sort(key=lambda p: -p.value_per_cost)
    log.info("experiment plan: %d proposal(s) for %d channel(s)", len(proposals), len(wanted))
    return {
        "channels_considered": wanted,
        "proposals": [asdict(p) for p in proposals],
        "best_per_channel": _best_per_channel(proposals),
        "method": METHOD,
    }


def _window_noise(fitted: Any, data: ModelData, mask: np.ndarray) -> tuple[float, float]:
    """SD per period of the model's residual of total sales, and its long-run factor."""
    resid = (data.y - np.asarray(fitted.predict(data)).mean(0)).sum(1)[mask]
    return float(resid.std()), float(long_run_factor(resid[:, None]))


def _designs(data: ModelData, c: int, rows: np.ndarray, window: np.ndarray,
             multipliers: list[float]) -> list[tuple[str, float, float]]:
    """``(name, multiplier, money added per period)`` of each test that changes the channel's
    spend in ``window``: multipliers of today's spend, or, for a channel dark today, switching
    it on at its usual (mean non-zero) spend."""
    if data.spend[window, c].sum() > 0:
        return [("go dark" if m == 0 else f"{(m - 1) * 100:+.0f}% spend", float(m), 0.0)
                for m in multipliers if float(m) != 1.0]
    usual = data.spend[rows, c][data.spend[rows, c] > 0]
    return [("switch on at its usual spend", float("nan"), float(usual.mean()))] if usual.size else []


def _propose(fitted: Any, data: ModelData, entry: dict[str, Any], channel: str, weeks: int,
             design: tuple[str, float, float], mask: np.ndarray, window: np.ndarray,
             noise: tuple[float, float], information: MediaInformation | None) -> ProposedTest | None:
    rows = np.flatnonzero(mask)
    c = data.channel_names.index(channel)
    name, multiplier, change = design
    spend = data.spend[window, c]
    spend_change = float(spend.sum() * (multiplier - 1.0)) if np.isfinite(multiplier) else change * len(window)
    end = periods.next_start(data.dates[window[-1:]], data.frequency)[0] - pd.Timedelta(days=1)
    test = LiftTests((channel,), (None,), data.dates[window[:1]], pd.DatetimeIndex([end]), np.zeros(1), np.ones(1),
                     np.array([multiplier]), np.array([change]), (f"{channel}: {name}",))
    model = fitted.model
    prepared = prepare_experiments(test, data, mask, model.scalers.media_scale, model.scalers.target_mean,
                                   model.cfg.l_max, model.cfg.n_models)
    flat = model.flat.detach().clone().requires_grad_(True)
    lifts = predicted_lift(model, flat, fitted.inputs(data), prepared)[:, 0]
    lift = float(lifts.detach().mean())
    sd, factor = noise
    se_lift = sd * np.sqrt(len(window) * factor)
    se_test = se_lift / abs(spend_change)
    roas = entry.get("roas") or {}
    se_now = _roas_se(entry)
    if not np.isfinite(se_now) or se_now <= 0:  # nothing known: as uncertain as the estimate is large
        se_now = abs(float(roas.get("mean") or np.nan))
    if not np.isfinite(se_now) or se_now <= 0:
        return None
    if information is not None and channel in information.channels:
        # the test as one more observation of the model: its lift's gradient / its standard error
        (grad,) = torch.autograd.grad(lifts[0], flat)
        jac = grad[0].double().numpy()[information.media_mask][None] / se_lift
        rel = information.rel_se_after(jac)[list(information.channels).index(channel)]
        se_after = float(min(se_now, rel * abs(information.channels[channel].roas)))
    else:
        se_after = 1.0 / np.sqrt(1.0 / se_now**2 + 1.0 / se_test**2)
    cost = spend_change - lift
    annual = float(data.spend[rows, c].mean()) * PERIODS_PER_YEAR[data.frequency]
    value = (se_now - se_after) * annual
    return ProposedTest(channel, name, multiplier, weeks, len(window), spend_change, lift, cost,
                        float(roas.get("mean", np.nan)), se_now, float(se_test), float(se_after),
                        2 * Z95 * se_now, 2 * Z95 * float(se_after), float(value),
                        float(value / max(cost, MIN_COST_SHARE * abs(spend_change))))


def _roas_se(entry: dict[str, Any]) -> float:
    """The information-based ROAS standard error, else the interval's half-width / 1.96."""
    se = (entry.get("information") or {}).get("roas_se")
    if se is not None and np.isfinite(se) and se > 0:
        return float(se)
    roas = entry.get("roas") or {}
    if roas.get("hi") is None or roas.get("lo") is None:
        return float("nan")
    return float((roas["hi"] - roas["lo"]) / (2 * Z95))


def _best_per_channel(proposals: list[ProposedTest]) -> dict[str, dict[str, Any]]:
    best: dict[str, dict[str, Any]] = {}
    for p in proposals:  # already best first
        best.setdefault(p.channel, asdict(p))
    return best
