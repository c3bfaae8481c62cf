"""Report sections on decisions: budget plan, in-page simulator, scenarios.

When the optimizer's plan is not backed by the evidence the budget section says "keep the
current mix" and why, whatever the plan's point estimate.
"""

from mmm_pipeline.core.report import charts_plan
from mmm_pipeline.core.report.context import Context, signed_amount, signed_pct
from mmm_pipeline.core.report.derived import (
    allocation_changes,
    lift_fraction,
    nothing_to_move,
    scenario_lift_fraction,
)
from mmm_pipeline.core.report.formatting import DASH, fmt_amount, fmt_interval, fmt_pct, sentence, without_verdict
from mmm_pipeline.core.report.markup import badge, esc, figure, note, section, table, unavailable
from mmm_pipeline.core.report.simulator import payload_json, simulator_payload


def budget(ctx: Context) -> str:
    alloc = ctx.inputs.optimal_allocation
    if not isinstance(alloc, dict):
        body = unavailable(ctx.inputs.unavailable("optimal_allocation.json"))
        return section("budget", "Budget: current vs optimal", body + ctx.extras("budget"))
    body = _recommendation(alloc)
    changes = allocation_changes(alloc)
    if changes:
        body += figure(charts_plan.budget_chart(changes, ctx.period), "current vs optimal budget")
        rows = [[esc(c["channel"]), fmt_amount(c["current"]), fmt_amount(c["optimal"]),
                 fmt_pct(c["change"], 0, signed=True),
                 esc(c["action"]) + (" " + badge("held", "info") if c["locked"] else "")] for c in changes]
        body += table(["channel", f"current per {ctx.period}", f"optimal per {ctx.period}", "change", "plan"],
                      rows, numeric=(1, 2, 3))
    body += _revenue_table(alloc, ctx.period)
    sensitivity = [p for p in alloc.get("sensitivity") or [] if isinstance(p, dict)]
    if len(sensitivity) >= 2:
        body += figure(charts_plan.sensitivity_chart(sensitivity), "budget sensitivity curve")
    notes = [str(n) for n in alloc.get("notes") or []]
    if alloc.get("revenue_definition"):
        notes.append(f"Revenue here: {alloc['revenue_definition']}.")
    if any(c["locked"] for c in changes):
        notes.append("Held channels stay at their current spend (locked in settings, or not identified).")
    if notes:
        body += '<ul class="note">' + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"
    return section("budget", "Budget: current vs optimal", body + ctx.extras("budget"),
                   "The same budget split differently, and what more or less budget would do.")


def _recommendation(alloc: dict) -> str:
    reason = sentence(without_verdict(alloc.get("reason")) or "no reason recorded")
    if alloc.get("recommended"):
        return (f'<div class="callout callout-good"><strong>Recommended:</strong> move to the optimal mix. '
                f"{esc(reason)}</div>")
    if nothing_to_move(alloc):
        return f'<div class="callout callout-neutral"><strong>Keep the current mix.</strong> {esc(reason)}</div>'
    return (f'<div class="callout callout-neutral"><strong>Keep the current mix.</strong> The optimizer found a '
            f"different mix, but the evidence does not back it: {esc(reason)}</div>")


def _revenue_table(alloc: dict, period: str) -> str:
    horizon = alloc.get("horizon_periods")
    rows = [
        ["media revenue, current mix", esc(fmt_interval(alloc.get("revenue_current"), fmt=fmt_amount))],
        ["media revenue, optimal mix", esc(fmt_interval(alloc.get("revenue_optimal"), fmt=fmt_amount))],
        ["lift", esc(fmt_interval(alloc.get("lift"), fmt=signed_amount))],
        ["lift, % of current media revenue", esc(fmt_interval(lift_fraction(alloc), fmt=signed_pct))],
        ["chance the optimal mix beats the current", fmt_pct(alloc.get("probability_beats_current"), 0)],
        ["total budget", fmt_amount(alloc.get("total_budget"))],
        ["objective", esc(alloc.get("objective") or DASH)],
    ]
    return table(["", f"next {horizon or '?'} {period}s"], rows, numeric=(1,))


def _price_rows(payload: dict) -> str:
    """The price sliders' container (one row per category with a revenue price elasticity)."""
    if not payload.get("prices"):
        return ""
    return (f'\n  <div class="sim-row sim-head" aria-hidden="true"><span>category</span><span>list price change '
            f'(±{payload["price_range"]:.0%})</span><span>change</span><span>its revenue</span></div>'
            '\n  <div id="sim-prices" class="sim-channels"></div>')


def simulator(ctx: Context) -> str:
    payload = simulator_payload(ctx.inputs, ctx.rows)
    if payload is None:
        text = ctx.inputs.unavailable("response_curves.json") if ctx.inputs.response_curves is None \
            else "Not available for this run: no usable response curves."
        body = unavailable(text)
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
  <div id="sim-channels" class="sim-channels"></div>{_price_rows(payload)}
  <div class="sim-results">
    <div class="kpi"><span>Total media spend per {esc(payload['period'])}</span>
      <strong id="sim-total">{DASH}</strong></div>
    <div class="kpi"><span>{esc(what.capitalize())}, next {payload['horizon']} {esc(payload['period'])}s</span>
      <strong id="sim-revenue">{DASH}</strong></div>
    <div class="kpi"><span>Lift vs current mix</span><strong id="sim-lift">{DASH}</strong></div>
  </div>
  <ul id="sim-warnings" class="sim-warnings"></ul>
  <noscript><p class="unavailable">The simulator needs JavaScript.</p></noscript>
</div>
<script type="application/json" id="simulator-data">{payload_json(payload)}</script>"""
    basis = ""
    if payload["base_source"]:
        basis = f" Base revenue per {payload['period']} comes from {payload['base_source']}."
    body += note(
        "Predictions interpolate each channel's response curve (mean) and add carry-over: the first "
        f"{payload['period']}s after a change still feel the old spend, per the adstock weights.{basis} "
        "Curves are means; the intervals in the sections above still apply. Not-identified channels are marked."
        + (" A category's list-price slider moves its revenue by (1 + change) to the power of its revenue price "
           "elasticity (see Price), discount held." if payload.get("prices") else "")
    )
    return section("simulator", "Budget simulator", body, "Try a budget split and see the predicted revenue.")


def scenarios(ctx: Context) -> str:
    items = [s for s in ctx.inputs.scenarios or [] if isinstance(s, dict)]
    if not items:
        text = ctx.inputs.unavailable("scenarios.json") if ctx.inputs.scenarios is None else \
            "Not available for this run: no scenarios were configured."
        return section("scenarios", "Scenarios", unavailable(text) + ctx.extras("scenarios"))
    names = [str(s.get("name") or f"scenario {i + 1}") for i, s in enumerate(items)]
    lifts = [scenario_lift_fraction(s) for s in items]
    rows = [[esc(name), esc(s.get("description") or DASH), esc(fmt_interval(s.get("revenue"), fmt=fmt_amount)),
             esc(fmt_interval(s.get("lift"), fmt=signed_amount)),
             esc(fmt_interval(lift, fmt=signed_pct)),
             fmt_pct(s.get("probability_positive"), 0)]
            for name, s, lift in zip(names, items, lifts)]
    body = table(["scenario", "what changes", "revenue", "change", "change %", "chance it helps"], rows,
                 numeric=(2, 3, 4, 5))
    shown = [(n, lift) for n, lift in zip(names, lifts) if lift and lift["mean"] is not None]
    if shown:
        body += figure(charts_plan.scenario_chart([n for n, _ in shown], [lift for _, lift in shown]), "scenario lifts")
    notes = [f"{n}: {note_text}" for n, s in zip(names, items) for note_text in s.get("notes") or []]
    if notes:
        body += "<ul class=\"note\">" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"
    lead = "What-if replays of recent periods with changed inputs, against what actually ran."
    return section("scenarios", "Scenarios", body + ctx.extras("scenarios"), lead)
