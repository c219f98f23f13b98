"""Memory of the served model: per-worker and total, RSS and PSS, for N articles.

    .venv/bin/python benchmarks/serve_memory.py [--articles 100000] [--workers 4] [--seconds 30]

Traffic first (wrk, random slugs, for `--seconds`), so the workers have touched the pages
a real day of requests would. PSS shares each memory-mapped page among the processes
that map it, so the PSS total is what the machine really spends; RSS counts shared pages
once per worker.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.loadgen import describe, require_wrk, run_wrk
from benchmarks.synthetic import write_synthetic_archive
from tests.serving import served


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000, help="Synthetic archive size.")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers.")
    parser.add_argument("--seconds", type=float, default=30, help="Seconds of traffic first.")
    options = parser.parse_args()
    require_wrk()
    with tempfile.TemporaryDirectory() as folder:
        archive = write_synthetic_archive(Path(folder) / "a.jsonl", options.articles)
        models = Path(folder) / "models"
        subprocess.run([sys.executable, "-m", "relata.cli.main", "train", "--quiet", "--archive",
                        str(archive), "--models", str(models)], check=True)  # fmt: skip
        with served(models, workers=options.workers) as base:
            slugs = [f"synthetic-{i}" for i in range(options.articles)]
            urllib.request.urlopen(f"{base}/v1/related/{slugs[0]}").read()
            traffic = run_wrk(base, "/v1/related/", slugs, options.seconds)
            port = base.rsplit(":", 1)[1]
            master = next(
                p for p in psutil.process_iter(["cmdline"])
                if p.info["cmdline"] and f"127.0.0.1:{port}" in p.info["cmdline"]
            )  # fmt: skip
            processes = [("master", master)] + [("worker", w) for w in master.children()]
            rows = [(name, p.pid, p.memory_full_info()) for name, p in processes]
    print(f"{options.articles} articles, {len(rows) - 1} workers, after this traffic:")
    print(describe("relata", traffic))
    for name, pid, info in rows:
        print(f"{name} {pid}: RSS {info.rss / 2**20:7.1f} MB  PSS {info.pss / 2**20:7.1f} MB")
    print(f"total (master + workers): RSS {sum(i.rss for *_, i in rows) / 2**20:.0f} MB, "
          f"PSS {sum(i.pss for *_, i in rows) / 2**20:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
