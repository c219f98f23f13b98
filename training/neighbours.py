"""Exact top-K neighbours from blocked sparse products, never the full N×N matrix.

Each block of rows is multiplied by the whole matrix (sparse × sparse, so only pairs that
share a term or tag are ever touched); each row keeps its best `candidates` by content
score, which are then re-scored with the pairwise signals (category, recency) and cut to
the stored K. Blocks are independent, so joblib runs them in parallel processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from joblib import Parallel, delayed

from training.settings import TrainSettings

# Scores are rounded before ranking so that equal scores are equal to the bit on every
# machine and block size, and ties fall to the documented order (newer first, then slug).
SCORE_DECIMALS = 6


@dataclass(frozen=True)
class PairSignals:
    """Per-article values that the pairwise re-scoring needs."""

    category: np.ndarray  # int32 category code, -1 when none
    days: np.ndarray  # float64 days since epoch, NaN when undated
    order: np.ndarray  # int64 tie-break rank: lower wins (newer, then slug)


@dataclass(frozen=True)
class Neighbours:
    """The neighbour table: row i holds article i's related articles, best first."""

    index: np.ndarray  # int32 (N, K), -1 where the list is shorter than K
    score: np.ndarray  # float32 (N, K), 0 where index is -1


def pair_signals(articles: pd.DataFrame) -> PairSignals:
    """Category codes, publication days and the tie-break order of an article table."""
    categories = articles["category"].fillna("").str.casefold()
    codes, _ = pd.factorize(categories.where(categories != "", None), use_na_sentinel=True)
    stamps = pd.to_datetime(articles["published_at"], format="ISO8601")
    days = (stamps - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    # Ties go to the newer article, then to the slug in alphabetical order.
    by_age = articles.assign(_days=days.fillna(-np.inf)).sort_values(
        ["_days", "slug"], ascending=[False, True]
    )
    order = np.empty(len(articles), dtype=np.int64)
    order[by_age.index.to_numpy()] = np.arange(len(articles))
    return PairSignals(codes.astype(np.int32), days.to_numpy(dtype=np.float64), order)


def rescore(
    row: int, cols: np.ndarray, content: np.ndarray, signals: PairSignals, s: TrainSettings
) -> np.ndarray:
    """Final scores of `row` with `cols`: content plus category, times recency (symmetric)."""
    score = content.astype(np.float64)
    category = signals.category
    if s.category_weight and category[row] >= 0:
        score += s.category_weight * (category[cols] == category[row])
    if s.recency_weight:
        gap = np.abs(signals.days[cols] - signals.days[row])
        # Unknown age: counted as one half-life apart, neither favoured nor buried.
        decay = np.where(np.isnan(gap), 0.5, 0.5 ** (gap / s.recency_half_life_days))
        score *= (1.0 - s.recency_weight) + s.recency_weight * decay
    return np.round(score, SCORE_DECIMALS)


def _best(keys: np.ndarray, order: np.ndarray, count: int) -> np.ndarray:
    """Positions of the `count` highest keys, ties broken by `order`, best first."""
    if len(keys) > count:
        threshold = np.partition(keys, len(keys) - count)[len(keys) - count]
        keep = np.flatnonzero(keys >= threshold)
    else:
        keep = np.arange(len(keys))
    ranked = keep[np.lexsort((order[keep], -keys[keep]))]
    return ranked[:count]


def rank_block(
    matrix: sp.csr_matrix, start: int, stop: int, signals: PairSignals, s: TrainSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Neighbour rows for articles `start`..`stop` (one parallel task)."""
    products = (matrix[start:stop] @ matrix.T).tocsr()
    index = np.full((stop - start, s.neighbours), -1, dtype=np.int32)
    score = np.zeros((stop - start, s.neighbours), dtype=np.float32)
    for offset in range(stop - start):
        row = start + offset
        lo, hi = products.indptr[offset], products.indptr[offset + 1]
        cols, content = products.indices[lo:hi], products.data[lo:hi]
        mine = (cols != row) & (content > 0)
        cols, content = cols[mine], np.round(content[mine].astype(np.float64), SCORE_DECIMALS)
        if not len(cols):
            continue
        pick = _best(content, signals.order[cols], s.candidates)
        cols = cols[pick]
        final = rescore(row, cols, content[pick], signals, s)
        best = _best(final, signals.order[cols], s.neighbours)
        index[offset, : len(best)] = cols[best]
        score[offset, : len(best)] = final[best]
    return index, score


def _blocks(n: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, size):
        yield start, min(n, start + size)


def rank_neighbours(
    matrix: sp.csr_matrix,
    signals: PairSignals,
    settings: TrainSettings,
    progress: Callable[[int], None] | None = None,
) -> Neighbours:
    """The top-K neighbour table for every row of `matrix`, computed block by block."""
    n = matrix.shape[0]
    matrix = matrix.tocsr()
    blocks = list(_blocks(n, settings.chunk_size))
    # Small archives finish faster than worker processes start.
    n_jobs = settings.n_jobs if n >= settings.parallel_min_articles else 1
    parallel = Parallel(n_jobs=n_jobs, return_as="generator")
    parts = []
    for (start, stop), part in zip(
        blocks,
        parallel(delayed(rank_block)(matrix, a, b, signals, settings) for a, b in blocks),
        strict=True,
    ):
        parts.append(part)
        if progress:
            progress(stop - start)
    return Neighbours(
        index=np.vstack([p[0] for p in parts]), score=np.vstack([p[1] for p in parts])
    )
