"""Why two articles are related: the shared tags and terms that weigh most, and each
signal's part of the score. Computed and rendered to JSON at training time, so serving
only splices the stored bytes in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from joblib import delayed, effective_n_jobs

from relata.training import distributed
from relata.training.neighbours import PairSignals, decay, shared_category
from relata.training.pair_products import shared_features
from relata.training.settings import TrainSettings
from relata.training.why_json import SIGNALS, render_rows


@dataclass(frozen=True)
class WhyTable:
    """Precomputed explanations of the first `positions` entries of every list."""

    features: np.ndarray  # int32 (N, P, SHARED): top shared feature columns, -1 padded
    signals: np.ndarray  # float16 (N, P, 4): text, tags, category, recency multiplier


SHARED_TERMS = 4  # shared text terms kept per pair, heaviest first
SHARED_TAGS = 2  # shared tags kept per pair: named even when terms weigh more
EXPLAIN_ROWS = 4096  # articles whose pairs are explained together (bounds the tables)


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
    threads = effective_n_jobs(settings.n_jobs)
    for start in range(0, n, EXPLAIN_ROWS):
        rows = np.arange(start, min(n, start + EXPLAIN_ROWS))
        cols = index[rows, :width]
        sums, heaviest = shared_features(
            matrix, rows, cols, text_width, (SHARED_TERMS, SHARED_TAGS), threads
        )
        # Tags first: named even when terms weigh more.
        why.features[rows] = np.concatenate(
            [heaviest[..., SHARED_TERMS:], heaviest[..., :SHARED_TERMS]], axis=2
        )
        targets = np.maximum(cols, 0)
        gap = np.abs(signals.days[targets] - signals.days[rows, None])
        kept = decay(gap, settings.recency_half_life_days)
        parts = np.stack([
            sums[..., 0], sums[..., 1],
            np.broadcast_to(shared_category(rows[:, None], targets, signals), cols.shape),
            (1 - settings.recency_weight) + settings.recency_weight * kept,
        ], axis=2)  # fmt: skip
        why.signals[rows] = np.where((cols >= 0)[..., None], parts, 0)
    return why


ROWS = 8192  # rows rendered per task


def render_table(
    why: WhyTable, index: np.ndarray, names: tuple[np.ndarray, np.ndarray], n_jobs: int = 1
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every entry's `why` as JSON, row by row (N × positions; empty where no neighbour), in
    packed blocks for `relata.artifact.packed.write_blocks`. `names`: the JSON-encoded
    feature names, packed (`relata.artifact.packed.pack`). Blocks of rows render in
    `n_jobs` processes, which share that table (a memory map) rather than a copy of a list
    of millions of strings each, and import only `relata.training.why_json`."""
    n, width = why.features.shape[:2]
    blocks = [(start, min(n, start + ROWS)) for start in range(0, n, ROWS)]
    parallel = distributed.parallel(n_jobs if len(blocks) > 1 else 1, return_as="generator")
    yield from parallel(
        delayed(render_rows)(
            why.features[a:b], why.signals[a:b], index[a:b, :width] >= 0, names
        )
        for a, b in blocks
    )
