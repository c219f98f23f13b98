"""numba compilation as training uses it: loops that release the GIL, cached on disk where
numba can; and a prefetch hint for loops that hop between the rows of a sparse matrix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

LINE_ENTRIES = 16  # 4-byte entries per 64-byte cache line


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


# Inlined into cached kernels of other modules: numba's disk cache checks only a kernel's
# own file, so after changing these two, delete the cached kernels (`*.nbi`, `*.nbc` in
# `__pycache__` or NUMBA_CACHE_DIR) or they keep the old code.
@intrinsic
def _prefetch(typingctx: Any, array: types.Array, index: types.Integer) -> Any:
    """LLVM's prefetch of `array[index]`'s cache line for reading, kept in every cache."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        kind = signature.args[0]
        data = context.make_array(kind)(context, builder, args[0])
        address = cgutils.get_item_pointer(context, builder, kind, data, [args[1]])
        byte = ir.IntType(8).as_pointer()
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte] + [ir.IntType(32)] * 3),
            "llvm.prefetch.p0i8",
        )
        read, keep, cache = (ir.Constant(ir.IntType(32), value) for value in (0, 3, 1))
        builder.call(function, [builder.bitcast(address, byte), read, keep, cache])
        return context.get_dummy_value()

    return types.void(array, index), codegen


@numba.njit(inline="always")
def prefetch_row(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, row: int
) -> None:  # fmt: skip
    """Ask for the first two cache lines of a CSR row's entries ahead of reading it: the
    rows a pair product reads are scattered over the matrix, and each one's first lines
    are a wait on memory that the loop over the row before it can hide (a million
    articles' common-term products: 97 → 71 s projected from 8,192 queries)."""
    start, end = indptr[row], indptr[row + 1]
    if start < end:
        _prefetch(indices, start)
        _prefetch(data, start)
    if start + LINE_ENTRIES < end:
        _prefetch(indices, start + LINE_ENTRIES)
        _prefetch(data, start + LINE_ENTRIES)
