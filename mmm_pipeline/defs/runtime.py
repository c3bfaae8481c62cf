"""Process settings applied at the start of every compute step."""

from typing import Any


def limit_threads(settings: dict[str, Any] | None = None) -> None:
    """One torch thread per step (``settings.training.threads`` overrides).

    On a shared machine more threads are several times slower, and the multiprocess executor
    already gives each step its own process. Imported lazily so assets without torch stay light.
    """
    import torch

    threads = int(((settings or {}).get("training") or {}).get("threads", 1) or 1)
    torch.set_num_threads(max(1, threads))
