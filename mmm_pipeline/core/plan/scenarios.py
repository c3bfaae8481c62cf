"""What-if scenarios: replay the most recent periods with changed spend, prices or events.

A scenario edits the model inputs over a window at the end of the data (by default the
optimizer's horizon) and predicts it with every bootstrap replicate, so each outcome comes
with an interval and a probability of beating what actually ran. Replaying recent history
rather than forecasting keeps every other input (seasonality, NPS, the base) at values the
model has seen, which isolates the effect of the change itself.

Scenarios come from ``settings.scenarios`` (a list in the dataset YAML) plus four built-ins,
whose channels and events are picked by the name fragments in ``settings.builtin_scenarios``.
Keys of a scenario (all optional but ``name``)::

    name: tv_blackout
    description: text for the report
    channels: {TV: 0.0}          # spend multipliers per channel
    all_channels: 1.2            # multiplier for every channel not named in `channels`
    price_change: -0.05          # relative change of own-price features (kind decreasing)
    discount_change: 0.10        # absolute change of discount fractions (clipped to 0..0.95)
    discount_multiplier: 0.5     # relative change of discount fractions
    events: {special_sale: on}   # switch 0/1 event features on or off in the window
    periods: 14                  # window length (default: the optimizer horizon)
"""

import logging
from dataclasses import replace
from typing import Any

import numpy as np

from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.hints import suggest
from mmm_pipeline.core.infer.intervals import interval_dict, probability_positive
from mmm_pipeline.core.plan.horizon import horizon_periods
from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

ALLOWED_KEYS = {
    "name", "description", "channels", "all_channels", "price_change", "discount_change",
    "discount_multiplier", "events", "periods",
}
MAX_DISCOUNT = 0.95


class ScenarioError(ValueError):
    """A scenario names something the dataset does not have, or has a bad value."""


def price_features(data: ModelData) -> list[str]:
    return [f.name for f in data.features if f.kind == "decreasing"]


def discount_features(data: ModelData) -> list[str]:
    return [f.name for f in data.features if f.kind == "increasing" and "discount" in f.name.lower()]


def event_features(data: ModelData) -> list[str]:
    """0/1 features of kind linear (events; Fourier terms are linear too but not binary)."""
    out = []
    for j, spec in enumerate(data.features):
        if spec.kind != "linear":
            continue
        values = np.unique(data.X[:, :, j])
        if values.size <= 2 and np.isin(values, (0.0, 1.0)).all():
            out.append(spec.name)
    return out


def _named_like(names: list[str], fragments: list[str]) -> list[str]:
    """The names containing any of the fragments, ignoring case."""
    return [n for n in names if any(str(k).lower() in n.lower() for k in fragments)]


def builtin_scenarios(data: ModelData, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """The four standard scenarios, each only when the dataset has what it changes.

    Which channels count as digital and which events as festivals is matched by the name
    fragments of ``settings.builtin_scenarios`` (configs/defaults.yaml), not written here.
    """
    picks = dict(settings.get("builtin_scenarios") or {})
    out: list[dict[str, Any]] = []
    digital = _named_like(data.channel_names, picks.get("digital_keywords") or [])
    if digital:
        out.append({
            "name": "aggressive_digital",
            "description": f"digital channels ({join_names(digital)}) at 150% of actual spend",
            "channels": {ch: 1.5 for ch in digital},
        })
    if price_features(data):
        out.append({"name": "price_reduction", "description": "list prices 5% lower", "price_change": -0.05})
        premium: dict[str, Any] = {"name": "premium_positioning", "description": "list prices 5% higher", "price_change": 0.05}
        if discount_features(data):
            premium["discount_multiplier"] = 0.5
            premium["description"] = "list prices 5% higher and discounts halved"
        out.append(premium)
    festivals = _named_like(event_features(data), picks.get("festival_keywords") or [])
    periods = int((picks.get("festival_periods") or {}).get(data.frequency, 1))
    if festivals:
        out.append({
            "name": "festival_push",
            "description": f"{join_names(festivals)} switched on with all media at 120% for the last {periods} periods",
            "events": {e: True for e in festivals},
            "all_channels": 1.2,
            "periods": periods,
        })
    return out


def _check(spec: dict[str, Any], data: ModelData, where: str) -> None:
    if not spec.get("name"):
        raise ScenarioError(f"{where}: every scenario needs a `name`")
    unknown = sorted(set(spec) - ALLOWED_KEYS)
    if unknown:
        hints = "".join(suggest(k, sorted(ALLOWED_KEYS), "`") for k in unknown)
        raise ScenarioError(f"{where} ('{spec['name']}'): unknown key(s) {join_names(unknown)}{hints}; a scenario "
                            f"takes {join_names(sorted(ALLOWED_KEYS))}")
    bad = [ch for ch in (spec.get("channels") or {}) if ch not in data.channel_names]
    if bad:
        raise ScenarioError(f"{where} ('{spec['name']}'): unknown channel(s) {join_names(bad)}"
                            f"{suggest(bad[0], data.channel_names)}; the channels are {join_names(data.channel_names)}")
    for ch, mult in (spec.get("channels") or {}).items():
        if float(mult) < 0:
            raise ScenarioError(f"{where} ('{spec['name']}'): multiplier for {ch} must be >= 0, got {mult}")
    if "price_change" in spec and not price_features(data):
        raise ScenarioError(f"{where} ('{spec['name']}'): price_change given but the data has no price feature")
    if ("discount_change" in spec or "discount_multiplier" in spec) and not discount_features(data):
        raise ScenarioError(f"{where} ('{spec['name']}'): discount change given but the data has no discount feature")
    if spec.get("price_change") is not None and float(spec["price_change"]) <= -1:
        raise ScenarioError(f"{where} ('{spec['name']}'): price_change must be > -1 (a fraction), got {spec['price_change']}")
    events = event_features(data)
    bad = [e for e in (spec.get("events") or {}) if e not in events]
    if bad:
        raise ScenarioError(f"{where} ('{spec['name']}'): unknown event(s) {join_names(bad)}; the 0/1 event features "
                            f"are {join_names(events) or 'none'}")
    periods = spec.get("periods")
    if periods is not None and not 1 <= int(periods) <= len(data.dates):
        raise ScenarioError(f"{where} ('{spec['name']}'): periods must be between 1 and {len(data.dates)}, got {periods}")


def resolve_scenarios(data: ModelData, settings: dict[str, Any], include_builtin: bool = True) -> list[dict[str, Any]]:
    """Validated scenarios: the dataset's ``settings.scenarios`` first, then built-ins not overridden."""
    configured = list(settings.get("scenarios") or [])
    for i, spec in enumerate(configured):
        if not isinstance(spec, dict):
            raise ScenarioError(f"settings.scenarios[{i}] must be a mapping, got {type(spec).__name__}")
        _check(spec, data, f"settings.scenarios[{i}]")
    names = [s["name"] for s in configured]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ScenarioError(f"settings.scenarios: {join_names(dupes)} name(s) more than one scenario; "
                            "give each scenario its own name")
    out = [dict(s, source="settings") for s in configured]
    if include_builtin:
        for spec in builtin_scenarios(data, settings):
            if spec["name"] not in names:
                _check(spec, data, "built-in scenario")
                out.append(dict(spec, source="builtin"))
    return out


def _on(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"on", "true", "yes", "1"}
    return bool(value)


def apply_scenario(data: ModelData, spec: dict[str, Any], periods: int) -> ModelData:
    """A copy of ``data`` with the scenario's changes made in its last ``periods`` periods."""
    x = data.X.copy()
    window = slice(len(data.dates) - periods, None)
    names = data.feature_names
    mults = {ch: float(spec.get("all_channels", 1.0)) for ch in data.channel_names}
    mults.update({ch: float(m) for ch, m in (spec.get("channels") or {}).items()})
    for ch, m in mults.items():
        x[window, :, names.index(ch)] *= m
    if spec.get("price_change") is not None:
        for f in price_features(data):
            x[window, :, names.index(f)] *= 1.0 + float(spec["price_change"])
    for f in discount_features(data) if ("discount_change" in spec or "discount_multiplier" in spec) else []:
        j = names.index(f)
        x[window, :, j] = np.clip(
            x[window, :, j] * float(spec.get("discount_multiplier", 1.0)) + float(spec.get("discount_change", 0.0)),
            0.0, MAX_DISCOUNT,
        )
    for e, state in (spec.get("events") or {}).items():
        x[window, :, names.index(e)] = 1.0 if _on(state) else 0.0
    return replace(data, X=x)


def run_scenarios(
    fitted: Any, data: ModelData, settings: dict[str, Any], *, include_builtin: bool = True
) -> list[dict[str, Any]]:
    """scenarios.json: each scenario's predicted revenue over its window vs what actually ran.

    Every replicate predicts both the actual inputs and the scenario's, so ``lift`` and
    ``lift_pct`` intervals are paired differences (the uncertainty in the base cancels).
    Carry-over of changed media beyond the end of the data is not counted.
    """
    level = float((settings.get("bootstrap") or {}).get("level", 0.95))
    default_periods = min(horizon_periods(settings, data.frequency), len(data.dates))
    actual = np.asarray(fitted.predict(data), dtype=float)  # [K, T, N]
    spend = np.asarray(data.spend, dtype=float)
    results = []
    for spec in resolve_scenarios(data, settings, include_builtin):
        periods = int(spec.get("periods") or default_periods)
        scen_data = apply_scenario(data, spec, periods)
        predicted = np.asarray(fitted.predict(scen_data), dtype=float)
        base = actual[:, -periods:, :].sum(axis=(1, 2))
        revenue = predicted[:, -periods:, :].sum(axis=(1, 2))
        lift = revenue - base
        base_spend = float(spend[-periods:].sum())
        new_spend = float(np.asarray(scen_data.spend, dtype=float)[-periods:].sum())
        d_spend = new_spend - base_spend
        window_spend = spend[-periods:].sum(axis=0)
        idle = [ch for ch, m in (spec.get("channels") or {}).items()
                if float(m) != 1.0 and window_spend[data.channel_names.index(ch)] <= 0]
        notes = [f"{join_names(idle)} spent nothing in the window, so changing {'its' if len(idle) == 1 else 'their'} "
                 "spend changes nothing"] if idle else []
        results.append({
            "name": spec["name"],
            "description": spec.get("description") or _describe(spec),
            "source": spec["source"],
            **outcome_fields(data, periods, revenue, base, level),
            "spend": new_spend,
            "spend_change": d_spend,
            "spend_change_pct": 100.0 * d_spend / base_spend if base_spend > 0 else None,
            "incremental_roi": interval_dict(lift / d_spend, level) if abs(d_spend) > 1e-9 * max(base_spend, 1.0) else None,
            "notes": notes,
        })
        log.info("scenario %s: lift %.3g (%.2f%%)", spec["name"], lift.mean(), 100 * lift.mean() / base.mean())
    return results


def outcome_fields(data: ModelData, periods: int, revenue: np.ndarray, base: np.ndarray, level: float
                   ) -> dict[str, Any]:
    """The part every scenarios.json entry shares: its window, revenue against the baseline over it
    and the lift, each with its interval over replicates (``revenue``, ``base``: ``[K]``)."""
    lift = revenue - base
    return {
        "periods": periods,
        "window": {"start": data.dates[-periods].strftime("%Y-%m-%d"), "end": data.dates[-1].strftime("%Y-%m-%d")},
        "revenue": interval_dict(revenue, level),
        "baseline_revenue": interval_dict(base, level),
        "lift": interval_dict(lift, level),
        "lift_pct": interval_dict(100.0 * lift / base, level),
        "probability_positive": probability_positive(lift),
    }


def _describe(spec: dict[str, Any]) -> str:
    parts = [f"{ch} x{m:g}" for ch, m in (spec.get("channels") or {}).items()]
    if spec.get("all_channels") is not None:
        parts.append(f"other channels x{float(spec['all_channels']):g}")
    if spec.get("price_change") is not None:
        parts.append(f"prices {float(spec['price_change']):+.0%}")
    if spec.get("discount_change") is not None:
        parts.append(f"discount {float(spec['discount_change']):+.0%} points")
    if spec.get("discount_multiplier") is not None:
        parts.append(f"discount x{float(spec['discount_multiplier']):g}")
    for e, state in (spec.get("events") or {}).items():
        parts.append(f"{e} {'on' if _on(state) else 'off'}")
    return ", ".join(parts) or "no change"
