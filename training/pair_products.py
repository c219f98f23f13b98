"""Dot products of chosen pairs of sparse rows, compiled.

Training scores many given pairs: each article with its candidates, its stored list, or
its list's held-out halves. In numpy each pair copies the query row once per candidate
(the queries of a block of 200 articles with 50 candidates each are 10,000 rows of
gathered terms); this loop spreads each query once into a dense scratch row and reads
every candidate's stored entries against it, on `threads` threads (numba releases the
GIL). A query may be a weighted sum of rows, unit-normalised: that is pseudo-relevance
feedback's expanded query, never built as a matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np
import scipy.sparse as sp


def _compiled(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` compiled by numba, and cached on disk where numba finds a writable place
    (the package's __pycache__, the user's cache folder or NUMBA_CACHE_DIR); where none
    is (a read-only install, a home-less service user) compiled once per process."""
    try:
        return numba.njit(parallel=True, nogil=True, cache=True)(function)
    except RuntimeError:  # numba: "cannot cache function …: no locator available"
        return numba.njit(parallel=True, nogil=True)(function)


@_compiled
def _dots(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, width: int,
    queries: np.ndarray, weights: np.ndarray, normalise: bool, cols: np.ndarray, threads: int,
) -> np.ndarray:  # fmt: skip
    out = np.zeros(cols.shape, dtype=np.float64)
    n = cols.shape[0]
    per = (n + threads - 1) // threads
    for part in numba.prange(threads):
        scratch = np.zeros(width, dtype=np.float64)
        for q in range(part * per, min(n, (part + 1) * per)):
            for m in range(queries.shape[1]):
                row = queries[q, m]
                if row >= 0:
                    for k in range(indptr[row], indptr[row + 1]):
                        scratch[indices[k]] += weights[q, m] * data[k]
            scale = 1.0
            if normalise:
                # Each term once: a term's sum is negated once its square is counted.
                total = 0.0
                for m in range(queries.shape[1]):
                    row = queries[q, m]
                    if row >= 0:
                        for k in range(indptr[row], indptr[row + 1]):
                            value = scratch[indices[k]]
                            if value > 0:
                                total += value * value
                                scratch[indices[k]] = -value
                for m in range(queries.shape[1]):
                    row = queries[q, m]
                    if row >= 0:
                        for k in range(indptr[row], indptr[row + 1]):
                            scratch[indices[k]] = abs(scratch[indices[k]])
                scale = 1.0 / np.sqrt(total) if total > 0 else 0.0
            for j in range(cols.shape[1]):
                c = cols[q, j]
                if c >= 0:
                    acc = 0.0
                    for k in range(indptr[c], indptr[c + 1]):
                        acc += scratch[indices[k]] * data[k]
                    out[q, j] = acc * scale
            for m in range(queries.shape[1]):
                row = queries[q, m]
                if row >= 0:
                    for k in range(indptr[row], indptr[row + 1]):
                        scratch[indices[k]] = 0.0
    return out


def pair_dots(
    matrix: sp.csr_matrix, queries: np.ndarray, cols: np.ndarray, *,
    weights: np.ndarray | None = None, normalise: bool = False, threads: int = 1,
) -> np.ndarray:  # fmt: skip
    """out[i, j] = (query i) · matrix[cols[i, j]], 0 where cols is -1. Query i is
    matrix[queries[i]] for a vector of rows, or Σ_m weights[i, m] · matrix[queries[i, m]]
    for a table (-1: no row), unit-normalised when `normalise`. Entries must not be
    negative when normalising (TF-IDF weights never are)."""
    matrix = matrix.tocsr()
    queries = np.asarray(queries, dtype=np.int64)
    if queries.ndim == 1:
        queries = queries[:, None]
    weights = np.ones(queries.shape) if weights is None else np.asarray(weights, np.float64)
    cols = np.asarray(cols, dtype=np.int64)
    if cols.size == 0:
        return np.zeros(cols.shape)
    return _dots(
        matrix.indptr.astype(np.int64, copy=False), matrix.indices, matrix.data,
        matrix.shape[1], queries, weights, normalise, cols, max(1, min(threads, len(cols))),
    )  # fmt: skip
