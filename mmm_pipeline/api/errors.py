"""The one error a caller can fix: a request value the dataset cannot take.

The service answers it with 422 naming the field and what it may be; the Python API raises it
as is. Everything else that goes wrong is the server's problem, not the caller's.
"""

from collections.abc import Sequence

from mmm_pipeline.core.wording import join_names


class RequestError(ValueError):
    """``field`` (a dotted path into the request) has a value the dataset cannot take."""

    def __init__(self, field: str, message: str, allowed: Sequence[str] = ()) -> None:
        self.field = field
        self.allowed = [str(a) for a in allowed]
        self.message = message + (f"; allowed: {join_names(self.allowed, 'or')}" if self.allowed else "")
        super().__init__(f"{field}: {self.message}")


def check_names(field: str, names: Sequence[str], allowed: Sequence[str], what: str, keyed: bool = False) -> None:
    """Raise :class:`RequestError` for the first of ``names`` not in ``allowed``.

    ``keyed``: the names are keys of a mapping, so the field at fault is ``field.<name>``.
    """
    for name in names:
        if name not in allowed:
            path = (f"{field}.{name}" if field else str(name)) if keyed else field
            raise RequestError(path, f"unknown {what} '{name}'", allowed)
