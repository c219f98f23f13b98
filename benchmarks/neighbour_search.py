"""The neighbour step alone, three ways, on one archive: Relata's blocked search (pruned
queries above `exact_below`), the same search exact, and `sparse_dot_topn`'s
multi-threaded sparse top-n product (exact) followed by the same re-scoring.

    .venv/bin/python benchmarks/neighbour_search.py --archive PATH [--threads 2]

Prints wall seconds and recall@10 against the exact search on a sample of 1,000 articles.
Needs `pip install sparse_dot_topn` for the third row.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from relata.training.archive import load_archive
from relata.training.features import ArticleVectorizer
from relata.training.language import article_languages
from relata.training.neighbours import (
    PairSignals,
    finish,
    pair_signals,
    rank_block,
    rank_neighbours,
)
from relata.training.settings import TrainSettings

SAMPLE = 1000


def search_inputs(archive: Path) -> tuple[pd.DataFrame, sp.csr_matrix, PairSignals]:
    """The articles of `archive`, their text vectors (no tags) and pair signals, as the
    search benchmarks rank them."""
    articles = load_archive((archive,), 0.01).articles.reset_index(drop=True)
    articles["language"] = article_languages(articles, "en")
    matrix = ArticleVectorizer(tag_weight=0.0).fit_transform(articles).tocsr()
    return articles, matrix, pair_signals(articles, 0.02)


def top_n_search(
    matrix: sp.csr_matrix, signals: PairSignals, settings: TrainSettings, threads: int
) -> np.ndarray:
    """Exact candidates from sparse_dot_topn (the article itself dropped), re-scored."""
    from sparse_dot_topn import sp_matmul_topn

    n, width = matrix.shape[0], settings.candidates + 1
    product = sp_matmul_topn(matrix, matrix.T.tocsr(), top_n=width, n_threads=threads)
    counts = np.diff(product.indptr)
    rows = np.repeat(np.arange(n), counts)
    slot = np.arange(product.nnz) - np.repeat(product.indptr[:-1], counts)
    cols = np.full((n, width), -1, dtype=np.int32)
    content = np.full((n, width), -np.inf)
    cols[rows, slot] = product.indices
    content[rows, slot] = np.round(product.data.astype(np.float64), 6)
    own = cols == np.arange(n)[:, None]
    cols[own], content[own] = -1, -np.inf
    index = []
    for start in range(0, n, settings.chunk_size):
        part = np.arange(start, min(n, start + settings.chunk_size))
        index.append(finish(part, cols[part], content[part], signals, settings)[0])
    return np.vstack(index)


def recall(found: np.ndarray, truth: np.ndarray, rows: np.ndarray) -> float:
    hits = total = 0
    for expected, got in zip(truth[:, :10], found[rows, :10], strict=True):
        expected = expected[expected >= 0]
        hits += len(np.intersect1d(expected, got))
        total += len(expected)
    return hits / max(1, total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, required=True, help="Archive to search.")
    parser.add_argument("--threads", type=int, default=2, help="Processes / threads.")
    options = parser.parse_args()
    settings = dataclasses.replace(
        TrainSettings(), recency_weight=0.2, recency_half_life_days=365.0,
        n_jobs=options.threads,
    )  # fmt: skip
    _, matrix, signals = search_inputs(options.archive)
    n = matrix.shape[0]
    rows = np.sort(np.random.default_rng(0).permutation(n)[:SAMPLE])
    truth, _ = rank_block(matrix, rows, signals, settings, exact=True)
    print(f"{n} articles, {matrix.shape[1]} features, {matrix.nnz / n:.0f} per article")
    exact = dataclasses.replace(settings, query_mass=1.0)
    pruned = dataclasses.replace(settings, exact_below=0)
    cases = [
        ("blocked, pruned", lambda: rank_neighbours(matrix, signals, pruned).index),
        ("blocked, exact", lambda: rank_neighbours(matrix, signals, exact).index),
        ("sparse_dot_topn", lambda: top_n_search(matrix, signals, settings, options.threads)),
    ]
    for name, run in cases:
        started = time.perf_counter()
        found = run()
        seconds = time.perf_counter() - started
        print(f"{name:<16} {seconds:8.1f} s  recall@10 {recall(found, truth, rows):.4f}")


if __name__ == "__main__":
    main()
