"""numba compilation as training uses it: loops that release the GIL, cached on disk where
numba can."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba


def _njit(function: Callable[..., Any], **options: Any) -> Callable[..., Any]:
    """`function` compiled by numba, and cached on disk where numba finds a writable place
    (the package's __pycache__, the user's cache folder or NUMBA_CACHE_DIR); where none
    is (a read-only install, a home-less service user) compiled once per process."""
    try:
        return numba.njit(nogil=True, cache=True, **options)(function)
    except RuntimeError:  # numba: "cannot cache function …: no locator available"
        return numba.njit(nogil=True, **options)(function)


def compiled(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` compiled with `numba.prange` loops run on numba's threads."""
    return _njit(function, parallel=True)


def compiled_serial(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` compiled to run on the calling thread (a helper of a parallel loop)."""
    return _njit(function)
