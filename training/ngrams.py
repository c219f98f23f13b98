"""Word n-grams of token streams: the pruned vocabulary with its document frequencies,
and count matrices, without ever holding the unpruned vocabulary as text.

An n-gram is a number until it is known to be kept: a word is its stem id, a longer
n-gram is (index of its first n - 1 words among the frequent (n - 1)-grams) × stems + its
last word. "Frequent" is in at least `min_df` articles; an n-gram is never in more
articles than its first n - 1 words, so n-grams of an infrequent prefix are not even
counted. Document frequencies are counted a chunk of articles at a time (each chunk's
distinct codes with their counts), then summed: memory grows with the distinct n-grams,
not with the text. Columns are the kept terms in alphabetical order, as scikit-learn's
vectorisers number them, and the counts are what `CountVectorizer` gives with
Relata's analyser (a test checks both).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp

from relata.training.compiled import compiled, compiled_serial
from relata.training.tokens import Tokens

ARTICLES = 20000  # articles counted together: bounds the temporary arrays
MERGE = 30_000_000  # (code, count) pairs held before they are summed into one table
PART_ARTICLES = 250_000  # archives with more articles count their n-grams in several passes


@dataclass(frozen=True)
class Vocabulary:
    """Kept n-grams: their terms in column order, document frequencies, and how to find
    a code's column (`frequent[k]`: the codes of frequent (k + 1)-grams; `columns[k]`:
    each one's column, -1 when `max_df` cut it)."""

    terms: list[str]
    df: np.ndarray
    frequent: list[pd.Index]
    columns: list[np.ndarray]
    radix: int  # number of stems: the base n-gram codes are written in

    def count_tables(self) -> tuple[np.ndarray, ...]:
        """The vocabulary as flat arrays for `count_matrix`: each word's index among the frequent
        words (-1: none), then per longer length the frequent codes, where each prefix's codes
        start (they are sorted, so a prefix's codes are one run), and every length's columns;
        with the offsets of each length in those arrays."""
        frequent = [index.to_numpy() for index in self.frequent]
        words = np.full(self.radix, -1, dtype=np.int64)
        words[frequent[0]] = np.arange(len(frequent[0]))
        longer = frequent[1:]
        bounds = [
            np.searchsorted(codes, np.arange(len(prefix) + 1) * self.radix)
            for prefix, codes in zip(frequent, longer, strict=False)
        ]  # fmt: skip
        code_at = np.cumsum([0, *map(len, longer)])
        bound_at = np.cumsum([0, *map(len, bounds)])
        column_at = np.cumsum([0, *map(len, self.columns)])

        def flat(parts: list[np.ndarray], offsets: np.ndarray | None = None) -> np.ndarray:
            if offsets is not None:
                parts = [part + offset for part, offset in zip(parts, offsets, strict=False)]
            return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

        return (
            words, flat(longer), flat(bounds, code_at), bound_at, code_at,
            flat(self.columns), column_at,
        )  # fmt: skip


def _find(frequent: pd.Index, code: np.ndarray) -> np.ndarray:
    """Position of each code among the `frequent` ones, -1 where absent (a hash lookup:
    several times faster than a binary search over millions of random codes)."""
    return frequent.get_indexer(code)


def _levels(
    ids: np.ndarray, room: np.ndarray, frequent: list[pd.Index], radix: int, length: int
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """For n = 1 … `length`: each position's n-gram code (-1 where the segment ends first
    or its prefix is not frequent) and its index in `frequent[n - 1]` when that is known."""
    index: np.ndarray | None = None
    for n in range(1, length + 1):
        if n == 1:
            code = ids.astype(np.int64)
        else:
            follow = np.full(len(ids), -1, dtype=np.int64)
            follow[: max(0, len(ids) - n + 1)] = ids[n - 1 :]
            found = (room >= n) & (index >= 0) & (follow >= 0)
            code = np.where(found, index * radix + follow, -1)
        index = _find(frequent[n - 1], code) if n <= len(frequent) else None
        yield code, index


def _chunks(tokens: Tokens, fields: tuple[str, ...]) -> Iterator[tuple[np.ndarray, ...]]:
    """A chunk of articles at a time: the stem ids of their `fields`, each position's room
    to its segment's end, and its article (numbered within the chunk)."""
    n = tokens.n
    for a in range(0, n, ARTICLES):
        b = min(n, a + ARTICLES)
        parts = []
        for name in fields:
            ids, starts = tokens.field(name)
            lengths = np.diff(starts[a : b + 1])
            ends = np.repeat(starts[a + 1 : b + 1], lengths)
            positions = np.arange(starts[a], starts[b])
            parts.append((ids[starts[a] : starts[b]], ends - positions,
                          np.repeat(np.arange(b - a), lengths)))  # fmt: skip
        yield tuple(np.concatenate(column) for column in zip(*parts, strict=True))


def _distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values (a sort: `np.unique`'s hash table is far slower on
    millions of distinct 64-bit codes)."""
    ordered = np.sort(values)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))[: len(ordered)]]


def _summed(codes: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct code with the sum of its counts."""
    order = np.argsort(codes)
    ordered = codes[order]
    first = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1]))[: len(codes)])
    return ordered[first], np.add.reduceat(counts[order], first) if len(first) else counts


def _articles_per_code(code: np.ndarray, article: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A chunk's distinct codes and how many of its articles each is in."""
    span = int(code.max()) + 1 if len(code) else 1
    if span * (int(article.max(initial=0)) + 1) >= 2**62:  # (article, code) pairs overflow
        local, code = np.unique(code, return_inverse=True)
        span = len(local)
    else:
        local = None
    pairs = _distinct(article * span + code)
    found, counts = np.unique(pairs % span, return_counts=True)
    return (found if local is None else local[found]), counts


def _chunk_frequencies(
    chunk: tuple[np.ndarray, ...], frequent: list[pd.Index], radix: int, part: int, parts: int
) -> tuple[np.ndarray, np.ndarray]:
    """A chunk's distinct codes of the next n-gram length in remainder `part` modulo
    `parts`, and how many of its articles each is in. A function of its own so that its
    arrays are freed before the next chunk is made."""
    ids, room, article = chunk
    *_, (code, _) = _levels(ids, room, frequent, radix, len(frequent) + 1)
    keep = (code >= 0) & (code % parts == part)
    codes, counts = _articles_per_code(code[keep], article[keep])
    return codes, counts.astype(np.int32)


def _document_frequencies(
    tokens: Tokens, frequent: list[pd.Index], radix: int, min_df: int
) -> tuple[np.ndarray, np.ndarray]:
    """The codes of the next n-gram length found in at least `min_df` articles, sorted,
    and the articles each is in. On a big archive the codes are counted in `parts`
    passes, each over the codes of one remainder modulo `parts`: the table of every
    distinct bigram with its count (most of them in one article) is what held the
    memory at a million articles. Words are counted in one pass: there are never more of
    them than stems."""
    parts = -(-tokens.n // PART_ARTICLES) if frequent else 1
    kept_codes, kept_df = [], []
    for part in range(parts):
        found, counts, pending = [], [], 0
        for chunk in _chunks(tokens, tokens.fields):
            chunk_codes, chunk_counts = _chunk_frequencies(chunk, frequent, radix, part, parts)
            del chunk  # before the next one is made
            found.append(chunk_codes)
            counts.append(chunk_counts)
            pending += len(chunk_codes)
            if pending > MERGE:  # sum what is held so far: a code found in many chunks is one
                merged = _summed(np.concatenate(found), np.concatenate(counts))
                found, counts, pending = [merged[0]], [merged[1]], len(merged[0])
        if found:
            codes, df = _summed(np.concatenate(found), np.concatenate(counts))
            del found, counts
            kept_codes.append(codes[df >= min_df])
            kept_df.append(df[df >= min_df])
    if not kept_codes:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)
    codes, df = np.concatenate(kept_codes), np.concatenate(kept_df)
    order = np.argsort(codes, kind="stable")
    return codes[order], df[order]


def _alphabetical(words: np.ndarray) -> np.ndarray:
    """The order of n-grams spelled as their words joined by spaces (`words`: one row per
    n-gram, each word's alphabetical rank, -1 past its end), found on the ranks: a stem
    holds only word characters, all above the space, so "a b" sorts after "a" and before
    "a0" exactly as the row (a, b) sorts after (a, -1) and before (a0, -1). Sorting the
    spelled terms took seconds per million. The rows are read as numbers in base
    (ranks + 1) where those fit in 64 bits (one sort), else sorted column by column."""
    base = int(words.max(initial=0)) + 2
    if base ** words.shape[1] >= 2**63:
        return np.lexsort(words.T[::-1])
    number = np.zeros(len(words), dtype=np.int64)
    for column in words.T:
        number = number * base + (column + 1)
    return np.argsort(number)


def fit_vocabulary(
    tokens: Tokens, length: int, min_df: int, max_df: float
) -> Vocabulary | None:
    """The n-grams of up to `length` words in at least `min_df` and at most `max_df`
    articles (counts, as `CountVectorizer`'s cut-offs are), or None when none is."""
    radix = max(1, len(tokens.stems))
    stems = tokens.stems
    frequent: list[pd.Index] = []
    spelled: list[list[str]] = []
    kept_terms: list[str] = []
    kept_df, kept_at, kept_words = [], [], []
    for n in range(1, length + 1):
        codes, df = _document_frequencies(tokens, frequent, radix, min_df)
        frequent.append(pd.Index(codes))
        df = df.astype(np.int64)
        if n == 1:
            spelled.append([stems[c] for c in codes.tolist()])
            rank = np.full(radix, -1, dtype=np.int32)
            by_text = sorted(range(len(codes)), key=spelled[0].__getitem__)
            rank[codes[by_text]] = np.arange(len(codes), dtype=np.int32)
            words = rank[codes][:, None]  # each frequent n-gram's words' ranks
        else:
            prefix, last = np.divmod(codes, radix)
            spelled.append(list(map(" ".join, zip(
                map(spelled[-1].__getitem__, prefix.tolist()),
                map(stems.__getitem__, last.tolist()), strict=True,
            ))))  # fmt: skip
            words = np.column_stack((words[prefix], rank[last]))
        small = np.flatnonzero(df <= max_df)
        kept_terms += [spelled[-1][i] for i in small.tolist()]
        kept_df.append(df[small])
        kept_at.append((n - 1, small))
        kept_words.append(np.pad(words[small], ((0, 0), (0, length - n)), constant_values=-1))
        if not len(frequent[-1]):
            break
    if not kept_terms:
        return None
    order = _alphabetical(np.concatenate(kept_words))
    column_of = np.empty(len(order), dtype=np.int64)
    column_of[order] = np.arange(len(order))
    columns, start = [], 0
    for level, small in kept_at:
        column = np.full(len(frequent[level]), -1, dtype=np.int64)
        column[small] = column_of[start : start + len(small)]
        columns.append(column)
        start += len(small)
    df = np.concatenate(kept_df)[order]
    return Vocabulary(
        list(map(kept_terms.__getitem__, order.tolist())), df, frequent, columns, radix
    )


@compiled
def _counts(
    ids: np.ndarray, starts: np.ndarray, radix: int, words: np.ndarray, codes: np.ndarray,
    bounds: np.ndarray, bound_at: np.ndarray, code_at: np.ndarray, columns: np.ndarray,
    column_at: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(indptr, indices, data) of the counts of each segment's kept n-grams."""
    n, length = len(starts) - 1, len(column_at) - 1
    # Room for every n-gram each position may start; each segment's run is then sorted.
    every = np.empty((starts[-1] - starts[0]) * length, dtype=np.int64)
    found = np.zeros(n, dtype=np.int64)
    distinct = np.zeros(n + 1, dtype=np.int64)
    for a in numba.prange(n):
        run = every[(starts[a] - starts[0]) * length : (starts[a + 1] - starts[0]) * length]
        found[a] = _segment(ids, starts[a], starts[a + 1], radix, words, codes, bounds,
                            bound_at, code_at, columns, column_at, length, run)  # fmt: skip
        run = run[: found[a]]
        run.sort()
        kept = 0
        for i in range(len(run)):
            if i == 0 or run[i] != run[i - 1]:
                kept += 1
        distinct[a + 1] = kept
    indptr = np.cumsum(distinct)
    indices = np.empty(indptr[-1], dtype=np.int32)
    data = np.zeros(indptr[-1], dtype=np.float32)
    for a in numba.prange(n):
        run = every[(starts[a] - starts[0]) * length : (starts[a + 1] - starts[0]) * length]
        run, k = run[: found[a]], indptr[a] - 1
        for i in range(len(run)):
            if i == 0 or run[i] != run[i - 1]:
                k += 1
                indices[k] = run[i]
            data[k] += 1
    return indptr, indices, data


@compiled_serial
def _segment(
    ids: np.ndarray, start: int, end: int, radix: int, words: np.ndarray, codes: np.ndarray,
    bounds: np.ndarray, bound_at: np.ndarray, code_at: np.ndarray, columns: np.ndarray,
    column_at: np.ndarray, length: int, out: np.ndarray,
) -> int:  # fmt: skip
    """The columns of the kept n-grams starting in ids[start:end], written to `out` in
    text order; how many."""
    kept = 0
    for position in range(start, end):
        index = words[ids[position]] if ids[position] >= 0 else -1
        level = 0
        while index >= 0:
            column = columns[column_at[level] + index]
            if column >= 0:
                out[kept] = column
                kept += 1
            level += 1
            if level >= length or position + level >= end or ids[position + level] < 0:
                break
            # The n-gram one word longer: a binary search among its prefix's codes.
            bound = bound_at[level - 1] + index
            code = index * radix + ids[position + level]
            low, high = bounds[bound], bounds[bound + 1]
            while low < high:
                middle = (low + high) // 2
                if codes[middle] < code:
                    low = middle + 1
                else:
                    high = middle
            found = low < bounds[bound + 1] and codes[low] == code
            index = low - code_at[level - 1] if found else -1
    return kept


def count_matrix(
    tokens: Tokens, field: str, vocabulary: Vocabulary, tables: tuple[np.ndarray, ...] = ()
) -> sp.csr_matrix:
    """How often each kept term occurs in each article's `field` (float32 CSR, indices
    sorted). `tables`: `vocabulary.count_tables()`, made once by a caller counting many
    chunks. Holds 8 bytes per token and n-gram length: count a chunk of articles at a
    time."""
    ids, starts = tokens.field(field)
    tables = tables or vocabulary.count_tables()
    indptr, indices, data = _counts(ids, starts, vocabulary.radix, *tables)
    return sp.csr_matrix(
        (data, indices, indptr), shape=(tokens.n, len(vocabulary.terms)), dtype=np.float32
    )


def smooth_idf(df: np.ndarray, n: int) -> np.ndarray:
    """scikit-learn's smoothed idf, ln((1 + n) / (1 + df)) + 1, in float32 as its
    `TfidfVectorizer(dtype=np.float32)` computes it."""
    return np.log((n + 1) / (df.astype(np.float32) + 1.0)) + 1.0
