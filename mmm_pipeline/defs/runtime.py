"""Process settings applied at the start of every compute step."""

from typing import Any


def limit_threads(settings: dict[str, Any] | None = None) -> None:
    """One thread per step for torch, BLAS and OpenMP (``settings.training.threads`` overrides).

    On a shared machine more threads are several times slower, and the multiprocess executor
    already gives each step its own process. BLAS and OpenMP (scikit-learn's gradient boosting,
    numpy's matrix products) matter as much as torch: their worker threads spin while waiting
    for a core, so on the busy 2-core machine one gradient-boosting fit took 128 s with the
    default thread pools and 3.5 s with one thread. Imported lazily so assets without torch stay
    light.
    """
    import torch
    from threadpoolctl import threadpool_limits

    threads = max(1, int(((settings or {}).get("training") or {}).get("threads", 1) or 1))
    torch.set_num_threads(threads)
    threadpool_limits(limits=threads)
