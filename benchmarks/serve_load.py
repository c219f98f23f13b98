"""Relata's read API against a bare Flask endpoint, both under gunicorn, driven by wrk.

    .venv/bin/python benchmarks/serve_load.py [--seconds 15] [--rounds 3] [--connections 16]
                                              [--workers 2]

Both servers run the same gunicorn settings (`relata.service.gunicorn_conf`: sync workers,
access log); the bare one returns a precomputed related list of the same size, so the
ratio of requests/s is what Relata's own work costs. Both stay up and take turns, round
after round (each going first in every other round), so a slow spell of the machine (wrk
shares its cores) lands on both: each round's ratio is printed, then the median. Goals:
Relata >= 0.8 of the bare endpoint, p99 <= 25 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.demo import demo_slugs, train_demo
from benchmarks.loadgen import describe, require_wrk, run_wrk
from relata.service.gunicorn_conf import gunicorn_args
from tests.serving import free_port, served, wait_until

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def bare_server(body: Path, workers: int) -> Iterator[str]:
    """The base URL of the bare endpoint answering `body`, under Relata's gunicorn settings."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *gunicorn_args("127.0.0.1", port, workers),
         "--chdir", str(ROOT), "benchmarks.bare_app:create_app()"],
        env={**os.environ, "RELATA_BARE_BODY": str(body), "RELATA_MODELS_DIR": str(body.parent)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: urllib.request.urlopen(f"{base}/v1/related/x").status == 200)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15, help="Seconds of load per turn.")
    parser.add_argument("--rounds", type=int, default=3, help="Turns each server takes.")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections.")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for both.")
    options = parser.parse_args()
    if options.rounds < 1:
        parser.error("--rounds must be at least 1")
    require_wrk()
    slugs = demo_slugs()
    with tempfile.TemporaryDirectory() as folder:
        models = Path(folder) / "models"
        train_demo(models)
        with served(models, workers=options.workers) as relata:
            body = Path(folder) / "body.json"
            with urllib.request.urlopen(f"{relata}/v1/related/{slugs[0]}") as response:
                body.write_bytes(response.read())
            with bare_server(body, options.workers) as bare:
                print(f"body {body.stat().st_size} bytes, "
                      f"{options.workers} sync workers, wrk -c{options.connections}")  # fmt: skip
                ratios = []
                servers = [("relata", relata), ("bare", bare)]
                for turn in range(options.rounds):
                    figures = {}
                    # Each goes first in every other round: neither always meets a warmer
                    # machine.
                    for name, base in servers[:: 1 if turn % 2 == 0 else -1]:
                        run_wrk(base, "/v1/related/", slugs, 3, options.connections)  # warm-up
                        figures[name] = run_wrk(
                            base, "/v1/related/", slugs, options.seconds, options.connections
                        )
                        print(describe(name, figures[name]))
                    ratios.append(figures["relata"]["rps"] / figures["bare"]["rps"])
                    print(f"relata / bare requests/s: {ratios[-1]:.2f}")
    print(f"median of {len(ratios)} rounds: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
