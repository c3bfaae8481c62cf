"""report.md: the executive summary and key tables as GitHub-flavoured Markdown.

Short enough for Dagster's ``MetadataValue.md`` and for pasting into an e-mail; the charts
and the simulator stay in report.html. Uses the same findings and formatting as the HTML so
the two never disagree.
"""

from collections.abc import Sequence

from mmm_pipeline.core.report.card import LIMITATIONS, NOT_IDENTIFIED_MEANING, provenance_text, training_window_text
from mmm_pipeline.core.report.derived import (
    ChannelRow,
    allocation_changes,
    ensemble_metrics,
    lift_fraction,
    model_metrics,
    nothing_to_move,
    price_elasticity_split,
    scenario_lift_fraction,
)
from mmm_pipeline.core.report.formatting import (
    DASH,
    fmt_amount,
    fmt_interval,
    fmt_pct,
    fmt_ratio,
    period_word,
    sentence,
    without_verdict,
)
from mmm_pipeline.core.report.inputs import ReportInputs
from mmm_pipeline.core.report.narrative import Finding


def render_markdown(inputs: ReportInputs, rows: list[ChannelRow], findings: list[Finding]) -> str:
    """The whole report.md text."""
    s = inputs.summary
    blocks = [f"# {_cell(s.get('title') or s.get('dataset') or 'MMM report')}"]
    if s.get("simulated"):
        blocks.append("> **Simulated data**: these results demonstrate the method, not a real business.")
    blocks.append(
        f"Dataset `{s.get('dataset', DASH)}` · model `{s.get('model_version', DASH)}` · "
        f"training window {training_window_text(s)} · {s.get('frequency', DASH)}"
    )
    blocks.append("## Executive summary\n\n" + "\n".join(f"- **{f.title}.** {f.text}" for f in findings))
    blocks += [_metrics(s), _channels(inputs, rows), _price(inputs), _budget(inputs), _scenarios(inputs)]
    blocks.append(_caveats(s))
    return "\n\n".join(b for b in blocks if b) + "\n"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "| " + " | ".join(headers) + " |"
    rule = "| " + " | ".join("---" for _ in headers) + " |"
    return "\n".join([head, rule] + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows])


def _cell(value: object) -> str:
    """Keep a value from breaking a Markdown table row."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _metrics(s: dict) -> str:
    rows = []
    metrics, source = model_metrics(s)
    if metrics:
        rows.append([f"NAM ({source})", fmt_ratio(metrics.get("r2")), fmt_pct(metrics.get("mape")),
                     fmt_amount(metrics.get("rmse"))])
    ensemble = ensemble_metrics(s)
    if ensemble:
        rows.append(["walk-forward ensemble (final hold-out)", fmt_ratio(ensemble.get("r2")),
                     fmt_pct(ensemble.get("mape")), fmt_amount(ensemble.get("rmse"))])
    rows += [[f"baseline: {b.get('model')}", fmt_ratio(b.get("r2")), fmt_pct(b.get("mape")), fmt_amount(b.get("rmse"))]
             for b in s.get("baselines") or [] if isinstance(b, dict)]
    if not rows:
        return ""
    return "## Accuracy out of sample\n\n" + _table(["model", "R²", "MAPE", "RMSE"], rows)


def _channels(inputs: ReportInputs, rows: list[ChannelRow]) -> str:
    if not rows:
        return "## Channels\n\n" + inputs.unavailable("channels.json")
    table_rows = []
    for r in rows:
        if r.identified:
            share = fmt_pct((r.share or {}).get("mean"))
            table_rows.append([r.name, fmt_interval(r.roas), fmt_interval(r.mroas), share, "identified"])
        else:
            table_rows.append([r.name, f"range {fmt_interval(r.roas, show_mean=False)}",
                               f"range {fmt_interval(r.mroas, show_mean=False)}", DASH,
                               f"**not identified**: {r.reason}"])
    return "## Channels\n\n" + _table(["channel", "ROAS (interval)", "marginal ROAS", "share", "status"], table_rows)


def _price(inputs: ReportInputs) -> str:
    categories, _ = price_elasticity_split(inputs)
    if not categories:
        return ""
    rows = [[name, fmt_interval(iv), f"{iv['mean']:+.2f}% sales"] for name, iv in categories.items()]
    return "## Price elasticity\n\n" + _table(["category", "elasticity (interval)", "1% price increase →"], rows)


def _budget(inputs: ReportInputs) -> str:
    alloc = inputs.optimal_allocation
    if not isinstance(alloc, dict):
        return "## Budget\n\n" + inputs.unavailable("optimal_allocation.json")
    period = period_word(inputs.summary.get("frequency"))
    verdict = ("**Recommended:** move to the optimal mix." if alloc.get("recommended")
               else "**Keep the current mix**." if nothing_to_move(alloc)
               else "**Keep the current mix**: the evidence does not back a change.")
    text = f"## Budget\n\n{verdict} {_cell(sentence(without_verdict(alloc.get('reason'))))}\n\n"
    rows = [[c["channel"], fmt_amount(c["current"]), fmt_amount(c["optimal"]), fmt_pct(c["change"], 0, signed=True),
             c["action"] + (" (held)" if c["locked"] else "")] for c in allocation_changes(alloc)]
    text += _table(["channel", f"current per {period}", f"optimal per {period}", "change", "plan"], rows)
    lift = lift_fraction(alloc)
    text += (f"\n\nMedia revenue over the next {alloc.get('horizon_periods', '?')} {period}s: current "
             f"{fmt_interval(alloc.get('revenue_current'), fmt=fmt_amount)}, optimal "
             f"{fmt_interval(alloc.get('revenue_optimal'), fmt=fmt_amount)}, lift "
             f"{fmt_interval(alloc.get('lift'), fmt=fmt_amount)}, as a share of current media revenue "
             f"{fmt_interval(lift, fmt=lambda v: fmt_pct(v, signed=True))}.")
    return text


def _scenarios(inputs: ReportInputs) -> str:
    items = [s for s in inputs.scenarios or [] if isinstance(s, dict)]
    if not items:
        return ""
    rows = [[s.get("name", DASH), s.get("description") or DASH, fmt_interval(s.get("revenue"), fmt=fmt_amount),
             fmt_interval(scenario_lift_fraction(s), fmt=lambda v: fmt_pct(v, signed=True))] for s in items]
    return "## Scenarios\n\n" + _table(["scenario", "what changes", "revenue", "vs what actually ran"], rows)


def _caveats(s: dict) -> str:
    lines = [f"- {x}" for x in LIMITATIONS] + [f"- {NOT_IDENTIFIED_MEANING}"]
    return f"## Limitations\n\nData: {provenance_text(s)}\n\n" + "\n".join(lines)
