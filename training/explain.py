"""Why two articles are related: the shared tags and terms that weigh most, and each
signal's part of the score. Computed and rendered to JSON at training time, so serving
only splices the stored bytes in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from joblib import delayed

from relata.training import distributed
from relata.training.neighbours import PairSignals, decay, shared_category
from relata.training.settings import TrainSettings
from relata.training.why_json import SIGNALS, render_rows


@dataclass(frozen=True)
class WhyTable:
    """Precomputed explanations of the first `positions` entries of every list."""

    features: np.ndarray  # int32 (N, P, SHARED): top shared feature columns, -1 padded
    signals: np.ndarray  # float16 (N, P, 4): text, tags, category, recency multiplier


SHARED_TERMS = 4  # shared text terms kept per pair, heaviest first
SHARED_TAGS = 2  # shared tags kept per pair: named even when terms weigh more
EXPLAIN_ROWS = 4096  # articles whose pairs are explained together


def explain_table(
    matrix: sp.csr_matrix,
    text_width: int,
    index: np.ndarray,
    signals: PairSignals,
    settings: TrainSettings,
    positions: int = 10,
) -> WhyTable:
    """Why each of the first `positions` neighbours of every article was picked: the
    shared features that weigh most, and each signal's part of the score."""
    n, width = index.shape[0], min(positions, index.shape[1])
    why = WhyTable(
        np.full((n, width, SHARED_TAGS + SHARED_TERMS), -1, dtype=np.int32),
        np.zeros((n, width, len(SIGNALS)), dtype=np.float16),
    )
    # A block of articles at a time: every pair's shared features at once would hold
    # `positions` copies of the whole matrix (gigabytes at 100k articles of real length).
    for start in range(0, n, EXPLAIN_ROWS):
        _explain_rows(matrix, text_width, index[:, :width], signals, settings, start, why)
    return why


def _explain_rows(
    matrix: sp.csr_matrix, text_width: int, index: np.ndarray, signals: PairSignals,
    settings: TrainSettings, start: int, why: WhyTable,
) -> None:  # fmt: skip
    """Fill `why` for the articles from `start` on, `EXPLAIN_ROWS` of them."""
    rows, cols = np.nonzero(index[start : start + EXPLAIN_ROWS] >= 0)
    if not len(rows):
        return
    rows += start
    targets = index[rows, cols]
    shared = matrix[rows].multiply(matrix[targets]).tocsr()
    parts = why.signals
    parts[rows, cols, 0] = np.asarray(shared[:, :text_width].sum(axis=1)).ravel()
    parts[rows, cols, 1] = np.asarray(shared[:, text_width:].sum(axis=1)).ravel()
    parts[rows, cols, 2] = shared_category(rows, targets, signals)
    gap = np.abs(signals.days[rows] - signals.days[targets])
    kept = decay(gap, settings.recency_half_life_days)
    parts[rows, cols, 3] = (1 - settings.recency_weight) + settings.recency_weight * kept
    for block, offset, first, count in (
        (shared[:, text_width:], text_width, 0, SHARED_TAGS),
        (shared[:, :text_width], 0, SHARED_TAGS, SHARED_TERMS),
    ):
        entry, rank, column = _heaviest(block.tocsr(), count)
        why.features[rows[entry], cols[entry], first + rank] = column + offset


def _heaviest(shared: sp.csr_matrix, count: int) -> tuple[np.ndarray, ...]:
    """The `count` heaviest entries of each row, as (row, rank, column), without a Python
    loop over rows."""
    entry_row = np.repeat(np.arange(shared.shape[0]), np.diff(shared.indptr))
    order = np.lexsort((-shared.data, entry_row))
    rank = np.arange(len(order)) - shared.indptr[entry_row[order]]
    keep = (rank < count) & (shared.data[order] > 0)
    return entry_row[order][keep], rank[keep], shared.indices[order][keep]


ROWS = 8192  # rows rendered per task


def render_table(
    why: WhyTable, index: np.ndarray, names: tuple[np.ndarray, np.ndarray], n_jobs: int = 1
) -> Iterator[bytes]:
    """Every entry's `why` as JSON, row by row (N × positions); empty where no neighbour.
    `names`: the JSON-encoded feature names, packed (`relata.artifact.packed.pack`).
    Blocks of rows render in `n_jobs` processes, which share that table (a memory map)
    rather than a copy of a list of millions of strings each, and import only
    `relata.training.why_json`."""
    n, width = why.features.shape[:2]
    blocks = [(start, min(n, start + ROWS)) for start in range(0, n, ROWS)]
    parallel = distributed.parallel(n_jobs if len(blocks) > 1 else 1, return_as="generator")
    for rendered in parallel(
        delayed(render_rows)(
            why.features[a:b], why.signals[a:b], index[a:b, :width] >= 0, names
        )
        for a, b in blocks
    ):
        yield from rendered
