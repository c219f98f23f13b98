"""Top-K neighbours from blocked sparse products, never the full N×N matrix.

Each block of rows is multiplied by the whole matrix (sparse × sparse, so only pairs that
share a term or tag are ever touched) by `top_products`, which keeps each row's best
scores as it multiplies instead of the whole product. The work of that product is the
sum over terms of (articles using it)², so common words, with their long posting lists,
make it grow with the square of the archive while adding little to any score. Terms found
in more than `search_common_df` articles are therefore left out of it: it picks a pool of
`search_pool` candidates by the other terms, and each candidate's score then gets the
common terms' part exactly (a small block, products of given pairs). Pruning can drop a
neighbour but never mis-score one; `choose_cut` measures what it drops against the
exact search on a sample. The best `candidates` by content are re-scored with the pairwise
signals (category, recency) and cut to the stored K. Blocks run one after another in this
process, the products on their own threads; on a Dask cluster they are tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp
from joblib import delayed, effective_n_jobs

from relata.training import distributed
from relata.training.compiled import compiled
from relata.training.pair_products import pair_dots
from relata.training.settings import TrainSettings
from relata.training.top_products import top_products

# Scores are rounded before ranking so that equal scores are equal to the bit on every
# machine and block size, and ties fall to the documented order (newer first, then slug).
SCORE_DECIMALS = 6
CROSS_LANGUAGE = 0.5  # an article in another language is kept, ranked lower
CUT_STEPS = (1 / 6, 1 / 3, 1 / 2, 2 / 3)  # lower cuts `choose_cut` tries, of `search_common_df`


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


@dataclass(frozen=True)
class SearchIndex:
    """What the neighbour search reads, made once per run: the transposed matrix without
    its common terms' entries (the candidate search's posting lists), and the common terms'
    block, renumbered, whose products are added to each candidate's score."""

    rare_t: sp.csr_matrix  # features × articles, the common terms' rows empty
    common: sp.csr_matrix  # articles × common terms
    common_t: sp.csr_matrix

    @property
    def exact(self) -> bool:
        """True when no term was left out: the candidate search is the exact search."""
        return self.common.shape[1] == 0

    def candidates(
        self, matrix: sp.csr_matrix, rows: np.ndarray, width: int, threads: int
    ) -> sp.csr_matrix:
        """The candidate search's best `width` articles for each of `rows`, by the terms
        not left out."""
        return top_products(matrix[rows], self.rare_t, rows, width, threads)

    def by_common_terms(
        self, matrix: sp.csr_matrix, rows: np.ndarray, width: int, threads: int
    ) -> sp.csr_matrix:
        """The best `width` articles for each of `rows` by the left-out terms alone."""
        return top_products(self.common[rows], self.common_t, rows, width, threads)

    def content(
        self, matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray, searched: np.ndarray,
        threads: int,
    ) -> np.ndarray:  # fmt: skip
        """Exact content scores of the candidates `cols` (-1: none) of `rows`, whose
        searched terms' part is `searched`: the left-out terms' part added."""
        return searched + pair_dots(self.common, rows, cols, threads=threads)


@dataclass(frozen=True)
class TrialIndex:
    """What the search with `SearchIndex` of a cut finds, without making that index: the
    exact search's posting lists, each query's left-out terms dropped from the query
    instead of from the lists: the same pools, and scores within 1e-6 of its (a pair's
    score is one sum here, two there). For trying cuts on a sample of articles: each
    trial costs a search of the sample, not a copy of the matrix."""

    postings_t: sp.csr_matrix  # features × articles, every term
    left_out: np.ndarray  # bool per feature

    exact = False

    def candidates(
        self, matrix: sp.csr_matrix, rows: np.ndarray, width: int, threads: int
    ) -> sp.csr_matrix:
        return self._by(~self.left_out, matrix, rows, width, threads)

    def by_common_terms(
        self, matrix: sp.csr_matrix, rows: np.ndarray, width: int, threads: int
    ) -> sp.csr_matrix:
        return self._by(self.left_out, matrix, rows, width, threads)

    def _by(
        self, terms: np.ndarray, matrix: sp.csr_matrix, rows: np.ndarray, width: int,
        threads: int,
    ) -> sp.csr_matrix:  # fmt: skip
        """The best `width` articles for each of `rows` by the features where `terms`."""
        queries = matrix[rows]
        queries.data[~terms[queries.indices]] = 0  # `matrix[rows]` is a copy
        queries.eliminate_zeros()
        return top_products(queries, self.postings_t, rows, width, threads)

    def content(
        self, matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray, searched: np.ndarray,
        threads: int,
    ) -> np.ndarray:  # fmt: skip
        # Whole: the sample is small, and the left-out terms have no block of their own.
        return np.where(cols >= 0, pair_dots(matrix, rows, cols, threads=threads), -np.inf)


def search_index(
    matrix: sp.csr_matrix, common_df: float, postings: sp.csc_matrix | None = None
) -> SearchIndex:
    """The search index of `matrix`, leaving out of the candidate search the terms found in
    more than `common_df` articles. Made from one column-major copy of the matrix (its
    posting lists; `postings` if given, which is spent), pruned in place: at a million
    articles every other way of splitting it held several copies of its 259 million
    entries at once."""
    postings = matrix.tocsc() if postings is None else postings
    df = np.diff(postings.indptr)
    common = np.flatnonzero(df > common_df)
    lengths = df[common]
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    positions = np.repeat(postings.indptr[common] - offsets[:-1], lengths) + np.arange(offsets[-1])
    common_t = sp.csr_matrix(
        (postings.data[positions], postings.indices[positions], offsets),
        shape=(len(common), matrix.shape[0]),
    )
    postings.data[positions] = 0
    postings.eliminate_zeros()  # in place: the common terms' posting lists are now empty
    rare_t = sp.csr_matrix(
        (postings.data, postings.indices, postings.indptr), shape=matrix.shape[::-1]
    )
    return SearchIndex(rare_t, common_t.T.tocsr(), common_t)


def _table(products: sp.csr_matrix, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's entries of `products` as (columns, scores) in no particular order,
    padded with -1 and -inf to at least `width` (`finish` ranks them)."""
    counts = np.diff(products.indptr)
    owners = np.repeat(np.arange(products.shape[0]), counts)
    slot = np.arange(products.nnz) - np.repeat(products.indptr[:-1], counts)
    shape = (products.shape[0], max(width, counts.max(initial=0)))
    cols = np.full(shape, -1, dtype=np.int32)
    vals = np.full(shape, -np.inf)
    cols[owners, slot] = products.indices
    vals[owners, slot] = products.data
    return cols, vals


def _ranked(keys: np.ndarray, cols: np.ndarray, order: np.ndarray, count: int) -> np.ndarray:
    """Per row, positions of the `count` highest keys, ties broken by `order` (a column
    of -1 last), then by position; best first."""
    count = min(count, keys.shape[1])
    return _top(np.ascontiguousarray(keys, dtype=np.float64), cols, order, count)


@compiled
def _top(keys: np.ndarray, cols: np.ndarray, order: np.ndarray, count: int) -> np.ndarray:
    # What np.lexsort((tie, -keys))[:, :count] gives, by insertion into a short list: a
    # full sort of each row's few hundred candidates was most of ranking them.
    n, width = keys.shape
    top = np.empty((n, count), dtype=np.int64)
    last = np.iinfo(np.int64).max
    if count == 0:
        return top
    for r in numba.prange(n):
        kept = 0
        best_key = np.empty(count, dtype=np.float64)
        best_tie = np.empty(count, dtype=np.int64)
        for p in range(width):
            key, tie = keys[r, p], order[cols[r, p]] if cols[r, p] >= 0 else last
            if kept == count:
                worst = count - 1
                # Later positions lose ties: a candidate must beat the worst kept one.
                if key < best_key[worst] or (key == best_key[worst] and tie >= best_tie[worst]):
                    continue
                slot = worst
            else:
                slot = kept
                kept += 1
            while slot > 0 and (
                best_key[slot - 1] < key
                or (best_key[slot - 1] == key and best_tie[slot - 1] > tie)
            ):
                best_key[slot], best_tie[slot] = best_key[slot - 1], best_tie[slot - 1]
                top[r, slot] = top[r, slot - 1]
                slot -= 1
            best_key[slot], best_tie[slot], top[r, slot] = key, tie, p
    return top


def _everything_shared(
    matrix: sp.csr_matrix, index: SearchIndex | TrialIndex, rows: np.ndarray, found: np.ndarray,
    signals: PairSignals, width: int, threads: int,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Exact pools of articles `rows` whose candidate search found fewer than `width`
    articles (`found`: all of them, -1 padded): those plus the `width` best by common terms
    alone, which hold every article of the exact top `width` (one sharing only common
    terms scores its common part), cut to the best `found.shape[1]`."""
    common = index.by_common_terms(matrix, rows, width, threads)
    both = np.sort(np.hstack([found, _table(common, width)[0]]), axis=1)
    both[:, 1:][both[:, 1:] == both[:, :-1]] = -1
    content = np.where(both >= 0, pair_dots(matrix, rows, both, threads=threads), -np.inf)
    pick = _ranked(content, both, signals.order, found.shape[1])
    return np.take_along_axis(both, pick, 1), np.take_along_axis(content, pick, 1)


def rank_block(
    matrix: sp.csr_matrix, rows: np.ndarray, signals: PairSignals, s: TrainSettings,
    exact: bool = False, index: SearchIndex | TrialIndex | None = None, threads: int = 1,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Neighbour rows for the articles `rows` (one parallel task); `exact` leaves no term
    out of the candidate search. `index` is `search_index(matrix, …)`, made once by
    callers that rank many blocks, or a `TrialIndex`; `threads`: the products' own
    threads."""
    if index is None:
        index = search_index(matrix, np.inf if exact else s.search_common_df)
    width = s.candidates if index.exact else s.search_pool
    products = index.candidates(matrix, rows, width, threads)
    if index.exact:
        products.data = np.round(products.data.astype(np.float64), SCORE_DECIMALS)
    cols, content = _table(products, width)
    if not index.exact:
        # The candidates' exact scores: what the common terms add.
        content = index.content(matrix, rows, cols, content, threads)
        short = np.flatnonzero(np.diff(products.indptr) < width)
        if len(short):
            cols[short], content[short] = _everything_shared(
                matrix, index, rows[short], cols[short], signals, width, threads
            )
        content = np.round(content, SCORE_DECIMALS)
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


def _recall(truth: np.ndarray, found: np.ndarray, depth: int = 10) -> float:
    """Share of the top-`depth` lists `truth` that the lists `found` hold (same rows)."""
    hits = total = 0
    for expected, got in zip(truth[:, :depth], found[:, :depth], strict=True):
        expected = expected[expected >= 0]
        hits += len(np.intersect1d(expected, got))
        total += len(expected)
    return 1.0 if total == 0 else hits / total


def _leaves_out(matrix: sp.csr_matrix, cut: float) -> bool:
    """True when some term is in more than `cut` articles: a search with that cut is not
    the exact one."""
    return bool(np.bincount(matrix.indices, minlength=matrix.shape[1]).max(initial=0) > cut)


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).permutation(n)[:size])


@dataclass(frozen=True)
class RecallCheck:
    """The exact top lists of a sample of articles, to measure a searched table against."""

    rows: np.ndarray
    truth: np.ndarray

    def recall(self, found: np.ndarray, depth: int = 10) -> float:
        """Share of the sample's exact top-`depth` neighbours that the table `found` holds."""
        return _recall(self.truth, found[self.rows], depth)


def choose_cut(
    matrix: sp.csr_matrix, signals: PairSignals, s: TrainSettings, threads: int = 1
) -> tuple[SearchIndex, int, RecallCheck | None]:
    """The search index to rank with, its cut, and the check of the table it finds (None
    when the search is exact, or `recall_sample` is 0). The cut is `search_common_df`, or
    the lowest of `CUT_STEPS` of it whose recall@10 against the exact search, on a sample
    of `recall_sample` articles, reaches `search_recall_target` (0: the cut as set).

    The cut that keeps recall depends on the archive: on 100k realistic articles a cut of
    2,000 finds 0.986 of the exact top ten, on a million 500 finds 0.991 (a neighbour there
    shares more telling words), and each lower step makes the search's product much
    cheaper. The cuts are tried on the exact search's posting lists (`TrialIndex`), and
    one exact search serves the choice and the check, on different samples (the same when
    `recall_sample` covers the archive), so the figure in the manifest is not the one the
    choice was made on. The matrix is copied once, to those posting lists, which are then
    pruned in place into the index searched with."""
    cut = s.search_common_df
    if not s.recall_sample or not _leaves_out(matrix, cut):
        return search_index(matrix, cut), cut, None  # exact, or nothing to measure with
    n = matrix.shape[0]
    checked, chooser = _sample(n, s.recall_sample, 0), _sample(n, s.recall_sample, 1)
    rows = np.union1d(checked, chooser)
    postings = matrix.tocsc()
    exact = search_index(matrix, np.inf, postings)  # its lists are views of `postings`
    truth = np.vstack([
        rank_block(matrix, rows[a:b], signals, s, index=exact, threads=threads)[0]
        for a, b in _blocks(len(rows), s.chunk_size)
    ])  # fmt: skip
    check = RecallCheck(checked, truth[np.searchsorted(rows, checked)])
    if s.search_recall_target:
        cut = _lowest_cut(matrix, exact.rare_t, chooser, truth[np.searchsorted(rows, chooser)],
                          signals, s, threads)  # fmt: skip
    # Pruning may copy the arrays it keeps: no view of the full ones may outlive this.
    del exact
    return search_index(matrix, cut, postings), cut, check


def _lowest_cut(
    matrix: sp.csr_matrix, every_term: sp.csr_matrix, rows: np.ndarray, truth: np.ndarray,
    signals: PairSignals, s: TrainSettings, threads: int,
) -> int:  # fmt: skip
    """The lowest of `CUT_STEPS` of `search_common_df` whose search finds, for the sample
    `rows`, at least `search_recall_target` of their exact top ten `truth`; else the cut
    as set. Tried on `every_term`, the exact search's posting lists."""
    df = np.diff(every_term.indptr)
    lower = sorted({max(1, round(s.search_common_df * step)) for step in CUT_STEPS})
    for cut in (c for c in lower if c < s.search_common_df):
        trial = TrialIndex(every_term, df > cut)
        found, _ = rank_block(matrix, rows, signals, s, index=trial, threads=threads)
        if _recall(truth, found) >= s.search_recall_target:
            return cut
    return s.search_common_df


def _blocks(n: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, size):
        yield start, min(n, start + size)


def rank_neighbours(
    matrix: sp.csr_matrix,
    signals: PairSignals,
    settings: TrainSettings,
    progress: Callable[[int], None] | None = None,
    index: SearchIndex | None = None,
) -> Neighbours:
    """The top-K neighbour table for every row of `matrix`, computed block by block;
    `index`: its search index (`choose_cut`), made here from `search_common_df` if None."""
    n = matrix.shape[0]
    matrix = matrix.tocsr()
    index = search_index(matrix, settings.search_common_df) if index is None else index
    blocks = list(_blocks(n, settings.chunk_size))
    # Small archives finish faster than threads start.
    n_jobs = settings.n_jobs if n >= settings.parallel_min_articles else 1
    if not distributed.active():
        # The work is the compiled top products and pair products, both on numba's
        # threads: one process, no copies of the matrices, no workers' memory.
        threads = effective_n_jobs(n_jobs)
        ranked: Iterable[tuple[np.ndarray, np.ndarray]] = (
            rank_block(matrix, np.arange(a, b), signals, settings, index=index,
                       threads=threads)
            for a, b in blocks
        )  # fmt: skip
    else:
        parallel = distributed.parallel(n_jobs, return_as="generator")
        ranked = parallel(
            delayed(rank_block)(matrix, np.arange(a, b), signals, settings, index=index)
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
