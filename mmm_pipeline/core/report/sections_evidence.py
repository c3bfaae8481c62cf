"""Report section "Evidence and assumptions": the lift tests the fit was calibrated to, how
well the model reproduces each, and every assumption (prior, bound) it applied.

A planner reading a channel's return needs to know whether the sales history, an experiment
or an assumption supplied it; this section says so in sentences, from ``summary.json``'s
``evidence`` block (:mod:`mmm_pipeline.core.infer.evidence`).
"""

from mmm_pipeline.core.report.context import Context
from mmm_pipeline.core.report.formatting import DASH, fmt_amount
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
