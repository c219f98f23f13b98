"""Promote and roll back models while wrk drives the served app; report errors and latency.

    .venv/bin/python benchmarks/swap_under_load.py [--before 15] [--during 45] [--every 5]

Trains two versions of the demo archive, serves them with `relata serve` (gunicorn,
2 workers), runs wrk on random slugs with no swaps, then again while the live version is
switched every few seconds. Goal: 0 errors, latency during swaps like before them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.demo import demo_slugs, relata, train_demo
from benchmarks.loadgen import describe, require_wrk, run_wrk
from tests.serving import served


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=float, default=15, help="Seconds of load without swaps.")
    parser.add_argument("--during", type=float, default=45, help="Seconds of load with swaps.")
    parser.add_argument("--every", type=float, default=5, help="Seconds between swaps.")
    options = parser.parse_args()
    require_wrk()
    with tempfile.TemporaryDirectory() as folder:
        models = Path(folder) / "models"
        train_demo(models)
        second = train_demo(models, "recency_weight=0.6")
        slugs = demo_slugs()
        with served(models, RELATA_RELOAD_INTERVAL="1") as base:
            run_wrk(base, "/v1/related/", slugs, 3)  # warm-up
            before = run_wrk(base, "/v1/related/", slugs, options.before)
            swaps, stop = [], threading.Event()

            def swap() -> None:
                while not stop.wait(options.every):
                    command = "rollback" if len(swaps) % 2 == 0 else "promote"
                    relata(
                        command,
                        *([second] if command == "promote" else []),
                        "--models",
                        str(models),
                    )
                    swaps.append(command)

            swapper = threading.Thread(target=swap)
            swapper.start()
            during = run_wrk(base, "/v1/related/", slugs, options.during)
            stop.set()
            swapper.join()
    print(describe("before", before))
    print(describe("during", during))
    print(f"swaps during the load: {len(swaps)} ({', '.join(swaps)})")


if __name__ == "__main__":
    main()
