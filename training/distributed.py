"""Where training's parallel steps run: joblib's local processes, or a Dask cluster."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import joblib


@contextmanager
def parallel_backend(scheduler: str | None) -> Iterator[None]:
    """Inside this block, joblib work goes to the Dask scheduler at `scheduler` (an address
    such as tcp://10.0.0.5:8786), or stays on this machine's processes when it is None."""
    if not scheduler:
        yield
        return
    from dask.distributed import Client  # an optional dependency: pip install relata[dask]

    with Client(scheduler), joblib.parallel_config(backend="dask"):
        yield
