"""The report's sections, one function each: ``Context -> HTML``.

Every section renders from whatever part of the results folder exists; a missing input
becomes a "not available for this run" line instead of an error, so a partial run still
yields a report. Section ids are stable (tests and links rely on them): see ``SECTIONS``.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from mmm_pipeline.core.report import figures as fig
from mmm_pipeline.core.report.card import (
    LIMITATIONS,
    NOT_IDENTIFIED_MEANING,
    PURPOSE,
    provenance_text,
    training_window_text,
)
from mmm_pipeline.core.report.derived import (
    ChannelRow,
    allocation_changes,
    lift_fraction,
    model_metrics,
    node_categories,
    price_elasticity_split,
    scenario_lift_fraction,
)
from mmm_pipeline.core.report.formatting import (
    DASH,
    fmt_amount,
    fmt_interval,
    fmt_pct,
    fmt_ratio,
)
from mmm_pipeline.core.report.inputs import ReportInputs, as_interval, finite_or_none
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
from mmm_pipeline.core.report.narrative import Finding
from mmm_pipeline.core.report.simulator import payload_json, simulator_payload

log = logging.getLogger(__name__)


@dataclass
class Context:
    """What every section may read; built once per render."""

    inputs: ReportInputs
    rows: list[ChannelRow]
    colours: dict[str, str]
    period: str
    interval_label: str
    findings: list[Finding]
    #: section id -> [(figure key, image bytes)] passed in by the pipeline
    extra_figures: dict[str, list[tuple[str, bytes]]] = field(default_factory=dict)

    @property
    def summary(self) -> dict:
        return self.inputs.summary

    def extras(self, section_id: str) -> str:
        """Pipeline-supplied figures for a section, inlined after the section's own content."""
        return "".join(
            figure(image, alt=key.replace("_", " "), caption=key.replace("_", " "))
            for key, image in self.extra_figures.get(section_id, [])
        )


def _estimate_cell(row: ChannelRow, iv: dict | None, fmt: Callable = fmt_ratio) -> str:
    """A not-identified channel never shows a point estimate: only its range, marked as such."""
    if row.identified:
        return esc(fmt_interval(iv, fmt=fmt))
    return f'<span class="range-only">range {esc(fmt_interval(iv, fmt=fmt, show_mean=False))}</span>'


# --- executive summary and model card -----------------------------------------------------


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
    data_flag = badge("SIMULATED DATA", "warn") if simulated else badge("real data", "info") if simulated is False else ""
    champion = s.get("champion") or {}
    items = [
        ("Purpose", esc(PURPOSE)),
        ("Data", f"{data_flag} {esc(provenance_text(s))}"),
        ("Training window", esc(training_window_text(s))),
        ("Frequency and target", esc(f"{s.get('frequency') or DASH}; target: {s.get('target') or DASH}")),
        ("Model version", esc(f"{s.get('model_version') or DASH} (created {s.get('created_at') or DASH})")),
        ("Intervals", esc(f"{ctx.interval_label.capitalize()}s, from refitting the whole model on block-bootstrap "
                          "resamples of the data")),
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


# --- walk-forward, metrics, baselines -----------------------------------------------------


def walk_forward(ctx: Context) -> str:
    s = ctx.summary
    wf = s.get("walk_forward") or {}
    folds = [f for f in wf.get("folds") or [] if isinstance(f, dict)]
    parts = []
    if folds:
        parts.append(figure(fig.fold_chart(folds, _gate_min_r2(s)), "walk-forward R² and MAPE per month"))
    fold_r2 = wf.get("fold_r2") or {}
    if finite_or_none(fold_r2.get("mean")) is not None:
        parts.append(
            note(
                f"R² across {len(folds) or 'the'} monthly folds: mean {fmt_ratio(fold_r2.get('mean'))}, "
                f"spread (std) {fmt_ratio(fold_r2.get('std'))}, range {fmt_ratio(fold_r2.get('min'))} "
                f"to {fmt_ratio(fold_r2.get('max'))}."
            )
        )
    parts.append(_metrics_table(s))
    metrics, source = model_metrics(s)
    baselines = [b for b in s.get("baselines") or [] if isinstance(b, dict)]
    if finite_or_none(metrics.get("r2")) is not None and baselines:
        parts.append(figure(fig.baseline_chart(float(metrics["r2"]), f"NAM ({source})", baselines), "model vs baselines"))
    if ctx.inputs.holdout is not None and len(ctx.inputs.holdout):
        parts.append(figure(fig.holdout_chart(ctx.inputs.holdout), "hold-out actual vs predicted"))
    parts.append(_gate_table(s))
    parts.append(_stability_table(wf.get("stability") or {}))
    body = "".join(p for p in parts if p) + ctx.extras("walk-forward")
    if not folds and not metrics and not baselines and not ctx.extras("walk-forward"):
        body = unavailable("Not available for this run: summary.json has no walk-forward or baseline results.")
    lead = "Each month the model is refit on all earlier data and scored on that month: the honest test of skill."
    return section("walk-forward", "Walk-forward validation and baselines", body, lead)


def _gate_min_r2(summary: dict) -> float | None:
    for check in (summary.get("gate") or {}).get("checks") or []:
        if isinstance(check, dict) and "r2" in str(check.get("name", "")) and "std" not in str(check.get("name")):
            if "range" not in str(check.get("name")):
                return finite_or_none(check.get("threshold"))
    return None


def _metrics_table(s: dict) -> str:
    rows = []
    for label, m in (("NAM, walk-forward", (s.get("walk_forward") or {}).get("overall")),
                     ("NAM, final hold-out", s.get("holdout_metrics"))):
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
         fmt_ratio(c.get("margin"), 3), badge("pass", "good") if c.get("passed") else badge("fail", "bad")]
        for c in checks
    ]
    verdict = "passed" if gate.get("passed") else "failed"
    return table(["check", "value", "required", "margin", "result"], rows, numeric=(1, 3),
                 caption=f"Deployment gate: {verdict}")


def _stability_table(stability: dict) -> str:
    values = {k: finite_or_none(v) for k, v in stability.items()}
    values = {k: v for k, v in values.items() if v is not None}
    if not values:
        return ""
    rows = [[esc(k), fmt_pct(v, 0)] for k, v in sorted(values.items(), key=lambda kv: -kv[1])]
    tbl = table(["estimate", "variation across folds (CV)"], rows, numeric=(1,))
    return f"<details><summary>Stability of estimates across folds</summary>{tbl}</details>"


# --- decomposition ------------------------------------------------------------------------


def decomposition(ctx: Context) -> str:
    frame = ctx.inputs.decomposition
    drivers = ctx.inputs.decomposition_drivers
    if frame is None or not drivers:
        body = unavailable(ctx.inputs.unavailable("decomposition.csv")) + ctx.extras("decomposition")
        return section("decomposition", "Revenue decomposition", body)
    colours = {**_driver_colours(drivers, ctx.colours), **ctx.colours}
    body = figure(fig.decomposition_chart(frame, drivers, colours), "stacked decomposition over time")
    body += figure(fig.waterfall_chart(frame, drivers, colours), "contribution waterfall")
    body += note(
        "Non-media drivers (price, season, brand) are measured against their average level over the training "
        "window, so they can be negative: a period with above-average prices loses revenue to price."
    )
    body += _decomposition_table(frame, drivers) + ctx.extras("decomposition")
    lead = "How much of each period's revenue the model attributes to each driver, and over the whole window."
    return section("decomposition", "Revenue decomposition", body, lead)


def _driver_colours(drivers: list[str], channel_colours: dict[str, str]) -> dict[str, str]:
    others = [d for d in drivers if d not in channel_colours]
    offset = len(channel_colours)
    return {d: fig.PALETTE[(offset + i) % len(fig.PALETTE)] for i, d in enumerate([*others, "other drivers"])}


def _decomposition_table(frame: pd.DataFrame, drivers: list[str]) -> str:
    totals = frame[["base", *drivers]].sum()
    predicted = float(frame["predicted"].sum())
    order = ["base", *totals[drivers].abs().sort_values(ascending=False).index]
    rows = [[esc(d), fmt_amount(totals[d]), fmt_pct(totals[d] / predicted if predicted else None)] for d in order]
    return table(["driver", "total contribution", "share of predicted"], rows, numeric=(1, 2))


# --- channels: ROAS, saturation, adstock --------------------------------------------------


def roas(ctx: Context) -> str:
    rows = ctx.rows
    if not rows:
        return section("roas", "Return on ad spend", unavailable(ctx.inputs.unavailable("channels.json")) + ctx.extras("roas"))
    body = figure(fig.roas_chart(rows, ctx.colours), "ROAS per channel with intervals")
    table_rows = [
        [esc(r.name), fmt_amount((r.spend or {}).get("mean")), _estimate_cell(r, r.contribution, fmt_amount),
         _estimate_cell(r, r.roas), _estimate_cell(r, r.mroas),
         badge("identified", "good") if r.identified else badge("not identified", "warn"), esc(r.reason)]
        for r in rows
    ]
    headers = ["channel", "spend", "contribution", "ROAS", "marginal ROAS", "status", "why"]
    body += table(headers, table_rows, numeric=(1, 2, 3, 4), caption=f"Over the whole window; ranges are the {ctx.interval_label}")
    body += note("ROAS is revenue per unit of spend on average; marginal ROAS is what the next unit at today's spend "
                 "returns. Below 1, extra spend does not pay for itself in revenue.")
    return section("roas", "Return on ad spend", body + ctx.extras("roas"))


def saturation(ctx: Context) -> str:
    curves = ctx.inputs.response_curves if isinstance(ctx.inputs.response_curves, dict) else None
    if not curves:
        body = unavailable(ctx.inputs.unavailable("response_curves.json")) + ctx.extras("saturation")
        return section("saturation", "Saturation curves", body)
    body = figure(fig.saturation_chart(curves, ctx.rows, ctx.colours), "response curves per channel")
    by_name = {r.name: r for r in ctx.rows}
    rows = []
    for name, curve in curves.items():
        if not isinstance(curve, dict):
            continue
        current = finite_or_none(curve.get("current_spend"))
        sat = finite_or_none(curve.get("saturation_spend"))
        row = by_name.get(name)
        rows.append([esc(name), fmt_amount(current), fmt_amount(curve.get("optimal_spend")), fmt_amount(sat),
                     fmt_pct(current / sat if current is not None and sat else None, 0),
                     "" if row is None or row.identified else badge("not identified", "warn")])
    headers = ["channel", f"current spend per {ctx.period}", "optimal", "saturation spend", "current vs saturation", ""]
    body += table(headers, rows, numeric=(1, 2, 3, 4))
    body += note(f"Each curve is the steady revenue per {ctx.period} from spending the same amount every {ctx.period}. "
                 "● current spend, ◆ optimal spend, dotted line: saturation (90% of the curve's maximum). "
                 "Bands are the interval.")
    return section("saturation", "Saturation curves", body + ctx.extras("saturation"))


def adstock(ctx: Context) -> str:
    rows = [r for r in ctx.rows if r.weights]
    if not rows:
        body = unavailable(ctx.inputs.unavailable("channels.json") if not ctx.rows
                           else "Not available for this run: channels.json has no adstock weights.")
        return section("adstock", "Carry-over (adstock)", body + ctx.extras("adstock"))
    body = figure(fig.adstock_chart(rows, ctx.colours, ctx.period), "adstock decay per channel")
    table_rows = []
    for r in rows:
        first, ninety = _carry_over(r.weights)
        table_rows.append([esc(r.name), esc(fmt_interval(r.decay)), fmt_pct(first, 0),
                           f"{ninety} {ctx.period}{'s' if ninety != 1 else ''}"])
    headers = ["channel", "decay rate", f"effect in the {ctx.period} of spend", "90% of the effect within"]
    body += table(headers, table_rows, numeric=(1, 2, 3))
    return section("adstock", "Carry-over (adstock)", body + ctx.extras("adstock"),
                   "Advertising keeps working after the money is spent; this is how long.")


def _carry_over(weights: list[float]) -> tuple[float, int]:
    """(share of the effect in the first period, periods until 90% of it has arrived)."""
    total = sum(weights) or 1.0
    cumulative, periods = 0.0, len(weights)
    for i, w in enumerate(weights):
        cumulative += w / total
        if cumulative >= 0.9 - 1e-9:
            periods = i + 1
            break
    return weights[0] / total, periods


# --- price and hierarchy ------------------------------------------------------------------


def price_elasticity(ctx: Context) -> str:
    categories, _leaves = price_elasticity_split(ctx.inputs)
    if not categories:
        body = unavailable("Not available for this run: no price elasticity was estimated (no price data).")
        return section("price-elasticity", "Price elasticity", body + ctx.extras("price-elasticity"))
    body = figure(fig.price_chart(categories), "price response curves per category")
    rows = [[esc(name), esc(fmt_interval(iv)), esc(_price_effect(iv))] for name, iv in categories.items()]
    body += table(["category", "elasticity", "1% price increase →"], rows, numeric=(1, 2))
    body += note("The curves apply the average elasticity to price changes of up to ±20%; "
                 "far outside the prices seen in the data they are extrapolation.")
    body += _all_elasticities(ctx.inputs)
    return section("price-elasticity", "Price elasticity", body + ctx.extras("price-elasticity"),
                   "How sales respond to price, per category.")


def _price_effect(iv: dict) -> str:
    text = f"{iv['mean']:+.2f}% sales"
    if iv["lo"] is not None and iv["hi"] is not None:
        text += f" ({iv['lo']:+.2f}% to {iv['hi']:+.2f}%)"
    return text


def _all_elasticities(inputs: ReportInputs) -> str:
    elasticities = inputs.elasticities if isinstance(inputs.elasticities, dict) else {}
    rows = []
    for feature, per_node in elasticities.items():
        if isinstance(per_node, dict):
            rows += [[esc(feature), esc(node), esc(fmt_interval(iv))] for node, iv in per_node.items()]
    if not rows:
        return ""
    tbl = table(["feature", "node", "elasticity (d log sales / d log feature)"], rows, numeric=(2,))
    return f"<details><summary>All elasticities by feature and node</summary>{tbl}</details>"


def hierarchy(ctx: Context) -> str:
    categories, leaves = price_elasticity_split(ctx.inputs)
    mapping = node_categories(ctx.inputs)
    if not categories or not leaves:
        reason = ("Not available for this run: the model has one level (no sub-categories under categories)."
                  if categories else "Not available for this run: no price elasticity per category or sub-category.")
        return section("hierarchy", "Hierarchy: category vs sub-category", unavailable(reason) + ctx.extras("hierarchy"))
    body = figure(fig.hierarchy_chart(categories, leaves, mapping), "category vs sub-category elasticities")
    rows = []
    for node, iv in leaves.items():
        cat = mapping.get(node, DASH)
        cat_iv = categories.get(cat)
        gap = None if cat_iv is None else iv["mean"] - cat_iv["mean"]
        rows.append([esc(cat), esc(node), esc(fmt_interval(iv)), esc(fmt_interval(cat_iv)),
                     DASH if gap is None else f"{gap:+.2f}"])
    body += table(["category", "sub-category", "sub-category elasticity", "category elasticity", "difference"],
                  rows, numeric=(2, 3, 4))
    body += note("Sub-categories are pooled toward their category: with little data of their own they stay close to "
                 "it, and a large difference means the data clearly says they behave differently.")
    return section("hierarchy", "Hierarchy: category vs sub-category", body + ctx.extras("hierarchy"))


# --- budget, simulator, scenarios ---------------------------------------------------------


def budget(ctx: Context) -> str:
    alloc = ctx.inputs.optimal_allocation
    if not isinstance(alloc, dict):
        body = unavailable(ctx.inputs.unavailable("optimal_allocation.json"))
        return section("budget", "Budget: current vs optimal", body + ctx.extras("budget"))
    body = _recommendation(alloc)
    changes = allocation_changes(alloc)
    if changes:
        body += figure(fig.budget_chart(changes, ctx.period), "current vs optimal budget")
        rows = [[esc(c["channel"]), fmt_amount(c["current"]), fmt_amount(c["optimal"]),
                 fmt_pct(c["change"], 0, signed=True), esc(c["action"])] for c in changes]
        body += table(["channel", f"current per {ctx.period}", f"optimal per {ctx.period}", "change", "action"],
                      rows, numeric=(1, 2, 3))
    body += _revenue_table(alloc)
    sensitivity = [p for p in alloc.get("sensitivity") or [] if isinstance(p, dict)]
    if len(sensitivity) >= 2:
        body += figure(fig.sensitivity_chart(sensitivity), "budget sensitivity curve")
    return section("budget", "Budget: current vs optimal", body + ctx.extras("budget"))


def _recommendation(alloc: dict) -> str:
    reason = str(alloc.get("reason") or "no reason recorded")
    if alloc.get("recommended"):
        return f'<div class="callout callout-good"><strong>Recommended:</strong> move to the optimal mix. {esc(reason)}</div>'
    return (f'<div class="callout callout-neutral"><strong>Keep the current mix.</strong> The optimizer found a '
            f"different mix, but the evidence does not back it: {esc(reason)}</div>")


def _revenue_table(alloc: dict) -> str:
    horizon = alloc.get("horizon_periods")
    rows = [
        ["revenue, current mix", esc(fmt_interval(alloc.get("revenue_current"), fmt=fmt_amount))],
        ["revenue, optimal mix", esc(fmt_interval(alloc.get("revenue_optimal"), fmt=fmt_amount))],
        ["lift", esc(fmt_interval(lift_fraction(alloc), fmt=lambda v: fmt_pct(v, signed=True)))],
        ["probability the optimal mix beats the current", fmt_pct(alloc.get("probability_beats_current"), 0)],
        ["total budget", fmt_amount(alloc.get("total_budget"))],
        ["objective", esc(alloc.get("objective") or DASH)],
    ]
    return table(["", f"over {horizon or '?'} periods"], rows, numeric=(1,))


def simulator(ctx: Context) -> str:
    payload = simulator_payload(ctx.inputs, ctx.rows)
    if payload is None:
        body = unavailable(ctx.inputs.unavailable("response_curves.json")
                           if ctx.inputs.response_curves is None else "Not available for this run: no usable response curves.")
        return section("simulator", "Budget simulator", body)
    what = "predicted revenue" if payload["base_per_period"] is not None else "predicted media revenue"
    optimal_button = '<button type="button" id="sim-optimal">Optimal mix</button>' if payload["has_optimal"] else ""
    body = f"""
<div class="simulator" id="simulator-app">
  <div class="sim-toolbar">
    <label><input type="checkbox" id="sim-lock"> Lock total budget (moving one channel rescales the others)</label>
    <button type="button" id="sim-current">Current mix</button>{optimal_button}
  </div>
  <div class="sim-row sim-head" aria-hidden="true"><span>channel</span><span>spend</span>
    <span>spend per {esc(payload['period'])}</span><span>revenue from it per {esc(payload['period'])}</span></div>
  <div id="sim-channels" class="sim-channels"></div>
  <div class="sim-results">
    <div class="kpi"><span>Total media spend per {esc(payload['period'])}</span><strong id="sim-total">{DASH}</strong></div>
    <div class="kpi"><span>{esc(what.capitalize())}, next {payload['horizon']} {esc(payload['period'])}s</span>
      <strong id="sim-revenue">{DASH}</strong></div>
    <div class="kpi"><span>Lift vs current mix</span><strong id="sim-lift">{DASH}</strong></div>
  </div>
  <ul id="sim-warnings" class="sim-warnings"></ul>
  <noscript><p class="unavailable">The simulator needs JavaScript.</p></noscript>
</div>
<script type="application/json" id="simulator-data">{payload_json(payload)}</script>"""
    basis = f" Base revenue per {payload['period']} comes from {payload['base_source']}." if payload["base_source"] else ""
    body += note(
        "Predictions interpolate each channel's response curve (mean) and add carry-over: the first "
        f"{payload['period']}s after a change still feel the old spend, per the adstock weights.{basis} "
        "Curves are means; the intervals in the sections above still apply. Not-identified channels are marked."
    )
    return section("simulator", "Budget simulator", body, "Try a budget split and see the predicted revenue.")


def scenarios(ctx: Context) -> str:
    items = [s for s in ctx.inputs.scenarios or [] if isinstance(s, dict)]
    if not items:
        text = ctx.inputs.unavailable("scenarios.json") if ctx.inputs.scenarios is None else \
            "Not available for this run: no scenarios were configured."
        return section("scenarios", "Scenarios", unavailable(text) + ctx.extras("scenarios"))
    alloc = ctx.inputs.optimal_allocation if isinstance(ctx.inputs.optimal_allocation, dict) else {}
    current = (as_interval(alloc.get("revenue_current")) or {}).get("mean")
    lifts = [scenario_lift_fraction(s, current) for s in items]
    rows = [[esc(s.get("name", f"scenario {i + 1}")), esc(s.get("description") or DASH),
             esc(fmt_interval(s.get("revenue"), fmt=fmt_amount)),
             esc(fmt_interval(lift, fmt=lambda v: fmt_pct(v, signed=True)))] for i, (s, lift) in enumerate(zip(items, lifts))]
    body = table(["scenario", "what changes", "revenue", "vs current plan"], rows, numeric=(2, 3))
    shown = [(str(s.get("name", i)), lift) for i, (s, lift) in enumerate(zip(items, lifts)) if lift and lift["mean"] is not None]
    if shown:
        body += figure(fig.scenario_chart([n for n, _ in shown], [lift for _, lift in shown]), "scenario lifts")
    return section("scenarios", "Scenarios", body + ctx.extras("scenarios"))


# --- residual diagnostics -----------------------------------------------------------------


def residuals(ctx: Context) -> str:
    diagnostics = ctx.summary.get("diagnostics") or {}
    in_sample = _residual_series(ctx.inputs.decomposition)
    holdout = _residual_series(ctx.inputs.holdout)
    acf = [v for v in (finite_or_none(x) for x in diagnostics.get("acf") or []) if v is not None]
    parts = []
    if in_sample is not None or holdout is not None or acf:
        n_obs = finite_or_none(diagnostics.get("n")) or (len(in_sample) if in_sample is not None else None)
        parts.append(figure(fig.residual_chart(in_sample, holdout, acf, int(n_obs) if n_obs else None),
                            "residual diagnostics"))
    parts.append(_diagnostics_table(diagnostics))
    body = "".join(p for p in parts if p) + ctx.extras("residuals")
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


# --- pipeline figures with no home --------------------------------------------------------


def additional_figures(ctx: Context) -> str:
    extras = ctx.extras("additional-figures")
    return section("additional-figures", "Additional figures", extras) if extras else ""


SECTIONS: list[tuple[str, str, Callable[[Context], str]]] = [
    ("executive-summary", "Summary", executive_summary),
    ("model-card", "Model card", model_card),
    ("walk-forward", "Validation", walk_forward),
    ("decomposition", "Decomposition", decomposition),
    ("roas", "ROAS", roas),
    ("saturation", "Saturation", saturation),
    ("adstock", "Carry-over", adstock),
    ("price-elasticity", "Price", price_elasticity),
    ("budget", "Budget", budget),
    ("simulator", "Simulator", simulator),
    ("scenarios", "Scenarios", scenarios),
    ("residuals", "Residuals", residuals),
    ("hierarchy", "Hierarchy", hierarchy),
    ("additional-figures", "More figures", additional_figures),
]
