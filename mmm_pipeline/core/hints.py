""""Did you mean" hints for names a person typed: file names, columns, YAML keys.

A misspelt key or column is the most common first-hour mistake; naming the closest valid
spelling turns "unknown key" into a one-character fix.
"""

import difflib
import re
from collections.abc import Iterable


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``name`` most likely meant: the same letters ignoring case and ``_ . space``
    first (``TV spend`` for ``tv_spend``), then the closest spelling, then the shortest name that
    starts with it (``price`` for ``price_change``); None when nothing is close."""
    options = [str(c) for c in candidates]
    folded = {re.sub(r"[\s._]+", "", c.lower()): c for c in options}
    key = re.sub(r"[\s._]+", "", str(name).lower())
    if key in folded:
        return folded[key]
    close = difflib.get_close_matches(str(name), options, n=1, cutoff=0.6)
    if close:
        return close[0]
    longer = sorted((c for f, c in folded.items() if key and f.startswith(key)), key=len)  # `price` for `price_change`
    return longer[0] if longer else None


def suggest(name: str, candidates: Iterable[str], mark: str = "'") -> str:
    """``" (did you mean 'X'?)"`` for the closest candidate, or ``""`` when none is close."""
    match = closest(name, candidates)
    return f" (did you mean {mark}{match}{mark}?)" if match is not None else ""
