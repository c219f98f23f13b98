"""Training wall time, peak memory and search recall at several archive sizes, against
the naive recipe.

    .venv/bin/python benchmarks/train_scale.py [--sizes 10000,100000,1000000] [--naive 10000]
        [--kind realistic|short] [--archives DIR]

Each case runs in its own process; peak memory is the largest RSS of that process and
all its children (joblib workers) together, sampled every 50 ms. Recall is recall@10 of
the pruned neighbour search against the exact search, on the sample training measures
(`recall_sample` articles; "exact" where no term is in more than `search_common_df`
articles, so none was left out of the search).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NAIVE_ROWS = 1000  # rows of the naive recipe's dense similarity block
TREE_SECONDS = 1.0  # how often the measured process's children are looked for


def _tree_rss(processes: list[psutil.Process]) -> int:
    total = 0
    for proc in processes:
        with contextlib.suppress(psutil.Error):  # a worker may exit while we look
            total += proc.memory_info().rss
    return total


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def measure(args: list[str]) -> tuple[float, int, str, float]:
    """Run this script with `args` in a child process: (seconds, peak bytes, its output,
    CPU seconds of it and the workers it waited for). On a shared machine CPU seconds
    say more than wall seconds: other people's work stretches the wall time."""
    cpu = _children_cpu()
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)
    watched, peak, tree, found_at = psutil.Process(child.pid), 0, [], 0.0
    while child.poll() is None:
        # Finding the children reads every process of the machine (0.8 ms here, 30 CPU
        # seconds of a 15-minute run): it is done once a second, their memory read 20 times.
        if time.perf_counter() - found_at > TREE_SECONDS:
            with contextlib.suppress(psutil.Error):  # the case may have just finished
                tree, found_at = [watched, *watched.children(recursive=True)], time.perf_counter()
        peak = max(peak, _tree_rss(tree))
        time.sleep(0.05)
    output = child.stdout.read() if child.stdout else ""
    if child.returncode:
        raise SystemExit(f"case {args} failed with exit code {child.returncode}")
    return time.perf_counter() - started, peak, output.strip(), _children_cpu() - cpu


def run_relata(archive: Path) -> None:
    from relata.training.pipeline import Source, train
    from relata.training.settings import TrainSettings

    with tempfile.TemporaryDirectory() as models:
        report = train(Source((archive,)), Path(models), TrainSettings())
        recall = report.evaluation["search_recall_at_10"]
        print(json.dumps({"recall": recall, "steps": report.timings}))


def run_naive(archive: Path) -> None:
    """TfidfVectorizer, then X·Xᵀ a block of rows at a time and a full argsort per row
    (the whole N×N product does not fit in memory past ~40,000 articles)."""
    import numpy as np
    import pandas as pd
    from sklearn.feature_extraction.text import TfidfVectorizer

    articles = pd.read_json(archive, lines=True)
    text = articles["title"] + " " + articles["summary"] + " " + articles["body"]
    matrix = TfidfVectorizer().fit_transform(text)
    transposed = matrix.T.tocsr()
    rows = 0
    for start in range(0, matrix.shape[0], NAIVE_ROWS):
        similarity = (matrix[start : start + NAIVE_ROWS] @ transposed).toarray()
        own = np.arange(similarity.shape[0])
        similarity[own, start + own] = -1
        rows += len(np.argsort(-similarity, axis=1)[:, :50])
    print(json.dumps({"rows": rows}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="Archive sizes for Relata.")
    parser.add_argument(
        "--naive", type=int, default=10000, help="Size for the naive recipe (0: none)."
    )
    parser.add_argument(
        "--kind", choices=["realistic", "short"], default="realistic",
        help="realistic: bodies of ~450 words, a growing vocabulary (benchmarks/realistic.py); "
        "short: titles and summaries of the demo archive (benchmarks/synthetic.py).",
    )  # fmt: skip
    parser.add_argument(
        "--archives", type=Path,
        help="Keep the generated archives in DIR as KIND-SIZE.jsonl and reuse them on the "
        "next run (a million realistic articles take many minutes to write).",
    )  # fmt: skip
    parser.add_argument("--case", choices=["relata", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--archive", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.case == "relata":
        return run_relata(options.archive)
    if options.case == "naive":
        return run_naive(options.archive)

    from benchmarks.machine_speed import describe
    from benchmarks.realistic import write_realistic_archive
    from benchmarks.synthetic import write_synthetic_archive

    write = write_realistic_archive if options.kind == "realistic" else write_synthetic_archive
    print(f"machine: {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB")
    print(describe())  # timings from different machines compare only through these figures
    print(f"archive: {options.kind} synthetic articles")
    print(f"{'recipe':<8} {'articles':>9} {'seconds':>8} {'CPU s':>8} {'peak MB':>8} {'recall':>7}"
          "  steps")  # fmt: skip
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = options.archives or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        sizes = sorted({int(s) for s in options.sizes.split(",")} | {options.naive} - {0})
        for size in sizes:
            archive = folder / f"{options.kind}-{size}.jsonl"
            if not archive.exists():
                write(archive.with_suffix(".part"), size).rename(archive)
            cases = ["relata"] + (["naive"] if size == options.naive else [])
            for case in cases:
                seconds, peak, output, cpu = measure(
                    ["--case", case, "--archive", str(archive)]
                )
                results[case, size] = seconds, peak
                figures = json.loads(output) if case == "relata" else {}
                recall = figures.get("recall")
                shown = "" if not figures else "exact" if recall is None else f"{recall:.4f}"
                steps = " ".join(f"{k} {v:.1f}" for k, v in figures.get("steps", {}).items())
                print(
                    f"{case:<8} {size:>9} {seconds:>8.1f} {cpu:>8.1f} {peak / 2**20:>8.0f} "
                    f"{shown:>7}  {steps}"
                )
    if ("naive", options.naive) in results and ("relata", options.naive) in results:
        (ns, nm), (rs, rm) = results["naive", options.naive], results["relata", options.naive]
        print(f"at {options.naive}: Relata/naive time {rs / ns:.2f}, peak memory {rm / nm:.2f}")


if __name__ == "__main__":
    main()
