"""Dot products of chosen pairs of sparse rows, compiled.

Training scores many given pairs: each article with its candidates, its stored list, or
its list's held-out halves. In numpy each pair copies the query row once per candidate
(the queries of a block of 200 articles with 50 candidates each are 10,000 rows of
gathered terms); this loop spreads each query once into a table of its columns and reads
every candidate's stored entries against it, on `threads` threads (numba releases the
GIL). A query may be a weighted sum of rows, unit-normalised: that is pseudo-relevance
feedback's expanded query, never built as a matrix.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp

from relata.training.compiled import compiled, prefetch_row

# A query's table is a dense row of the matrix's width where that stays in cache (1.6 MB
# with its keys). Over a wider vocabulary (millions of n-grams) such a row is tens of MB
# and every write of a query's terms to it missed the caches, so there the table is a
# hash table of the query's own columns (100k realistic articles' feedback re-scoring:
# 7.9 → 4.3 s). Its columns are also marked in a bit filter of this many 64-bit words
# (16 KB, in the core's first-level cache): most of a candidate's terms are not the
# query's, and testing a bit is much cheaper than probing the table (6.3 → 3.9 s when
# the table was a dense row).
FILTER_WORDS = 2048
FILTER_ABOVE = 1 << 17  # columns: a narrower matrix's queries get a direct table, unfiltered


@numba.njit(inline="always")
def _slot(column: int) -> tuple[int, np.uint64]:
    """A column's word and bit in the query filter."""
    return (column >> 6) & (FILTER_WORDS - 1), np.uint64(1) << np.uint64(column & 63)


@numba.njit(inline="always")
def _home(column: int, mask: int) -> int:
    """A column's first slot in a query table: the column itself in a direct table (mask
    -1), else the low bits of a multiplicative hash."""
    return column if mask < 0 else (column * 0x9E3779B1) & mask


@numba.njit(inline="always")
def _find(keys: np.ndarray, column: int, mask: int) -> int:
    """A column's slot in a query table: where it is, or the empty slot it would take."""
    slot = _home(column, mask)
    while keys[slot] != -1 and keys[slot] != column:
        slot = (slot + 1) & mask  # only a hashed table ever collides
    return slot


@compiled
def _dots(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, size: int, mask: int,
    queries: np.ndarray, weights: np.ndarray, normalise: bool, cols: np.ndarray, threads: int,
) -> np.ndarray:  # fmt: skip
    out = np.zeros(cols.shape, dtype=np.float64)
    n, filtered = cols.shape[0], mask >= 0
    per = (n + threads - 1) // threads
    for part in numba.prange(threads):
        keys = np.full(size, -1, dtype=np.int32)  # the query's columns, by slot
        values = np.zeros(size, dtype=np.float64)
        taken = np.empty(size, dtype=np.int64)  # the slots in use, to clear
        bits = np.zeros(FILTER_WORDS, dtype=np.uint64)
        for q in range(part * per, min(n, (part + 1) * per)):
            used = 0
            for m in range(queries.shape[1]):
                row = queries[q, m]
                if row >= 0:
                    for k in range(indptr[row], indptr[row + 1]):
                        slot = _find(keys, indices[k], mask)
                        if keys[slot] == -1:
                            keys[slot] = indices[k]
                            taken[used] = slot
                            used += 1
                        values[slot] += weights[q, m] * data[k]
                        if filtered:
                            word, bit = _slot(indices[k])
                            bits[word] |= bit
            scale = 1.0
            if normalise:
                total = 0.0
                for u in range(used):
                    total += values[taken[u]] * values[taken[u]]
                scale = 1.0 / np.sqrt(total) if total > 0 else 0.0
            for j in range(cols.shape[1]):
                c = cols[q, j]
                if j + 1 < cols.shape[1] and cols[q, j + 1] >= 0:
                    prefetch_row(indptr, indices, data, cols[q, j + 1])
                if c >= 0:
                    acc = 0.0
                    for k in range(indptr[c], indptr[c + 1]):
                        if not filtered:  # a direct table: 0 for the query's other columns
                            acc += values[indices[k]] * data[k]
                            continue
                        word, bit = _slot(indices[k])
                        if bits[word] & bit:
                            slot = _find(keys, indices[k], mask)
                            if keys[slot] != -1:
                                acc += values[slot] * data[k]
                    out[q, j] = acc * scale
            for u in range(used):
                slot = taken[u]
                if filtered:
                    bits[_slot(keys[slot])[0]] = 0
                keys[slot], values[slot] = -1, 0.0
    return out


def pair_dots(
    matrix: sp.csr_matrix, queries: np.ndarray, cols: np.ndarray, *,
    weights: np.ndarray | None = None, normalise: bool = False, threads: int = 1,
) -> np.ndarray:  # fmt: skip
    """out[i, j] = (query i) · matrix[cols[i, j]], 0 where cols is -1. Query i is
    matrix[queries[i]] for a vector of rows, or Σ_m weights[i, m] · matrix[queries[i, m]]
    for a table (-1: no row), unit-normalised when `normalise`."""
    matrix = matrix.tocsr()
    queries = np.asarray(queries, dtype=np.int64)
    if queries.ndim == 1:
        queries = queries[:, None]
    weights = np.ones(queries.shape) if weights is None else np.asarray(weights, np.float64)
    cols = np.asarray(cols, dtype=np.int64)
    if cols.size == 0:
        return np.zeros(cols.shape)
    indptr = matrix.indptr.astype(np.int64, copy=False)
    size, mask = matrix.shape[1], -1  # a direct table: a row of the matrix's width
    if size > FILTER_ABOVE:
        # Twice the most columns a query can have, so a probe soon meets an empty slot.
        lengths = np.diff(indptr)[np.maximum(queries, 0)] * (queries >= 0)
        size = 1 << max(10, int(2 * lengths.sum(axis=1).max(initial=1)).bit_length())
        mask = size - 1
    return _dots(
        indptr, matrix.indices, matrix.data, size, mask, queries, weights, normalise, cols,
        max(1, min(threads, len(cols))),
    )  # fmt: skip


@compiled
def _shared(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, width: int, rows: np.ndarray,
    cols: np.ndarray, split: int, counts: np.ndarray, threads: int,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    n, k = cols.shape
    filtered = width > FILTER_ABOVE
    sums = np.zeros((n, k, 2), dtype=np.float64)
    best = np.full((n, k, counts[0] + counts[1]), -1, dtype=np.int32)
    per = (n + threads - 1) // threads
    for part in numba.prange(threads):
        scratch = np.zeros(width, dtype=np.float64)
        bits = np.zeros(FILTER_WORDS, dtype=np.uint64)
        weight = np.zeros(counts[0] + counts[1], dtype=np.float64)
        for q in range(part * per, min(n, (part + 1) * per)):
            row = rows[q]
            for e in range(indptr[row], indptr[row + 1]):
                scratch[indices[e]] = data[e]
                word, bit = _slot(indices[e])
                bits[word] |= bit
            for j in range(k):
                c = cols[q, j]
                if j + 1 < k and cols[q, j + 1] >= 0:
                    prefetch_row(indptr, indices, data, cols[q, j + 1])
                if c < 0:
                    continue
                weight[:] = 0.0
                for e in range(indptr[c], indptr[c + 1]):
                    word, bit = _slot(indices[e])
                    if filtered and not bits[word] & bit:
                        continue
                    product = scratch[indices[e]] * data[e]
                    if product <= 0:
                        continue
                    # Columns before `split` are the first group (sums[…, 0]), the rest the
                    # second; each keeps its `counts[g]` heaviest, earlier columns first
                    # among equals (entries come in column order).
                    group = 0 if indices[e] < split else 1
                    sums[q, j, group] += product
                    first = 0 if group == 0 else counts[0]
                    last = first + counts[group] - 1
                    if product <= weight[last]:
                        continue
                    slot = last
                    while slot > first and weight[slot - 1] < product:
                        weight[slot] = weight[slot - 1]
                        best[q, j, slot] = best[q, j, slot - 1]
                        slot -= 1
                    weight[slot] = product
                    best[q, j, slot] = indices[e]
            for e in range(indptr[row], indptr[row + 1]):
                scratch[indices[e]] = 0.0
                bits[_slot(indices[e])[0]] = 0
    return sums, best


def shared_features(
    matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray, split: int,
    counts: tuple[int, int], threads: int = 1,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """What each pair (rows[i], cols[i, j]) shares, in two groups of columns (before
    `split`, and from it on): (sums (n, k, 2) of the products in each group, the columns
    (n, k, counts[0] + counts[1]) of each group's `counts[g]` largest products, heaviest
    first, -1 padded). Pairs where cols is -1 share nothing."""
    matrix = matrix.tocsr()
    if not matrix.has_sorted_indices:  # ties go to the earlier column: entries in order
        matrix = matrix.sorted_indices()
    cols = np.asarray(cols, dtype=np.int64)
    return _shared(
        matrix.indptr.astype(np.int64, copy=False), matrix.indices, matrix.data,
        matrix.shape[1], np.asarray(rows, dtype=np.int64), cols, split,
        np.array(counts, dtype=np.int64), max(1, min(threads, len(cols))),
    )  # fmt: skip


@compiled
def _dense_dots(
    vectors: np.ndarray, rows: np.ndarray, cols: np.ndarray, threads: int
) -> np.ndarray:
    n, k = cols.shape
    out = np.zeros((n, k), dtype=np.float64)
    per = (n + threads - 1) // threads
    for part in numba.prange(threads):
        for q in range(part * per, min(n, (part + 1) * per)):
            own = vectors[rows[q]].astype(np.float64)  # products in float64, as sums are
            for j in range(k):
                c = cols[q, j]
                if c >= 0:
                    acc = 0.0
                    for d in range(vectors.shape[1]):
                        acc += own[d] * vectors[c, d]
                    out[q, j] = acc
    return out


def dense_pair_dots(
    vectors: np.ndarray, rows: np.ndarray, cols: np.ndarray, threads: int = 1
) -> np.ndarray:
    """out[i, j] = vectors[rows[i]] · vectors[cols[i, j]], 0 where cols is -1: without
    gathering a copy of every listed vector (50 per article, hundreds of floats each)."""
    cols = np.asarray(cols, dtype=np.int64)
    if cols.size == 0:
        return np.zeros(cols.shape)
    return _dense_dots(
        np.ascontiguousarray(vectors), np.asarray(rows, dtype=np.int64), cols,
        max(1, min(threads, len(cols))),
    )  # fmt: skip
