"""numba compilation as training uses it: parallel loops that release the GIL, cached on
disk where numba can."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba


def compiled(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` compiled by numba, and cached on disk where numba finds a writable place
    (the package's __pycache__, the user's cache folder or NUMBA_CACHE_DIR); where none
    is (a read-only install, a home-less service user) compiled once per process."""
    try:
        return numba.njit(parallel=True, nogil=True, cache=True)(function)
    except RuntimeError:  # numba: "cannot cache function …: no locator available"
        return numba.njit(parallel=True, nogil=True)(function)
