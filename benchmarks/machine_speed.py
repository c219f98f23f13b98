"""A fixed workload that says how fast this machine is, so that timings taken on
different machines (or on the same VM on different days) can be compared.

    .venv/bin/python benchmarks/machine_speed.py

Two figures, each the best of three runs of the same work on fixed data: `python`, the
interpreter's speed at what training's text analysis does (split, lower-case, count);
`sparse`, the speed of compiled sparse arithmetic (scipy's sparse product of fixed
matrices). Smaller is faster. VMs of the same kind differ: the same code trained 100k
realistic articles in 76.6 s on one and in 131.1 s on another, so a timing means little
without these figures beside it. They also move on one VM from minute to minute (sparse
0.31–1.25 s in one session): take them just before the timing they go with.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RUNS = 3


def _best(work: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def _python_work() -> Callable[[], object]:
    words = [f"w{n}" for n in np.random.default_rng(0).zipf(1.3, 400_000) % 50_000]
    documents = [" ".join(words[start : start + 400]) for start in range(0, len(words), 400)]

    def work() -> object:
        counts: Counter[str] = Counter()
        for document in documents * 10:
            counts.update(document.lower().split())
        return counts

    return work


def _sparse_work() -> Callable[[], object]:
    rng = np.random.default_rng(0)
    rows, columns, per_row = 20_000, 200_000, 150
    indices = (rng.zipf(1.2, rows * per_row) % columns).astype(np.int32)
    indptr = np.arange(0, rows * per_row + 1, per_row)
    matrix = sp.csr_matrix(
        (rng.random(rows * per_row, dtype=np.float32), indices, indptr), shape=(rows, columns)
    )
    matrix.sum_duplicates()
    transposed = matrix.T.tocsr()
    return lambda: matrix[:1000] @ transposed


def machine_speed() -> dict[str, float]:
    """Seconds of the fixed Python and sparse workloads on this machine (best of three)."""
    return {"python": _best(_python_work()), "sparse": _best(_sparse_work())}


def describe() -> str:
    figures = machine_speed()
    return f"machine speed: python {figures['python']:.2f} s, sparse {figures['sparse']:.2f} s"


if __name__ == "__main__":
    print(describe())
