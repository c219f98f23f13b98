"""Where training's parallel steps run: joblib's local processes, or a Dask cluster."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import joblib

_SCHEDULER: ContextVar[str | None] = ContextVar("dask_scheduler", default=None)

# Seconds a local worker process waits for another task before it exits. joblib keeps
# its workers 300 s for the next call by default, each with all the memory its tasks left
# in its heap (about 300 MB per analysis worker at 100k articles) while training goes on
# beside it; restarting workers for the next parallel step costs a second or two.
IDLE_WORKER_SECONDS = 1
# With so short a wait a worker may time out just as the next step hands the pool work
# (the load's pieces, then the analysis a second later): loky then starts another worker
# and says so in a UserWarning. No work is lost, and the warning would only alarm whoever
# reads a training run's output.
warnings.filterwarnings(
    "ignore", message="A worker stopped while some jobs were given to the executor",
    category=UserWarning, module="joblib.externals.loky.process_executor",
)  # fmt: skip


def active() -> bool:
    """True inside `parallel_backend` with a scheduler: joblib work goes to a cluster."""
    return _SCHEDULER.get() is not None


def parallel(n_jobs: int, **options: Any) -> joblib.Parallel:
    """A joblib `Parallel` on `n_jobs` whose local workers exit once idle (see
    `IDLE_WORKER_SECONDS`); `options` as `Parallel` takes them."""
    return joblib.Parallel(n_jobs=n_jobs, idle_worker_timeout=IDLE_WORKER_SECONDS, **options)


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
