"""The neighbour step alone on one archive: the exact search against the search that
leaves common terms out of its candidate search, at several `search_common_df` values.

    .venv/bin/python benchmarks/neighbour_search.py --archive PATH [--common 1000,3000,10000]
        [--pool 300] [--threads 2]

Prints wall seconds, the terms left out and recall@10 against the exact search on a
sample of 1,000 articles.
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
from relata.training.neighbours import PairSignals, pair_signals, rank_block, rank_neighbours
from relata.training.settings import TrainSettings

SAMPLE = 1000


def search_inputs(archive: Path) -> tuple[pd.DataFrame, sp.csr_matrix, PairSignals]:
    """The articles of `archive`, their text vectors (no tags) and pair signals, as the
    search benchmarks rank them."""
    articles = load_archive((archive,), 0.01).articles.reset_index(drop=True)
    articles["language"] = article_languages(articles, "en")
    matrix = ArticleVectorizer(tag_weight=0.0).fit_transform(articles).tocsr()
    return articles, matrix, pair_signals(articles, 0.02)


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
    parser.add_argument("--common", default="1000,3000,10000", help="search_common_df values.")
    parser.add_argument("--pool", type=int, default=TrainSettings.search_pool, help="search_pool.")
    parser.add_argument("--threads", type=int, default=2, help="Threads of the products.")
    options = parser.parse_args()
    settings = dataclasses.replace(
        TrainSettings(), recency_weight=0.2, recency_half_life_days=365.0,
        n_jobs=options.threads, search_pool=options.pool,
    )  # fmt: skip
    _, matrix, signals = search_inputs(options.archive)
    n = matrix.shape[0]
    df = np.bincount(matrix.indices, minlength=matrix.shape[1])
    rows = np.sort(np.random.default_rng(0).permutation(n)[:SAMPLE])
    truth, _ = rank_block(matrix, rows, signals, settings, exact=True)
    print(f"{n} articles, {matrix.shape[1]} features, {matrix.nnz / n:.0f} per article")
    for common in [n, *(int(c) for c in options.common.split(","))]:
        chosen = dataclasses.replace(settings, search_common_df=common)
        started = time.perf_counter()
        found = rank_neighbours(matrix, signals, chosen).index
        seconds = time.perf_counter() - started
        name = "exact" if common >= n else f"common_df {common}"
        print(f"{name:<16} {seconds:8.1f} s  terms left out {(df > common).sum():>6}  "
              f"recall@10 {recall(found, truth, rows):.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
