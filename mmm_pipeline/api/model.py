"""The champion model of one dataset, as a Python object: ``mmm_pipeline.load(dataset)``.

Read answers (``channels``, ``response_curves``, ``elasticities``, ``info``) are the champion's
results folder as the pipeline wrote it, so the report, its in-page simulator (which draws the
same ``response_curves.json``), the HTTP service and a notebook all show the same numbers.
On-request answers (``predict``, ``optimize``, ad-hoc ``scenarios``) run the pipeline's own
functions - :func:`~mmm_pipeline.core.plan.optimizer.optimize_budget`,
:func:`~mmm_pipeline.core.plan.scenarios.run_scenarios`, ``FittedNAM.decompose`` - on the
champion's stored bootstrap replicates, so their intervals mean what the report's mean.
Nothing is refitted on request.
"""

import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mmm_pipeline.api.errors import RequestError, check_names
from mmm_pipeline.api.plans import future_data, parse_plan
from mmm_pipeline.api.store import Champion, dataset_config, load_champion, results_root
from mmm_pipeline.core.infer.intervals import interval_dict
from mmm_pipeline.core.plan.constraints import PlanConstraintError
from mmm_pipeline.core.plan.horizon import horizon_periods
from mmm_pipeline.core.plan.optimizer import OBJECTIVES, optimize_budget
from mmm_pipeline.core.plan.scenarios import ScenarioError, run_scenarios

#: optimizer settings a request may change (the rest stay the dataset's settings.optimizer)
OPTIMIZE_FIELDS = ("total_budget", "horizon_periods", "objective", "bounds", "locked", "exclude",
                   "linear_constraints", "margin", "plan_blocks")


class OptimizerTimeout(TimeoutError):
    """The optimizer ran past its time limit."""


class _Deadline:
    """A fitted model that refuses to evaluate plans after ``deadline`` (``time.monotonic``).

    The optimizer evaluates the model at every step, so this stops a long solve within one
    step of its limit without touching the optimizer.
    """

    def __init__(self, fitted: Any, seconds: float) -> None:
        self._fitted, self._seconds = fitted, seconds
        self._deadline = time.monotonic() + seconds

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fitted, name)

    def media_revenue(self, *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() > self._deadline:
            raise OptimizerTimeout(f"the optimizer ran past its {self._seconds:g}-second limit; ask a smaller "
                                   "question (fewer plan blocks, a shorter horizon)")
        return self._fitted.media_revenue(*args, **kwargs)


class ChampionModel:
    """The promoted model of one dataset and everything it answers."""

    def __init__(self, champion: Champion) -> None:
        self._champion = champion

    @property
    def dataset(self) -> str:
        return self._champion.config.name

    @property
    def version(self) -> str:
        return self._champion.record.version

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self._champion.config.settings)

    @property
    def level(self) -> float:
        return float(self.settings["bootstrap"]["level"])

    # -- read answers: the stored results ---------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Version, training window, deployment gate, not-identified channels and the promotion."""
        summary = self._champion.results["summary.json"]
        return {
            "dataset": self.dataset,
            "title": summary.get("title"),
            "version": self.version,
            "model_version": summary.get("model_version"),
            "created_at": summary.get("created_at"),
            "frequency": summary.get("frequency"),
            "target": summary.get("target"),
            "training_window": summary.get("training_window"),
            "gate": summary.get("gate"),
            "not_identified": summary.get("not_identified"),
            "champion": summary.get("champion"),
            "channels": self.channel_names(),
            "replicates": self._champion.fitted.n_models if self._champion.has_replicates else 0,
            "intervals": self._champion.interval_note,
        }

    def channel_names(self) -> list[str]:
        return list(self._champion.data.channel_names)

    def channels(self) -> dict[str, Any]:
        """channels.json: per channel ROAS, marginal ROAS, contribution and share with intervals, identification."""
        return self._champion.results["channels.json"]

    def response_curves(self) -> dict[str, Any]:
        """response_curves.json: contribution per period against spend, with bands and markers."""
        return self._champion.results["response_curves.json"]

    def elasticities(self) -> dict[str, Any]:
        """elasticities.json by feature and node, and the own-price elasticities of summary.json."""
        summary = self._champion.results["summary.json"]
        return {"by_feature": self._champion.results["elasticities.json"],
                "price": summary.get("price_elasticity"), "price_units": summary.get("price_elasticity_units")}

    # -- on-request answers -----------------------------------------------------------------
    def predict(self, plan: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Revenue over future periods under a spend (and price) plan, with intervals and decomposition.

        ``plan``: ``spend`` per channel (one number per period, or a list with one per period;
        channels left out keep their current run-rate), ``periods`` (default: the planning
        horizon), ``price_change`` (fraction, e.g. -0.05) and ``discount_change`` (points).
        See :mod:`mmm_pipeline.api.plans` for the inputs a plan does not set.
        """
        champion = self._champion
        data = champion.data
        parsed = parse_plan(plan or {}, data, horizon_periods(self.settings, data.frequency))
        history = int(champion.fitted.model.cfg.l_max)
        joined = future_data(data, parsed, history)
        decomposition = champion.fitted.decompose(joined)
        start = len(joined.dates) - parsed.periods
        predicted = decomposition.prediction[:, start:].sum(axis=2)  # [K, H]
        contributions = decomposition.contributions[:, start:].sum(axis=(1, 2))  # [K, F]
        level = self.level
        return {
            "periods": parsed.periods,
            "start": joined.dates[start].strftime("%Y-%m-%d"),
            "end": joined.dates[-1].strftime("%Y-%m-%d"),
            "revenue": interval_dict(predicted.sum(axis=1), level),
            "media_revenue": interval_dict(contributions[:, list(data.media_index)].sum(axis=1), level),
            "per_period": [{"date": d.strftime("%Y-%m-%d"), **interval_dict(predicted[:, h], level)}
                           for h, d in enumerate(joined.dates[start:])],
            "decomposition": {"base": float(decomposition.base[:, start:].sum(axis=(1, 2)).mean()),
                              **{name: float(contributions[:, j].mean())
                                 for j, name in enumerate(decomposition.feature_names)}},
            "spend": {ch: float(parsed.spend[:, c].sum()) for c, ch in enumerate(data.channel_names)},
            "price_change": parsed.price_change,
            "discount_change": parsed.discount_change,
            "intervals": champion.interval_note,
        }

    def optimize(self, time_limit: float | None = None, **request: Any) -> dict[str, Any]:
        """The risk-aware budget plan (optimal_allocation.json's layout) for a planning question.

        Every field is optional, ``{}`` plans the current budget with the dataset's settings:
        ``total_budget`` (money over the horizon), ``horizon_periods``, ``objective``
        (conservative, mean or point), ``bounds`` ({channel: {lower, upper, lower_pct,
        upper_pct}}), ``locked``, ``exclude``, ``linear_constraints``, ``margin``, ``plan_blocks``.
        ``time_limit`` (seconds) stops a solve that runs longer with :class:`OptimizerTimeout`.
        """
        check_names("", list(request), OPTIMIZE_FIELDS, "field", keyed=True)
        objective = request.get("objective")
        if objective is not None and objective not in OBJECTIVES:
            raise RequestError("objective", f"unknown objective '{objective}'", OBJECTIVES)
        champion = self._champion
        overrides = {k: v for k, v in request.items()
                     if k not in ("total_budget", "horizon_periods", "objective") and v is not None}
        fitted = _Deadline(champion.fitted, time_limit) if time_limit else champion.fitted
        channels = self.channels()
        try:
            plan = optimize_budget(
                fitted, champion.data, self.settings, total_budget=request.get("total_budget"),
                horizon=request.get("horizon_periods"), objective=objective, point_model=champion.point,
                not_identified=[ch for ch, e in channels.items() if e.get("identified") is False],
                overrides=overrides, evidence=channels, sensitivity=False,
            )
        except PlanConstraintError as exc:
            raise _as_request_error(exc) from None
        return {**plan.to_dict(), "intervals": champion.interval_note}

    def scenarios(self, names: Sequence[str] | None = None,
                  custom: Sequence[Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
        """What-if outcomes with intervals: stored ones by name, and ad-hoc ones computed now.

        ``names``: scenarios of the champion's scenarios.json (None: all of them when no
        ``custom`` is given). ``custom``: scenario mappings as in ``settings.scenarios``
        (:mod:`mmm_pipeline.core.plan.scenarios`: channel multipliers, price and discount
        changes, events, window length), replayed over the most recent periods.
        """
        stored = {s["name"]: s for s in self._champion.results["scenarios.json"]}
        check_names("names", list(names or []), list(stored), "scenario")
        picked = [stored[n] for n in names] if names is not None else ([] if custom else list(stored.values()))
        if not custom:
            return picked
        settings = {**self.settings, "scenarios": [dict(s) for s in custom]}
        try:
            computed = run_scenarios(self._champion.fitted, self._champion.data, settings, include_builtin=False)
        except ScenarioError as exc:
            raise RequestError("scenarios", str(exc).replace("settings.scenarios", "scenarios")) from None
        return picked + [{**s, "source": "request"} for s in computed]


def _as_request_error(exc: PlanConstraintError) -> RequestError:
    """The optimizer's setting-naming message, with the request field it came from."""
    text = str(exc)
    found = re.search(r"settings\.optimizer\.([A-Za-z_][\w.\[\]]*)", text)
    field = found.group(1).rstrip(".:") if found else "optimize"
    text = text.replace("settings.optimizer.", "").removeprefix(f"{field}: ").replace("settings.optimizer", "the request and the dataset's settings")
    return RequestError(field, text)


def load(dataset: str, output_root: str | Path | None = None) -> ChampionModel:
    """The champion of ``dataset`` (a name in configs/datasets/ or a YAML path).

    ``output_root``: the folder holding ``<dataset>/`` (default ``$MMM_OUTPUT_ROOT``, else
    ``settings.outputs.root``). Raises :class:`~mmm_pipeline.api.store.NotFound` for an unknown
    dataset or one with no promoted model.
    """
    config = dataset_config(dataset)
    return ChampionModel(load_champion(config, results_root(config, output_root)))
