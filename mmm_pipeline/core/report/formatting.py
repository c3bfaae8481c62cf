"""Number formatting shared by the HTML and Markdown report.

One place decides how money, ratios and intervals read, so the executive summary, the tables
and the Markdown summary never disagree about a number's rounding or wording.
"""

import re
from typing import Any

from mmm_pipeline.core.report.inputs import as_interval, finite_or_none

DASH = "–"
_SUFFIXES = ((1e12, "tn"), (1e9, "bn"), (1e6, "M"), (1e3, "k"))


def fmt_amount(value: Any, digits: int = 3) -> str:
    """Money or units in compact form (``1.23M``), so tables stay readable across scales."""
    number = finite_or_none(value)
    if number is None:
        return DASH
    if abs(number) < 0.005:  # float noise around zero, e.g. a centred driver's total
        return "0"
    number = float(f"{number:.{digits}g}")  # round first, so 999.6 reads 1k, not 1000
    for scale, suffix in _SUFFIXES:
        if abs(number) >= scale:
            return f"{_sig(number / scale, digits)}{suffix}"
    return _sig(number, digits)


def _sig(number: float, digits: int) -> str:
    """``digits`` significant figures without scientific notation or trailing zeros."""
    text = f"{number:.{digits}g}"
    if float(text) == 0:
        return "0"
    if "e" in text:
        text = f"{number:.0f}"
    return text


def fmt_ratio(value: Any, digits: int = 2) -> str:
    """ROAS-like ratios: ``2.35``."""
    number = finite_or_none(value)
    return DASH if number is None else f"{number:.{digits}f}"


def fmt_pct(fraction: Any, digits: int = 1, signed: bool = False) -> str:
    """A fraction as a percentage (``0.123`` -> ``12.3%``); ``signed`` adds ``+`` to gains."""
    number = finite_or_none(fraction)
    if number is None:
        return DASH
    text = f"{100 * number:.{digits}f}"
    if float(text) == 0:
        return f"{0:.{digits}f}%"
    sign = "+" if signed and number > 0 else ""
    return f"{sign}{text}%"


def fmt_interval(value: Any, fmt=fmt_ratio, show_mean: bool = True) -> str:
    """``mean (lo to hi)``; ``show_mean=False`` gives only the range, for not-identified numbers."""
    iv = as_interval(value)
    if iv is None:
        return DASH
    has_range = iv["lo"] is not None and iv["hi"] is not None
    bounds = f"{fmt(iv['lo'])} to {fmt(iv['hi'])}" if has_range else ""
    if not show_mean:
        return bounds or "no interval"
    if not has_range:
        return fmt(iv["mean"])
    return f"{fmt(iv['mean'])} ({bounds})"


def interval_level_label(summary: dict[str, Any]) -> str:
    """How intervals are described: the level, and the coverage measured on this dataset when the
    simulation check ran (``summary.interval_coverage``), else that it was not measured."""
    coverage = summary.get("interval_coverage") or {}
    if coverage.get("enabled") and coverage.get("label"):
        return str(coverage["label"])
    level = finite_or_none(summary.get("interval_level"))
    if level is None:
        return "bootstrap interval"
    measured = " (coverage on this dataset not measured)" if "interval_coverage" in summary else ""
    return f"{100 * level:.0f}% interval{measured}"


def period_word(frequency: Any) -> str:
    """``weekly`` -> ``week``: per-period figures read as "per week"."""
    return {"daily": "day", "weekly": "week", "monthly": "month"}.get(str(frequency), "period")


def sentence(text: Any) -> str:
    """Free text from a results file as a sentence: capitalised, ending in a full stop."""
    text = str(text or "").strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def without_verdict(reason: Any) -> str:
    """A plan's reason minus a leading "keep the current mix:", which the report states itself."""
    return re.sub(r"^\s*keep the current mix\s*[:;,.\u2013\u2014-]*\s*", "", str(reason or ""), flags=re.I)
