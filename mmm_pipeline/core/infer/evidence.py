"""What the model was told beyond the sales history: lift tests and assumptions, in plain words.

A channel's return can come from three places: the sales history, a lift test the fit was
calibrated to, or an assumption (a ROAS range, an elasticity bound). A planner must be able to
tell which, so every test and every assumption the fit applied is listed in ``summary.json``
(``evidence``) and the report, with how well the fitted model reproduces each test. Nothing is
applied silently: a ROAS range configured with a zero loss weight is listed as not applied.
"""

from typing import Any

import numpy as np
import torch

from mmm_pipeline.core.data.experiments import LiftTests
from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.train.experiments import predicted_lift, prepare_experiments
from mmm_pipeline.core.wording import join_names


def evidence_summary(fitted: Any, data: ModelData, settings: dict, train_mask: np.ndarray) -> dict[str, Any]:
    """``{"experiments": [...], "assumptions": [...], "lines": [...]}`` for ``summary.json``."""
    tests = _test_rows(fitted, data, train_mask)
    assumptions = _roas_priors(settings) + _elasticity_bounds(data)
    lines = [t["sentence"] for t in tests] + [a["sentence"] for a in assumptions]
    if not tests:
        lines.insert(0, "No lift test was given: every channel's return comes from the sales history alone.")
    if not any(a["kind"] == "roas_prior" and a["applied"] for a in assumptions):
        lines.append("No ROAS prior was applied: no channel's return was assumed.")
    return {"experiments": tests, "assumptions": assumptions, "lines": lines,
            "channels_with_tests": sorted({t["channel"] for t in tests if t["used"]})}


def _test_rows(fitted: Any, data: ModelData, train_mask: np.ndarray) -> list[dict[str, Any]]:
    tests: LiftTests | None = data.experiments
    if tests is None:
        return []
    model = fitted.model
    mask = np.asarray(train_mask, dtype=bool)
    rows = []
    for e in range(len(tests)):
        one = tests.select(np.arange(len(tests)) == e)
        prepared = prepare_experiments(one, data, mask, model.scalers.media_scale, model.scalers.target_mean,
                                       model.cfg.l_max, model.cfg.n_models)
        predicted = None
        if prepared is not None:
            with torch.no_grad():
                predicted = float(predicted_lift(model, model.flat, fitted.inputs(data), prepared).mean())
        rows.append(_test_row(one, predicted))
    return rows


def _test_row(test: LiftTests, predicted: float | None) -> dict[str, Any]:
    lift, se = float(np.mean(test.lift)), float(test.se[0])
    change = (f"spend times {test.multiplier[0]:g}" if np.isfinite(test.multiplier[0])
              else f"spend {test.change[0]:+,.0f} per period")
    where = f" in {test.node[0]}" if test.node[0] else ""
    what = f"Lift test of {test.channel[0]}{where}, {test.start[0].date()} to {test.end[0].date()} ({change})"
    if predicted is None:
        sentence = f"{what}: measured {lift:,.0f} ± {se:,.0f}; not used, it lies outside the training window."
    else:
        z = (predicted - lift) / se
        sentence = (f"{what}: measured {lift:,.0f} ± {se:,.0f}, the calibrated model predicts {predicted:,.0f} "
                    f"({abs(z):.1f} standard errors {'above' if z > 0 else 'below'} the measurement).")
    return {"label": test.label[0], "channel": test.channel[0], "node": test.node[0],
            "start": str(test.start[0].date()), "end": str(test.end[0].date()), "measured_lift": lift,
            "standard_error": se, "predicted_lift": predicted, "used": predicted is not None,
            "z": None if predicted is None else (predicted - lift) / se, "sentence": sentence}


def _roas_priors(settings: dict) -> list[dict[str, Any]]:
    priors = (settings.get("model") or {}).get("roas_priors") or {}
    weight = float((settings.get("loss") or {}).get("roas_prior", 0.0))
    out = []
    for channel, (lo, hi) in priors.items():
        applied = weight > 0
        sentence = (f"Assumption: the ROAS of {channel} lies between {lo:g} and {hi:g} (a prior, not measured here)."
                    if applied else f"A ROAS range of {lo:g} to {hi:g} is configured for {channel} but not applied "
                    "(loss weight roas_prior is 0).")
        out.append({"kind": "roas_prior", "feature": channel, "range": [float(lo), float(hi)], "applied": applied,
                    "sentence": sentence})
    return out


def _elasticity_bounds(data: ModelData) -> list[dict[str, Any]]:
    bounded: dict[tuple[float, float], list[str]] = {}
    for spec in data.features:
        if spec.elasticity_bounds is not None:
            bounded.setdefault(tuple(spec.elasticity_bounds), []).append(spec.name)
    return [{"kind": "elasticity_bound", "feature": join_names(names), "range": [lo, hi], "applied": True,
             "sentence": f"Assumption: the elasticity of {join_names(names)} lies between {lo:g} and {hi:g}."}
            for (lo, hi), names in bounded.items()]
