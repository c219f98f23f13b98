"""Top-K neighbours from blocked sparse products, never the full N×N matrix.

Each block of rows is multiplied by the whole matrix (sparse × sparse, so only pairs that
share a term or tag are ever touched) with sparse_dot_topn, which keeps each row's best
scores as it multiplies instead of the whole product. Long posting lists make that work
grow with the square of the archive, so on big archives (from `exact_below` articles)
each query row keeps only its heaviest terms (the smallest set holding `query_mass` of
its squared weight; rare, telling terms weigh most): that product picks a pool of
`search_pool` likely neighbours per row, whose exact content scores are then computed
from the full rows. The best `candidates` by exact score are re-scored with the pairwise
signals (category, recency) and cut to the stored K. `search_recall` measures what the
pruning loses against the exact search on a sample. Blocks are independent: the exact
search runs them one after another in this process, each product on sparse_dot_topn's own
threads; pruned blocks, and every block on a Dask cluster, are joblib tasks in parallel
processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from joblib import delayed, effective_n_jobs
from sparse_dot_topn import sp_matmul_topn

from relata.training import distributed
from relata.training.settings import TrainSettings

# Scores are rounded before ranking so that equal scores are equal to the bit on every
# machine and block size, and ties fall to the documented order (newer first, then slug).
SCORE_DECIMALS = 6
EXACT_ROWS = 64  # query rows re-scored together (see `_exact`)
COARSE = 4  # partial-content candidates per pool place, narrowed by estimated score
CROSS_LANGUAGE = 0.5  # an article in another language is kept, ranked lower


@dataclass(frozen=True)
class PairSignals:
    """Per-article values that the pairwise re-scoring needs."""

    category: np.ndarray  # int32 category code, -1 when none
    days: np.ndarray  # float64 days since epoch, NaN when undated
    order: np.ndarray  # int64 tie-break rank: lower wins (newer, then slug)
    category_bonus: np.ndarray  # float64 per category code: what sharing it adds
    language: np.ndarray  # int32 language code
    category_names: tuple[str, ...] = ()  # case-folded, by code


@dataclass(frozen=True)
class Neighbours:
    """The neighbour table: row i holds article i's related articles, best first."""

    index: np.ndarray  # int32 (N, K), -1 where the list is shorter than K
    score: np.ndarray  # float32 (N, K), 0 where index is -1


def publication_days(articles: pd.DataFrame) -> pd.Series:
    """Days since the epoch of each article's publication, NaN when undated."""
    stamps = pd.to_datetime(articles["published_at"], format="ISO8601")
    return (stamps - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)


def category_names(articles: pd.DataFrame) -> pd.Series:
    """Each article's category, case-folded ("" for none): the category signal's key."""
    return articles["category"].fillna("").astype(str).str.casefold()


def pair_signals(
    articles: pd.DataFrame, category_bonus: Mapping[str, float] | float = 0.0
) -> PairSignals:
    """Category codes, publication days, languages and the tie-break order of an article
    table; `category_bonus` is what a shared category adds (per category, or one value)."""
    categories = category_names(articles)
    codes, names = pd.factorize(categories.where(categories != "", None), use_na_sentinel=True)
    bonus = np.array(
        [
            category_bonus.get(name, 0.0) if isinstance(category_bonus, Mapping)
            else category_bonus
            for name in names
        ],
        dtype=np.float64,
    )  # fmt: skip
    languages, _ = pd.factorize(articles["language"])
    days = publication_days(articles)
    # Ties go to the newer article, then to the slug in alphabetical order.
    by_age = articles.assign(_days=days.fillna(-np.inf)).sort_values(
        ["_days", "slug"], ascending=[False, True]
    )
    order = np.empty(len(articles), dtype=np.int64)
    order[by_age.index.to_numpy()] = np.arange(len(articles))
    return PairSignals(
        codes.astype(np.int32), days.to_numpy(dtype=np.float64), order,
        bonus, languages.astype(np.int32), tuple(names),
    )  # fmt: skip


def decay(gap: np.ndarray, half_life: float) -> np.ndarray:
    """Recency's decaying share for gaps in days: halved every `half_life` days. An unknown
    gap (an undated article) counts as one half-life: neither favoured nor buried."""
    return np.where(np.isnan(gap), 0.5, 0.5 ** (gap / half_life))


def shared_category(rows: int | np.ndarray, cols: np.ndarray, signals: PairSignals) -> Any:
    """What a shared category adds to each pair of `rows` and `cols` (0 where none)."""
    if not signals.category_bonus.any():
        return 0.0
    own = signals.category[rows]
    same = (signals.category[cols] == own) & (own >= 0)
    return np.where(same, signals.category_bonus[np.maximum(own, 0)], 0.0)


def rescore(
    rows: int | np.ndarray, cols: np.ndarray, content: np.ndarray, signals: PairSignals,
    s: TrainSettings,
) -> np.ndarray:  # fmt: skip
    """Final scores of `rows` with `cols` (one row and its columns, or a column of rows and
    a matrix of columns): content plus category, times recency (symmetric); pairs across
    languages count less (lists keep to one language unless a request asks for any)."""
    score = content.astype(np.float64) + shared_category(rows, cols, signals)
    if s.recency_weight:
        gap = np.abs(signals.days[cols] - signals.days[rows])
        score *= (1.0 - s.recency_weight) + s.recency_weight * decay(gap, s.recency_half_life_days)
    same = signals.language[cols] == signals.language[rows]
    score = np.where(same, score, CROSS_LANGUAGE * score)
    return np.round(score, SCORE_DECIMALS)


def heaviest_terms(block: sp.csr_matrix, mass: float) -> sp.csr_matrix:
    """Each row cut to its heaviest entries that together hold `mass` of its squared norm."""
    counts = np.diff(block.indptr)
    rows = np.repeat(np.arange(block.shape[0]), counts)
    order = np.lexsort((-block.data, rows))  # within each row, heaviest first
    squares = block.data[order].astype(np.float64) ** 2
    running = np.cumsum(squares)
    # Squared weight of the row's entries before each one, in that order.
    row_start = np.concatenate(([0.0], running))[block.indptr[:-1]]
    before = running - squares - np.repeat(row_start, counts)
    totals = np.repeat(np.concatenate(([0.0], running))[block.indptr[1:]] - row_start, counts)
    keep = np.sort(order[before < mass * totals])
    return sp.csr_matrix((block.data[keep], (rows[keep], block.indices[keep])), shape=block.shape)


def _pool(products: sp.csr_matrix, width: int, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `width` best entries of `products` as (columns, scores), best first,
    padded with -1 and -inf; ties fall to `order`."""
    counts = np.diff(products.indptr)
    owners = np.repeat(np.arange(products.shape[0]), counts)
    ranked = np.lexsort((order[products.indices], -products.data, owners))
    # Sorted by row first, so each row's entries stay in its own stretch, best first.
    slot = np.arange(products.nnz) - np.repeat(products.indptr[:-1], counts)
    keep = slot < width
    cols = np.full((products.shape[0], width), -1, dtype=np.int32)
    vals = np.full((products.shape[0], width), -np.inf)
    cols[owners[keep], slot[keep]] = products.indices[ranked[keep]]
    vals[owners[keep], slot[keep]] = products.data[ranked[keep]]
    return cols, vals


def _exact(
    block: sp.csr_matrix, matrix: sp.csr_matrix, cols: np.ndarray, local: np.ndarray
) -> np.ndarray:
    """Exact dot products of each row of `block` with the rows `cols` of `matrix` (padded
    with -1, which score -inf). `local` is a scratch array, one slot per feature, all -1."""
    # The block's rows, dense over just the terms they use: a lookup table small enough to
    # stay in cache (hence the caller's small blocks).
    terms = np.unique(block.indices)
    local[terms] = np.arange(len(terms))
    width = len(terms) + 1  # the last column: "not a query term"
    dense = np.zeros(block.shape[0] * width)
    owners = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
    dense[owners * width + local[block.indices]] = block.data
    pair_row, pair_col = np.nonzero(cols >= 0)
    docs = cols[pair_row, pair_col]
    starts, lengths = matrix.indptr[docs], np.diff(matrix.indptr)[docs]
    # Every stored entry of every pool document, pair by pair.
    pair_of = np.repeat(np.arange(len(docs)), lengths)
    positions = np.arange(lengths.sum()) + np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    column = local[matrix.indices[positions]]
    column[column < 0] = width - 1
    products = dense[np.repeat(pair_row * width, lengths) + column] * matrix.data[positions]
    local[terms] = -1
    exact = np.full(cols.shape, -np.inf)
    exact[pair_row, pair_col] = np.bincount(pair_of, weights=products, minlength=len(docs))
    return exact


def _ranked(keys: np.ndarray, cols: np.ndarray, order: np.ndarray, count: int) -> np.ndarray:
    """Per row, positions of the `count` highest keys, ties broken by `order`, best first."""
    tie = np.where(cols >= 0, order[cols], np.iinfo(np.int64).max)
    return np.lexsort((tie, -keys), axis=-1)[:, :count]


def _products(
    query: sp.csr_matrix, transposed: sp.csr_matrix, rows: np.ndarray, width: int,
    final: bool = True, threads: int = 1,
) -> sp.csr_matrix:  # fmt: skip
    """The `width` best content scores of each query row (article `rows`) with the
    articles it shares a feature with, itself left out; rounded when `final` (not a pruned
    query's partial). sparse_dot_topn keeps only each row's best while multiplying, so a
    block never holds its full product (every pair sharing a common word)."""
    if not transposed.data.flags.writeable:  # sparse_dot_topn refuses read-only arrays
        transposed = transposed.copy()
    # One more than wanted: the row itself is usually among the best, and is dropped.
    products = sp_matmul_topn(query, transposed, top_n=width + 1, n_threads=threads)
    owners = np.repeat(rows, np.diff(products.indptr))
    products.data[products.indices == owners] = 0
    if final:
        products.data = np.round(products.data.astype(np.float64), SCORE_DECIMALS)
    products.eliminate_zeros()
    return products


def rank_block(
    matrix: sp.csr_matrix, rows: np.ndarray, signals: PairSignals, s: TrainSettings,
    exact: bool = False, transposed: sp.csr_matrix | None = None, threads: int = 1,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Neighbour rows for the articles `rows` (one parallel task); `exact` skips pruning.
    `transposed` is `matrix.T` as CSR, made once by callers that rank many blocks;
    `threads`: sparse_dot_topn's own threads for the exact product."""
    block = matrix[rows]
    transposed = matrix.T.tocsr() if transposed is None else transposed
    if _is_exact(matrix.shape[0], s) or exact:
        products = _products(block, transposed, rows, s.candidates, threads=threads)
        cols, content = _pool(products, s.candidates, signals.order)
    else:
        products = _products(
            heaviest_terms(block, s.query_mass), transposed, rows, COARSE * s.search_pool, False
        )
        # The pruned product only finds the pool: its best entries by partial content,
        # narrowed by their estimated final score (category and recency count), whose
        # content scores are then recomputed exactly.
        wide, partial = _pool(products, COARSE * s.search_pool, signals.order)
        estimate = rescore(rows[:, None], np.maximum(wide, 0), partial, signals, s)
        pick = _ranked(np.where(wide >= 0, estimate, -np.inf), wide, signals.order, s.search_pool)
        cols = np.take_along_axis(wide, pick, 1)
        # Where the heaviest terms find too few articles (small archives, rare words),
        # the row's light terms may be all it shares: search it exactly, it is cheap.
        short = np.diff(products.indptr) < s.search_pool
        cols[short] = -1  # re-scored below by the exact search instead
        local = np.full(matrix.shape[1], -1, dtype=np.int64)
        content = np.vstack([
            _exact(block[a : a + EXACT_ROWS], matrix, cols[a : a + EXACT_ROWS], local)
            for a in range(0, len(rows), EXACT_ROWS)
        ])  # fmt: skip
        content = np.round(content, SCORE_DECIMALS)
        if short.any():
            full = _products(block[short], transposed, rows[short], s.search_pool)
            cols[short], content[short] = _pool(full, s.search_pool, signals.order)
    return finish(rows, cols, content, signals, s)


def finish(
    rows: np.ndarray, cols: np.ndarray, content: np.ndarray, signals: PairSignals,
    s: TrainSettings,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The stored top-K of articles `rows` from their candidate `cols` (-1 padded) and
    exact content scores: the best `candidates` by content, re-scored, cut to K."""
    pick = _ranked(content, cols, signals.order, s.candidates)
    cols, content = np.take_along_axis(cols, pick, 1), np.take_along_axis(content, pick, 1)
    final = np.where(cols >= 0, rescore(rows[:, None], cols, content, signals, s), -np.inf)
    best = _ranked(final, cols, signals.order, s.neighbours)
    index = np.take_along_axis(cols, best, 1)
    score = np.where(index >= 0, np.take_along_axis(final, best, 1), 0).astype(np.float32)
    if index.shape[1] < s.neighbours:  # fewer candidates than K: pad
        pad = s.neighbours - index.shape[1]
        index = np.pad(index, ((0, 0), (0, pad)), constant_values=-1)
        score = np.pad(score, ((0, 0), (0, pad)))
    return index, score


def search_recall(
    matrix: sp.csr_matrix, found: np.ndarray, signals: PairSignals, s: TrainSettings,
    sample: int, depth: int = 10, seed: int = 0,
) -> float | None:  # fmt: skip
    """Share of the exact top-`depth` neighbours that `found` (the searched table) holds,
    over a random sample of rows; None when nothing was pruned."""
    if _is_exact(matrix.shape[0], s) or not sample:
        return None
    rows = np.sort(np.random.default_rng(seed).permutation(matrix.shape[0])[:sample])
    truth, _ = rank_block(matrix.tocsr(), rows, signals, s, exact=True)
    hits = total = 0
    for expected, got in zip(truth[:, :depth], found[rows, :depth], strict=True):
        expected = expected[expected >= 0]
        hits += len(np.intersect1d(expected, got))
        total += len(expected)
    return 1.0 if total == 0 else hits / total


def _is_exact(n: int, s: TrainSettings) -> bool:
    """True when an archive of `n` articles is searched without pruning."""
    return s.query_mass >= 1 or n < s.exact_below


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
    transposed = matrix.T.tocsr()
    blocks = list(_blocks(n, settings.chunk_size))
    # Small archives finish faster than worker processes start.
    n_jobs = settings.n_jobs if n >= settings.parallel_min_articles else 1
    if _is_exact(n, settings) and not distributed.active():
        # All the work is sparse_dot_topn's product, which runs its own threads: one
        # process, no copies of the matrices and no workers' memory beside it.
        threads = effective_n_jobs(n_jobs)
        ranked: Iterable[tuple[np.ndarray, np.ndarray]] = (
            rank_block(matrix, np.arange(a, b), signals, settings, transposed=transposed,
                       threads=threads)
            for a, b in blocks
        )  # fmt: skip
    else:
        # Copy-on-write maps of the shared matrices: writeable, as sparse_dot_topn needs,
        # without a copy per worker.
        parallel = distributed.parallel(n_jobs, return_as="generator", mmap_mode="c")
        ranked = parallel(
            delayed(rank_block)(matrix, np.arange(a, b), signals, settings, transposed=transposed)
            for a, b in blocks
        )
    parts = []
    for (start, stop), part in zip(blocks, ranked, strict=True):
        parts.append(part)
        if progress:
            progress(stop - start)
    return Neighbours(
        index=np.vstack([p[0] for p in parts]), score=np.vstack([p[1] for p in parts])
    )
