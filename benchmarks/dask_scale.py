"""What a Dask cluster costs and buys for the neighbour search.

    .venv/bin/python benchmarks/dask_scale.py --archive PATH [--project 1000000,10000000]

1. The neighbour step in this process on two threads, then on a `LocalCluster` of two
   single-threaded worker processes on the same cores (what `--dask-scheduler` does):
   wall seconds of each, and whether the tables are identical.
2. Seconds per block of `chunk_size` queries (pruned search, one thread) on the whole
   archive and on its first quarter, giving how a block's cost grows with the archive
   (cost ∝ N^b: each query meets longer posting lists).
3. A projection, labelled as one, of the neighbour step for the `--project` sizes on K
   machines of this machine's cores: blocks × seconds per block at that size / (K ×
   cores), plus the matrix shipped to every worker once. The rest of training (features,
   hygiene, write) runs on the machine that trains and is not divided by K.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.neighbour_search import search_inputs
from relata.training.distributed import parallel_backend
from relata.training.neighbours import (
    PairSignals,
    pair_signals,
    rank_block,
    rank_neighbours,
    search_index,
)
from relata.training.settings import TrainSettings

BLOCKS = 6  # blocks timed per size
CORES = 2  # cores per projected machine (this one's)
COMMON_DF = 300  # terms left out of the candidate search: pruned even at 10,000 articles
NETWORK = 100e6  # bytes/s assumed for shipping the matrix to a worker (1 Gbit/s)


def per_block(matrix: sp.csr_matrix, signals: PairSignals, settings: TrainSettings) -> float:
    """Median seconds of one block of the pruned search, in this process."""
    index = search_index(matrix, settings.search_common_df)
    starts = np.linspace(0, matrix.shape[0] - settings.chunk_size, BLOCKS).astype(int)
    seconds = []
    for start in starts.tolist():
        rows = np.arange(start, start + settings.chunk_size)
        began = time.perf_counter()
        rank_block(matrix, rows, signals, settings, index=index)
        seconds.append(time.perf_counter() - began)
    return float(np.median(seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, required=True, help="Archive to rank.")
    parser.add_argument("--project", default="1000000,10000000", help="Sizes to project.")
    options = parser.parse_args()
    from dask.distributed import LocalCluster

    settings = dataclasses.replace(
        TrainSettings(), recency_weight=0.2, recency_half_life_days=365.0, n_jobs=CORES,
        parallel_min_articles=1, search_common_df=COMMON_DF,
    )  # fmt: skip
    articles, matrix, signals = search_inputs(options.archive)
    n = matrix.shape[0]
    print(f"{n} articles, {matrix.nnz / n:.0f} features per article, pruned search")

    began = time.perf_counter()
    local = rank_neighbours(matrix, signals, settings)
    local_seconds = time.perf_counter() - began
    with LocalCluster(n_workers=CORES, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster:  # fmt: skip
        began = time.perf_counter()
        with parallel_backend(cluster.scheduler_address):
            remote = rank_neighbours(matrix, signals, settings)
        dask_seconds = time.perf_counter() - began
    same = np.array_equal(local.index, remote.index) and np.array_equal(local.score, remote.score)
    print(f"one process, {CORES} threads: {local_seconds:.1f} s")
    print(f"LocalCluster, {CORES} workers: {dask_seconds:.1f} s "
          f"({dask_seconds / local_seconds:.2f}×), identical tables: {same}")  # fmt: skip

    quarter = n // 4
    small = matrix[:quarter]
    t_full = per_block(matrix, signals, settings)
    t_quarter = per_block(small, pair_signals(articles.iloc[:quarter], 0.02), settings)
    growth = np.log(t_full / t_quarter) / np.log(4)
    print(f"seconds per block of {settings.chunk_size}: {t_quarter:.3f} at {quarter}, "
          f"{t_full:.3f} at {n}: grows like N^{growth:.2f}")  # fmt: skip
    bytes_per_article = (matrix.data.nbytes + matrix.indices.nbytes) / n * 2  # matrix and Mᵀ
    print("PROJECTION (not measured): neighbour step, K machines of 2 cores")
    for size in (int(s) for s in options.project.split(",")):
        block = t_full * (size / n) ** growth
        blocks = size / settings.chunk_size
        ship = bytes_per_article * size / NETWORK
        figures = ", ".join(
            f"K={k}: {(blocks * block / (k * CORES) + (ship if k > 1 else 0)) / 60:.0f} min"
            for k in (1, 2, 4, 8, 16, 32)
        )
        print(f"  {size:>10,}: {block:.2f} s per block; {figures}")


if __name__ == "__main__":
    main()
