"""Where training's parallel steps run: joblib's local processes, or a Dask cluster."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import joblib

_SCHEDULER: ContextVar[str | None] = ContextVar("dask_scheduler", default=None)


def active() -> bool:
    """True inside `parallel_backend` with a scheduler: joblib work goes to a cluster."""
    return _SCHEDULER.get() is not None


@contextmanager
def parallel_backend(scheduler: str | None) -> Iterator[None]:
    """Inside this block, joblib work goes to the Dask scheduler at `scheduler` (an address
    such as tcp://10.0.0.5:8786), or stays on this machine's processes when it is None."""
    if not scheduler:
        yield
        return
    from dask.distributed import Client  # an optional dependency: pip install relata[dask]

    token = _SCHEDULER.set(scheduler)
    try:
        with Client(scheduler), joblib.parallel_config(backend="dask"):
            yield
    finally:
        _SCHEDULER.reset(token)
