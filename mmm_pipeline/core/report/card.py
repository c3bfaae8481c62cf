"""The model card's fixed wording: purpose and limitations, shared by the HTML and Markdown.

docs/model_card.md says the same at length; the report carries the short form so the
caveats travel with every set of numbers, wherever the report file is forwarded.
"""

from typing import Any

from mmm_pipeline.core.report.inputs import finite_or_none

PURPOSE = (
    "Estimate how much revenue each paid-media channel, price, discount and brand driver "
    "contributed, where spend saturates, and how to split a fixed budget next quarter: "
    "with intervals, and with \"not identified\" where the data cannot say."
)

LIMITATIONS = [
    "Observational data: the model learns from how spend and sales moved together in the past, "
    "not from controlled experiments.",
    "No proof of causality: a channel that was always switched on with a promotion or in a peak "
    "season can take credit for them. Treat contributions as the best consistent reading of the "
    "data, and confirm big decisions with an experiment (geo hold-out, on/off test).",
    "Weak identification: channels whose spend barely varies, only follows the season and the "
    "other channels, or always moves with another channel, cannot be separated. Their intervals "
    "are wide and they are flagged.",
    "Extrapolation: response curves are only supported over spend levels seen in the data; plans "
    "far outside that range are guesses.",
    "Intervals come from a block bootstrap of the model: they cover estimation noise, not a wrong "
    "model structure (for example a missing driver).",
]

NOT_IDENTIFIED_MEANING = (
    "\"Not identified\" means this data cannot pin a channel's return down: its interval is too "
    "wide or includes zero, or its spend has little variation of its own (it moves with the "
    "season or the other channels). It does not mean the channel does not work. The report "
    "then shows only the range and the reason, never a single ROAS, and no budget decision "
    "should rest on it; an "
    "experiment (a pause, a geo hold-out) is what would settle it."
)


def provenance_text(summary: dict[str, Any]) -> str:
    """Where the data came from; the writer may add ``provenance``/``licence`` beyond the schema."""
    parts = [str(summary.get("title") or summary.get("dataset") or "unnamed dataset")]
    if summary.get("provenance"):
        parts.append(str(summary["provenance"]).strip())
    if summary.get("licence"):
        parts.append(f"Licence: {summary['licence']}.")
    return " ".join(parts)


def training_window_text(summary: dict[str, Any]) -> str:
    window = summary.get("training_window") or {}
    start, end = window.get("start"), window.get("end")
    if not start and not end:
        return "not recorded"
    text = f"{start or '?'} to {end or '?'}"
    periods = finite_or_none(window.get("periods"))
    if periods is not None:
        text += f" ({periods:.0f} periods)"
    return text
