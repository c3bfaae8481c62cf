"""Plain-words pieces for messages people read: lists of names joined as in a sentence.

Reasons and errors name channels, columns and settings; a Python list repr
(``['Digital', 'TV']``) in a planner's report reads as a program leaking, so every such list
goes through :func:`join_names`.
"""

from collections.abc import Iterable


def join_names(names: Iterable[object], conjunction: str = "and") -> str:
    """``["Digital", "Sponsorship", "TV"]`` -> ``"Digital, Sponsorship and TV"``."""
    items = [str(n) for n in names]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"
