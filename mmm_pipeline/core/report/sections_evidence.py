"""Report sections on evidence: "Evidence and assumptions" (the lift tests the fit was
calibrated to, how well the model reproduces each, every assumption it applied) and "What to
test next" (the experiment plan).

A planner reading a channel's return needs to know whether the sales history, an experiment
or an assumption supplied it, and which experiment would settle the rest; these sections say
so from ``summary.json``'s ``evidence`` block (:mod:`mmm_pipeline.core.infer.evidence`) and
``experiment_plan.json`` (:mod:`mmm_pipeline.core.plan.test_design`).
"""

import json

from mmm_pipeline.core.plan.test_design import PLAN_FILE
from mmm_pipeline.core.report.context import Context
from mmm_pipeline.core.report.formatting import DASH, fmt_amount, fmt_ratio
from mmm_pipeline.core.report.markup import badge, esc, note, section, table, unavailable


def evidence(ctx: Context) -> str:
    block = ctx.summary.get("evidence")
    title = "Evidence and assumptions"
    if not block:
        return section("evidence", title, unavailable("summary.json has no evidence block: these results were "
                                                        "written before lift tests and assumptions were reported."))
    body = _tests_table(block.get("experiments") or [])
    body += "".join(f"<p>{esc(line)}</p>" for line in block.get("lines") or [])
    body += note("A lift test counts as one more observation with its own standard error; a test the model cannot "
                 "reproduce within about two standard errors disagrees with the sales history and deserves a look.")
    lead = "Where each channel's return comes from besides the sales history: experiments and stated assumptions."
    return section("evidence", title, body, lead)


def _tests_table(tests: list[dict]) -> str:
    if not tests:
        return ""
    rows = [[esc(t["channel"]), esc(f"{t['start']} to {t['end']}"), esc(t.get("node") or "whole market"),
             esc(f"{fmt_amount(t['measured_lift'])} ± {fmt_amount(t['standard_error'])}"),
             esc(fmt_amount(t["predicted_lift"]) if t.get("predicted_lift") is not None else DASH),
             badge("used", "good") if t.get("used") else badge("outside training window", "warn")]
            for t in tests]
    return table(["channel", "test window", "where", "measured lift", "model predicts", "status"], rows,
                 numeric=(3, 4), caption="Lift tests the fit was calibrated to")


def next_tests(ctx: Context) -> str:
    title = "What to test next"
    path = ctx.inputs.results_dir / PLAN_FILE
    try:
        plan = json.loads(path.read_text())
    except (OSError, ValueError):
        return section("next-tests", title, unavailable(f"{PLAN_FILE} is missing or unreadable: no test plan."))
    best = list((plan.get("best_per_channel") or {}).values())
    if not best:
        return section("next-tests", title, "<p>Every channel is identified: no experiment is needed to plan.</p>")
    rows = [[esc(p["channel"]), esc(f"{p['design']} for {p['weeks']} weeks"), esc(fmt_amount(p["revenue_change"])),
             esc(fmt_amount(p["cost"])), esc(_width(p["roas_now"], p["width_now"])),
             esc(_width(p["roas_now"], p["width_after"]))]
            for p in sorted(best, key=lambda p: -(p.get("value_per_cost") or 0))]
    body = table(["channel", "test", "revenue change", "net cost", "ROAS interval now", "after the test"], rows,
                 numeric=(2, 3), caption="The best test per channel, most information per unit of cost first")
    body += note(plan.get("method", ""))
    lead = "Experiments that would turn a channel's 'not identified' into a number, and what each would cost."
    return section("next-tests", title, body, lead)


def _width(mean: float | None, width: float | None) -> str:
    if width is None:
        return DASH
    if mean is None:
        return f"width {fmt_ratio(width)}"
    return f"{fmt_ratio(mean)} ± {fmt_ratio(width / 2)}"
