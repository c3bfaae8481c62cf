"""The deployment gate: a model is promoted only if every threshold in ``settings.gate`` holds.

Each check reports its value, threshold, direction and *margin* (how far on the passing side
the value is; negative means it failed by that much), so a failed run says exactly which
threshold broke and by how much instead of a bare "gate failed".
"""

import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from mmm_pipeline.core.evaluate import time_blocks
from mmm_pipeline.core.train.walk_forward import WalkForwardSummary
from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

Op = Literal[">=", "<="]

#: elasticity stability is judged on these feature kinds by default; free controls (trend,
#: competitor sales) are nuisance terms whose elasticity may sit near zero, where a CV is
#: meaningless. Override with settings.gate.elasticity_features (explicit names).
DEFAULT_GATED_KINDS = ("media", "decreasing", "increasing", "concave")


@dataclass(frozen=True)
class GateCheck:
    name: str
    value: float
    threshold: float
    op: Op
    passed: bool
    margin: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("value", "threshold", "margin"):
            out[key] = out[key] if math.isfinite(out[key]) else None
        return out


@dataclass(frozen=True)
class GateResult:
    checks: list[GateCheck]
    blocks: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=time_blocks.BLOCK_COLUMNS))

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[GateCheck]:
        return [c for c in self.checks if not c.passed]

    @property
    def message(self) -> str:
        if self.passed:
            return f"gate passed: all {len(self.checks)} checks hold"
        return "gate failed: " + "; ".join(c.message for c in self.failures)

    def to_dict(self) -> dict[str, Any]:
        """The ``gate`` block of summary.json."""
        blocks = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
                  for row in self.blocks.to_dict(orient="records")]
        return {"passed": self.passed, "message": self.message, "checks": [c.to_dict() for c in self.checks],
                "blocks": blocks}


def check(name: str, label: str, value: float, threshold: float, op: Op) -> GateCheck:
    """One threshold; NaN (not computable, e.g. one fold only) fails, since it proves nothing."""
    value, threshold = float(value), float(threshold)
    margin = value - threshold if op == ">=" else threshold - value
    if math.isnan(value):
        return GateCheck(name, value, threshold, op, False, float("nan"), f"{label} could not be computed")
    passed = margin >= 0.0
    if passed:
        message = f"{label} {value:.4g} {op} {threshold:.4g} (margin {margin:.4g})"
    else:
        side = "below the minimum" if op == ">=" else "above the maximum"
        message = f"{label} {value:.4g} is {side} {threshold:.4g} by {-margin:.4g}"
    return GateCheck(name, value, threshold, op, passed, margin, message)


def rarely_active(active_share: Mapping[str, float] | None, settings: Mapping[str, Any]) -> dict[str, float]:
    """Channels on air in fewer than ``gate.min_active_share`` of periods.

    Their elasticity rests on a handful of periods, so its fold-to-fold CV measures which folds
    happen to contain those periods, not the model's stability; they are reported as exempt
    (and the bootstrap says whether they are identified) instead of failing every model.
    """
    floor = float(dict(settings.get("gate") or {}).get("min_active_share", 0.0))
    return {k: float(v) for k, v in (active_share or {}).items() if float(v) < floor}


def gated_elasticity_cv(
    summary: WalkForwardSummary, settings: Mapping[str, Any], exempt: Mapping[str, float] | None = None
) -> tuple[float, str]:
    """Largest fold-to-fold CV among the gated elasticities, and which feature it belongs to.

    Gated: the names in ``gate.elasticity_features`` if set, else features whose kind is in
    ``gate.elasticity_kinds``; a summary without feature kinds gates every elasticity. Names in
    ``exempt`` (rarely active channels) are left out.
    """
    gate = dict(settings.get("gate") or {})
    feature_kinds = summary.feature_kinds or None
    cvs = summary.elasticity_cv()
    names = gate.get("elasticity_features")
    if names is None and feature_kinds is not None:
        kinds = tuple(gate.get("elasticity_kinds", DEFAULT_GATED_KINDS))
        names = [f for f, k in feature_kinds.items() if k in kinds]
    chosen = {k: v for k, v in cvs.items() if (names is None or k in names) and k not in (exempt or {})}
    if not chosen:
        return float("nan"), ""
    worst = max(chosen, key=lambda k: chosen[k] if not math.isnan(chosen[k]) else math.inf)
    return float(chosen[worst]), worst


def excluded_folds(summary: WalkForwardSummary, gate: Mapping[str, Any]) -> list[str]:
    """Folds left out of the stability checks: with ``gate.exclude_unseen_folds``, those whose
    test window holds a feature never seen moving in training (a first-ever event: no model
    could have learned its effect, so the fold measures the calendar, not the model)."""
    if not gate.get("exclude_unseen_folds", False) or "unseen" not in summary.folds:
        return []
    ok = summary.folds[summary.folds["status"] == "ok"]
    return list(ok.loc[ok["unseen"].fillna("").astype(str) != "", "month"].astype(str))


def block_stability(summary: WalkForwardSummary, gate: Mapping[str, Any]) -> tuple[pd.DataFrame, str]:
    """Out-of-sample R² and naive skill per block of consecutive folds, and the words that say
    how the blocks were formed (block size, folds left out) for the checks' messages."""
    min_periods = int(gate.get("min_block_periods", 26))
    excluded = excluded_folds(summary, gate)
    blocks = time_blocks.score_blocks(summary.predictions, min_periods, excluded)
    note = f" over {len(blocks)} block{'' if len(blocks) == 1 else 's'} of at least {min_periods} test periods"
    if excluded:
        note += f" (excluding folds with a first-ever event: {join_names(excluded)})"
    return blocks, note


def _violation_value(constraint_violations: Mapping[str, float] | float | int | None) -> tuple[float, list[str]]:
    if constraint_violations is None:
        return 0.0, []
    if isinstance(constraint_violations, Mapping):
        bad = sorted(k for k, v in constraint_violations.items() if float(v) > 0.0)
        worst = max((float(v) for v in constraint_violations.values()), default=0.0)
        return worst, bad
    return float(constraint_violations), []


def evaluate_gate(
    summary: WalkForwardSummary,
    constraint_violations: Mapping[str, float] | float | int | None,
    settings: Mapping[str, Any],
    active_share: Mapping[str, float] | None = None,
) -> GateResult:
    """Every threshold of ``settings.gate`` against a walk-forward summary.

    ``constraint_violations``: the final model's ``constraint_violation_rates`` (name -> share of
    evaluation points violating a hard constraint; the gate value is the worst rate) or a plain
    count; ``None`` counts as none measured and passes. ``active_share``: share of periods each
    media channel was on air, to exempt rarely active channels from the elasticity-CV check.
    """
    gate = dict(settings.get("gate") or {})
    blocks, note = block_stability(summary, gate)
    r2s = blocks["r2"].to_numpy(float)
    checks = [
        check("min_oos_r2", "overall out-of-sample R²", summary.overall["r2"], gate.get("min_oos_r2", 0.75), ">="),
        check("max_block_r2_std", "std of out-of-sample R²" + note,
              float(np.std(r2s, ddof=1)) if r2s.size > 1 else float("nan"), gate.get("max_block_r2_std", 0.10), "<="),
        check("max_block_r2_range", "range of out-of-sample R²" + note,
              float(np.ptp(r2s)) if r2s.size > 1 else float("nan"), gate.get("max_block_r2_range", 0.25), "<="),
        check("min_naive_skill", "out-of-sample skill against the naive forecast (last year's same period)",
              time_blocks.pooled_skill(summary.predictions), gate.get("min_naive_skill", 0.0), ">="),
    ]
    exempt = rarely_active(active_share, settings)
    cv, worst = gated_elasticity_cv(summary, settings, exempt)
    label = f"elasticity CV across folds (worst: {worst})" if worst else "elasticity CV across folds"
    if exempt:
        label += " [exempt, on air in few periods: " + ", ".join(f"{k} {v:.0%}" for k, v in exempt.items()) + "]"
    if worst or not math.isnan(cv):
        checks.append(check("max_elasticity_cv", label, cv, gate.get("max_elasticity_cv", 0.30), "<="))
    else:
        checks.append(check("max_elasticity_cv", "elasticity CV (no gated elasticities)", 0.0,
                            gate.get("max_elasticity_cv", 0.30), "<="))
    value, bad = _violation_value(constraint_violations)
    label = "hard-constraint violation rate" + (f" ({', '.join(bad)})" if bad else "")
    checks.append(check("max_constraint_violations", label, value, gate.get("max_constraint_violations", 0.0), "<="))
    result = GateResult(checks, blocks)
    log.info(result.message)
    return result
