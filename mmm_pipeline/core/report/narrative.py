"""The executive summary in plain words, shared by report.html and report.md.

Each finding is one short paragraph a marketing lead can read without the charts. Wording
rules: say how sure we are next to every number, never give a not-identified channel a
point estimate, and when the optimizer's plan is not backed by the evidence say "keep the
current mix" and why.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from mmm_pipeline.core.report.derived import (
    ChannelRow,
    Interval,
    allocation_changes,
    best_baseline,
    best_channel,
    interval_excludes_zero,
    lift_fraction,
    model_metrics,
    not_identified_names,
    nothing_to_move,
    price_elasticity_split,
)
from mmm_pipeline.core.report.formatting import (
    fmt_amount,
    fmt_interval,
    fmt_pct,
    fmt_ratio,
    period_word,
    sentence,
    without_verdict,
)
from mmm_pipeline.core.report.inputs import ReportInputs, as_interval, finite_or_none

log = logging.getLogger(__name__)

Tone = Literal["good", "warn", "neutral"]


@dataclass(frozen=True)
class Finding:
    """One executive-summary paragraph; ``tone`` colours it in the HTML."""

    key: str
    title: str
    text: str
    tone: Tone = "neutral"


def executive_summary(inputs: ReportInputs, rows: list[ChannelRow]) -> list[Finding]:
    """The findings in reading order: data, quality, best channel, price, budget, caveats.

    A finding that cannot be worded from odd inputs says so instead of failing the report.
    """
    builders: list[tuple[str, Callable[[], Finding]]] = [
        ("Model quality", lambda: quality_finding(inputs)),
        ("Most effective channel", lambda: channel_finding(rows, inputs)),
        ("Price sensitivity", lambda: price_finding(inputs)),
        ("Budget recommendation", lambda: budget_finding(inputs)),
        ("What is not identified", lambda: identification_finding(inputs, rows)),
    ]
    findings = [data_finding(inputs)] if inputs.summary.get("simulated") else []
    for title, build in builders:
        try:
            findings.append(build())
        except Exception as exc:  # noqa: BLE001 - one odd field must not cost the reader the summary
            log.exception("report: finding %r failed", title)
            findings.append(Finding(title.lower(), title, f"Could not be summarised from the results: {exc!r}", "warn"))
    return findings


def data_finding(inputs: ReportInputs) -> Finding:
    return Finding(
        "data",
        "Simulated data",
        "These results come from simulated data. They show what the method does, not how a real business performs.",
        "warn",
    )


def quality_finding(inputs: ReportInputs) -> Finding:
    summary = inputs.summary
    metrics, source = model_metrics(summary)
    r2, mape = finite_or_none(metrics.get("r2")), finite_or_none(metrics.get("mape"))
    if r2 is None:
        return Finding("quality", "Model quality", "No out-of-sample metrics were recorded for this run.", "warn")
    target = str(summary.get("target") or "sales")
    text = (
        f"On the {source} periods the model never trained on, it explains {fmt_pct(max(r2, 0.0), 0)} of the ups and "
        f"downs in {target} (R² {r2:.2f})"
    )
    text += f", with a typical error of {fmt_pct(mape)} (MAPE)." if mape is not None else "."
    tone: Tone = "good"
    baseline = best_baseline(summary)
    if baseline is not None:
        b_r2 = float(baseline["r2"])
        if r2 > b_r2:
            text += f" That beats the best simple baseline ({baseline.get('model')}, R² {b_r2:.2f})."
        else:
            text += (
                f" The simple baseline {baseline.get('model')} does as well or better (R² {b_r2:.2f}), "
                "so read the driver split with extra caution."
            )
            tone = "warn"
    gate = summary.get("gate") or {}
    if "passed" in gate:
        failed = [str(c.get("message") or c.get("name")) for c in gate.get("checks") or []
                  if isinstance(c, dict) and not c.get("passed")]
        if gate["passed"]:
            text += " It passed the deployment checks."
        else:
            text += f" It failed the deployment checks ({'; '.join(failed) or 'see the gate table'})."
            tone = "warn"
    return Finding("quality", "Model quality", text, tone)


def channel_finding(rows: list[ChannelRow], inputs: ReportInputs) -> Finding:
    if not rows:
        return Finding("channel", "Most effective channel", inputs.unavailable("channels.json"), "warn")
    best = best_channel(rows)
    if best is None:
        return Finding(
            "channel",
            "Most effective channel",
            "No channel's return is identified well enough to name a most effective channel.",
            "warn",
        )
    text = (
        f"{best.name} returned {fmt_ratio(best.roas['mean'])} in revenue per unit spent over the training window "
        f"(interval {fmt_interval(best.roas, show_mean=False)})."
    )
    if best.mroas and best.mroas["mean"] is not None:
        text += f" At today's spend the next unit returns about {fmt_ratio(best.mroas['mean'])} (marginal ROAS)"
        text += ", below break-even: more spend there would not pay for itself." if best.mroas["mean"] < 1 else "."
    return Finding("channel", "Most effective channel", text, "good")


def price_finding(inputs: ReportInputs) -> Finding:
    categories, _leaves = price_elasticity_split(inputs)
    if not categories:
        text = "This run has no price data, so price sensitivity is not estimated."
        return Finding("price", "Price sensitivity", text)
    parts = [price_sentence(name, iv, len(categories) > 1) for name, iv in categories.items()]
    return Finding("price", "Price sensitivity", " ".join(parts))


def price_sentence(name: str, iv: Interval, named: bool) -> str:
    """``1% price increase → -1.40% sales (-1.61% to -1.19%)`` with a caveat when it spans zero."""
    where = f"{name}: " if named else ""
    text = f"{where}1% price increase → {iv['mean']:+.2f}% sales"
    if iv["lo"] is not None and iv["hi"] is not None:
        text += f" (interval {iv['lo']:+.2f}% to {iv['hi']:+.2f}%)"
        if not interval_excludes_zero(iv):
            text += ", not clearly different from no effect"
    return text + "."


def budget_finding(inputs: ReportInputs) -> Finding:
    alloc = inputs.optimal_allocation
    if not isinstance(alloc, dict):
        return Finding("budget", "Budget recommendation", inputs.unavailable("optimal_allocation.json"), "warn")
    lift_text = _lift_text(alloc, period_word(inputs.summary.get("frequency")))
    reason = without_verdict(alloc.get("reason")).strip().rstrip(".")
    if not alloc.get("recommended"):
        text = "Keep the current mix."
        if nothing_to_move(alloc):
            return Finding("budget", "Budget recommendation", f"{text} {sentence(reason)}", "neutral")
        text += " The evidence does not back a change" + (f": {reason}." if reason else ".")
        if lift_text:
            text += f" (The optimizer's best plan: {lift_text}; too uncertain to act on.)"
        return Finding("budget", "Budget recommendation", text, "neutral")
    changes = allocation_changes(alloc)
    moves = [c for c in changes if c["action"] != "maintain" and c["change"] is not None and not c["locked"]]
    moves.sort(key=lambda c: -abs(c["change"]))
    flagged = set(not_identified_names(inputs))
    described = ", ".join(
        f"{c['action']} {c['channel']} ({fmt_pct(c['change'], 0, signed=True)}"
        + (", not identified" if c["channel"] in flagged else "") + ")"
        for c in moves
    )
    text = f"Reallocate the same budget: {described or 'small adjustments only'}."
    held = [c["channel"] for c in changes if c["locked"]]
    if held:
        text += f" Held at current spend: {', '.join(held)}."
    if lift_text:
        text += f" Expected: {lift_text}."
    prob = finite_or_none(alloc.get("probability_beats_current"))
    if prob is not None:
        text += f" The new mix beats the current one in {fmt_pct(prob, 0)} of bootstrap replicates."
    return Finding("budget", "Budget recommendation", text, "good")


def _lift_text(alloc: dict, period: str) -> str:
    """``+120k media revenue over the next 13 weeks (+2.1%, interval -0.3% to +4.0%)``."""
    lift = as_interval(alloc.get("lift"))
    pct = lift_fraction(alloc)
    horizon = alloc.get("horizon_periods")
    over = f" over the next {horizon} {period}s" if horizon else ""
    parts = []
    if lift and lift["mean"] is not None:
        parts.append(f"{'+' if lift['mean'] > 0 else ''}{fmt_amount(lift['mean'])} media revenue{over}")
    if pct and pct["mean"] is not None:
        interval_part = ""
        if pct["lo"] is not None and pct["hi"] is not None:
            interval_part = f", interval {fmt_pct(pct['lo'], signed=True)} to {fmt_pct(pct['hi'], signed=True)}"
        share = f"{fmt_pct(pct['mean'], signed=True)}{interval_part}"
        parts.append(f"({share})" if parts else f"{share} media revenue{over}")
    return " ".join(parts)


def identification_finding(inputs: ReportInputs, rows: list[ChannelRow]) -> Finding:
    names = not_identified_names(inputs)
    if not names:
        if not rows:
            return Finding("identified", "What is not identified", inputs.unavailable("channels.json"), "warn")
        text = "Every channel's return is pinned down well enough to act on."
        return Finding("identified", "What is not identified", text, "good")
    by_name = {r.name: r for r in rows}
    ranges = [f"{n} ROAS somewhere in {fmt_interval(by_name[n].roas, show_mean=False)}" for n in names if n in by_name]
    text = (
        f"Not identified: {', '.join(names)}. The data cannot separate "
        f"{'this channel’s effect' if len(names) == 1 else 'these channels’ effects'} "
        "from noise or from other channels, "
        "so no point estimate is given"
    )
    text += f" ({'; '.join(ranges)})" if ranges else ""
    text += (". Do not cut or grow " + ("it" if len(names) == 1 else "them")
             + " on this evidence; an experiment (e.g. a geo hold-out) would settle it.")
    return Finding("identified", "What is not identified", text, "warn")

