"""Report sections on trust: executive summary, model card, validation, residuals.

Each function takes the :class:`Context` and returns one ``<section>``; a missing input becomes
a "not available for this run" line, never an error.
"""

from collections.abc import Callable

import pandas as pd

from mmm_pipeline.core.report import charts_quality
from mmm_pipeline.core.report.card import (
    LIMITATIONS,
    NOT_IDENTIFIED_MEANING,
    PURPOSE,
    provenance_text,
    training_window_text,
)
from mmm_pipeline.core.report.context import Context
from mmm_pipeline.core.report.derived import ensemble_metrics, model_metrics
from mmm_pipeline.core.report.formatting import DASH, fmt_amount, fmt_pct, fmt_ratio
from mmm_pipeline.core.report.inputs import finite_or_none
from mmm_pipeline.core.report.markup import (
    badge,
    definition_list,
    esc,
    figure,
    note,
    section,
    table,
    unavailable,
)


def executive_summary(ctx: Context) -> str:
    cards = "".join(
        f'<div class="finding finding-{f.tone}" data-finding="{esc(f.key)}"><h3>{esc(f.title)}</h3>'
        f"<p>{esc(f.text)}</p></div>"
        for f in ctx.findings
    )
    return section("executive-summary", "Executive summary", f'<div class="findings">{cards}</div>')


def model_card(ctx: Context) -> str:
    s = ctx.summary
    simulated = s.get("simulated")
    data_flag = ""
    if simulated is not None:
        data_flag = badge("SIMULATED DATA", "warn") if simulated else badge("real data", "info")
    champion = s.get("champion") or {}
    items = [
        ("Purpose", esc(PURPOSE)),
        ("Data", f"{data_flag} {esc(provenance_text(s))}"),
        ("Training window", esc(training_window_text(s))),
        ("Frequency and target", esc(f"{s.get('frequency') or DASH}; target: {s.get('target') or DASH}")),
        ("Model version", esc(f"{s.get('model_version') or DASH} (created {s.get('created_at') or DASH})")),
        ("Intervals", esc(f"{ctx.interval_label.capitalize()}: the whole model refitted on block-bootstrap "
                          "resamples of the data, widened where needed so no interval is narrower than the "
                          "information in the sales history supports")),
    ]
    if champion:
        status = "promoted to champion" if champion.get("promoted") else "not promoted"
        items.append(("Deployment", esc(f"{status}: {champion.get('reason') or 'no reason recorded'}")))
    body = definition_list(items)
    body += "<h3>Limitations</h3><ul>" + "".join(f"<li>{esc(x)}</li>" for x in LIMITATIONS) + "</ul>"
    body += f"<h3>What “not identified” means</h3><p>{esc(NOT_IDENTIFIED_MEANING)}</p>"
    notes = [str(n) for n in s.get("notes") or []] + ctx.inputs.warnings
    if notes:
        body += "<h3>Notes from this run</h3><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"
    missing = {k: v for k, v in ctx.inputs.problems.items()}
    if missing:
        body += "<h3>Inputs not available</h3><ul>" + "".join(
            f"<li><code>{esc(k)}</code>: {esc(v)}</li>" for k, v in missing.items()
        ) + "</ul>"
    return section("model-card", "Model card", body)


def walk_forward(ctx: Context) -> str:
    s = ctx.summary
    wf = s.get("walk_forward") or {}
    folds = [f for f in wf.get("folds") or [] if isinstance(f, dict)]
    supplied = ctx.extras("walk-forward")
    # a fold chart from the pipeline replaces ours (same content, drawn from the fold models)
    own_charts = not any("fold" in key.lower() for key, _ in ctx.extra_figures.get("walk-forward", []))
    parts = [supplied]
    if folds and own_charts:
        parts.append(figure(charts_quality.fold_chart(folds, _gate_min_r2(s)), "walk-forward R² and MAPE per month"))
    fold_r2 = wf.get("fold_r2") or {}
    if finite_or_none(fold_r2.get("mean")) is not None:
        parts.append(
            note(
                f"R² across {len(folds) or 'the'} folds: mean {fmt_ratio(fold_r2.get('mean'))}, from "
                f"{fmt_ratio(fold_r2.get('min'))} to {fmt_ratio(fold_r2.get('max'))}. A fold of a few periods "
                "scores a noisy R², so the deployment gate judges stability on blocks of consecutive folds "
                "(table below)."
            )
        )
    parts.append(_metrics_table(s))
    metrics, source = model_metrics(s)
    baselines = [b for b in s.get("baselines") or [] if isinstance(b, dict)]
    if finite_or_none(metrics.get("r2")) is not None and baselines:
        chart = charts_quality.baseline_chart(float(metrics["r2"]), f"NAM ({source})", baselines)
        parts.append(figure(chart, "model vs baselines"))
    if own_charts and ctx.inputs.holdout is not None and len(ctx.inputs.holdout):
        parts.append(figure(charts_quality.holdout_chart(ctx.inputs.holdout), "hold-out actual vs predicted"))
    parts += [_gate_table(s), _block_table(s), _sanity_table(s.get("sanity") or {}),
              _stability_table(wf.get("stability") or {})]
    body = "".join(p for p in parts if p)
    if not folds and not metrics and not baselines and not supplied:
        body = unavailable("Not available for this run: summary.json has no walk-forward or baseline results.")
    lead = "Each month the model is refit on all earlier data and scored on that month: the honest test of skill."
    return section("walk-forward", "Walk-forward validation and baselines", body, lead)


def _sanity_table(sanity: dict) -> str:
    rows = [[esc(name), badge("pass", "good") if r.get("passed") else badge("check", "warn"),
             esc(r.get("message") or "")] for name, r in sanity.items() if isinstance(r, dict)]
    return table(["sanity check", "result", "detail"], rows, caption="Sanity checks") if rows else ""


def _gate_min_r2(summary: dict) -> float | None:
    """The gate's R² threshold (check ``min_oos_r2``), drawn as a line on the fold chart."""
    for check in (summary.get("gate") or {}).get("checks") or []:
        if isinstance(check, dict) and check.get("name") == "min_oos_r2":
            return finite_or_none(check.get("threshold"))
    return None


def _metrics_table(s: dict) -> str:
    rows = []
    for label, m in (("NAM, walk-forward", (s.get("walk_forward") or {}).get("overall")),
                     ("NAM, final hold-out", s.get("holdout_metrics")),
                     ("walk-forward ensemble, final hold-out", ensemble_metrics(s))):
        if isinstance(m, dict) and m:
            rows.append([esc(label), fmt_ratio(m.get("r2")), fmt_pct(m.get("mape")), fmt_amount(m.get("rmse")),
                         fmt_pct(m.get("directional_accuracy"), 0), DASH])
    for b in s.get("baselines") or []:
        if isinstance(b, dict):
            secs = finite_or_none(b.get("train_seconds"))
            rows.append([esc(f"baseline: {b.get('model')}"), fmt_ratio(b.get("r2")), fmt_pct(b.get("mape")),
                         fmt_amount(b.get("rmse")), DASH, DASH if secs is None else f"{secs:.2f}"])
    if not rows:
        return ""
    headers = ["model", "R²", "MAPE", "RMSE", "direction right", "train seconds"]
    return table(headers, rows, numeric=range(1, 6), caption="Out-of-sample accuracy")


def _gate_table(s: dict) -> str:
    gate = s.get("gate") or {}
    checks = [c for c in gate.get("checks") or [] if isinstance(c, dict)]
    if not checks:
        return ""
    rows = [
        [esc(c.get("name")), fmt_ratio(c.get("value"), 3), esc(f"{c.get('op', '')} {fmt_ratio(c.get('threshold'), 3)}"),
         fmt_ratio(c.get("margin"), 3), badge("pass", "good") if c.get("passed") else badge("fail", "bad"),
         esc(c.get("message") or "")]
        for c in checks
    ]
    verdict = "passed" if gate.get("passed") else "failed"
    return table(["check", "value", "required", "margin", "result", "detail"], rows, numeric=(1, 3),
                 caption=f"Deployment gate: {verdict}")


def _block_table(s: dict) -> str:
    """The gate's blocks: out-of-sample R² and skill against last year's same period, per block."""
    blocks = [b for b in (s.get("gate") or {}).get("blocks") or [] if isinstance(b, dict)]
    rows = [[esc(b.get("block")), esc(b.get("folds")), esc(b.get("n_periods")), fmt_ratio(b.get("r2"), 3),
             fmt_ratio(b.get("naive_skill"), 3)] for b in blocks]
    headers = ["folds pooled", "folds", "periods", "R²", "skill against last year's same period"]
    return table(headers, rows, numeric=range(1, 5), caption="Out-of-sample accuracy by block") if rows else ""


def _stability_table(stability: dict) -> str:
    values = {k: finite_or_none(v) for k, v in stability.items()}
    values = {k: v for k, v in values.items() if v is not None}
    if not values:
        return ""
    rows = [[esc(k), fmt_pct(v, 0)] for k, v in sorted(values.items(), key=lambda kv: -kv[1])]
    tbl = table(["estimate", "variation across folds (CV)"], rows, numeric=(1,))
    return f"<details><summary>Stability of estimates across folds</summary>{tbl}</details>"


def residuals(ctx: Context) -> str:
    diagnostics = ctx.summary.get("diagnostics") or {}
    in_sample = _residual_series(ctx.inputs.decomposition)
    holdout = _residual_series(ctx.inputs.holdout)
    acf = [v for v in (finite_or_none(x) for x in diagnostics.get("acf") or []) if v is not None]
    parts = [ctx.extras("residuals")]
    if in_sample is not None or holdout is not None or acf:
        bound = finite_or_none(diagnostics.get("acf_bound"))
        if bound is None and in_sample is not None and len(in_sample) > 0:
            bound = 1.96 / len(in_sample) ** 0.5
        parts.append(figure(charts_quality.residual_chart(in_sample, holdout, acf, bound), "residual diagnostics"))
    parts.append(_diagnostics_table(diagnostics))
    notes = [str(n) for n in diagnostics.get("notes") or []]
    if notes:
        parts.append('<ul class="note">' + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    body = "".join(p for p in parts if p)
    if not body:
        body = unavailable("Not available for this run: no residual diagnostics or predictions were saved.")
    return section("residuals", "Residual diagnostics", body,
                   "What the model misses: patterns here mean a driver or a season is missing.")


def _residual_series(frame: pd.DataFrame | None) -> pd.Series | None:
    if frame is None or frame.empty:
        return None
    per_date = frame.groupby("date")[["actual", "predicted"]].sum().sort_index()
    return per_date["actual"] - per_date["predicted"]


DIAGNOSTIC_READINGS: dict[str, tuple[str, Callable[[float], str]]] = {
    "durbin_watson": ("Durbin-Watson", lambda v: "about 2: little autocorrelation left" if 1.5 <= v <= 2.5
                      else "below 1.5: errors run in streaks, a slow pattern is missing" if v < 1.5
                      else "above 2.5: errors alternate, the model over-reacts"),
    "breusch_pagan_p": ("Breusch-Pagan p", lambda v: "no sign that error size depends on the level" if v >= 0.05
                        else "error size changes with the level: intervals may be too narrow in big periods"),
    "normality_p": ("Normality p", lambda v: "consistent with normal errors" if v >= 0.05
                    else "heavier tails than normal: a few periods are missed badly"),
}


def _diagnostics_table(diagnostics: dict) -> str:
    rows = []
    for key, (label, reading) in DIAGNOSTIC_READINGS.items():
        value = finite_or_none(diagnostics.get(key))
        if value is not None:
            rows.append([esc(label), f"{value:.3g}", esc(reading(value))])
    return table(["test", "value", "reading"], rows, numeric=(1,)) if rows else ""


def additional_figures(ctx: Context) -> str:
    extras = ctx.extras("additional-figures")
    return section("additional-figures", "Additional figures", extras) if extras else ""
