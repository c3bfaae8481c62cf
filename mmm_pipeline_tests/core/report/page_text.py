"""Reading the report page's numbers back (shared by the browser and the Node.js simulator tests)."""

import re

import pytest


def page_amount(text: str) -> float:
    """Parse the page's compact numbers ('7.28M', '+120k (+1.6%)', '−5k') back to floats."""
    match = re.match(r"\s*(?:\u2192\s*)?([+\u2212-]?)([\d.]+)(tn|bn|M|k)?", text)
    if not match:
        pytest.fail(f"not an amount: {text!r}")
    sign = -1.0 if match.group(1) in ("-", "\u2212") else 1.0
    scale = {"tn": 1e12, "bn": 1e9, "M": 1e6, "k": 1e3, None: 1.0}[match.group(3)]
    return sign * float(match.group(2)) * scale
