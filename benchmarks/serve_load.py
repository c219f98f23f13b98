"""Relata's read API against a bare Flask endpoint, both under gunicorn, driven by wrk.

    .venv/bin/python benchmarks/serve_load.py [--seconds 20] [--connections 16] [--workers 2]

Both servers run the same gunicorn settings (`relata.service.gunicorn_conf`: sync workers,
access log); the bare one returns a
precomputed related list of the same size, so the ratio of requests/s is what Relata's
own work costs. Goals: Relata >= 75% of the bare endpoint, p99 <= 25 ms.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.demo import demo_slugs, train_demo
from benchmarks.loadgen import describe, require_wrk, run_wrk
from relata.service.gunicorn_conf import gunicorn_args
from tests.serving import free_port, served, wait_until

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="Seconds of load per server.")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections.")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for both.")
    options = parser.parse_args()
    require_wrk()
    with tempfile.TemporaryDirectory() as folder:
        models = Path(folder) / "models"
        train_demo(models)
        slugs = demo_slugs()
        with served(models, workers=options.workers) as base:
            with urllib.request.urlopen(f"{base}/v1/related/{slugs[0]}") as response:
                body = Path(folder) / "body.json"
                body.write_bytes(response.read())
                size = body.stat().st_size
            run_wrk(base, "/v1/related/", slugs, 3, options.connections)  # warm-up
            relata = run_wrk(base, "/v1/related/", slugs, options.seconds, options.connections)
        port = free_port()
        bare = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *gunicorn_args("127.0.0.1", port, options.workers),
             "--chdir", str(ROOT), "benchmarks.bare_app:create_app()"],
            env={**os.environ, "RELATA_BARE_BODY": str(body), "RELATA_MODELS_DIR": folder},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until(lambda: urllib.request.urlopen(f"{base}/v1/related/x").status == 200)
            run_wrk(base, "/v1/related/", slugs, 3, options.connections)
            ceiling = run_wrk(base, "/v1/related/", slugs, options.seconds, options.connections)
        finally:
            bare.terminate()
            bare.wait(timeout=20)
    print(f"body {size} bytes, "
          f"{options.workers} sync workers, wrk -c{options.connections}")  # fmt: skip
    print(describe("relata", relata))
    print(describe("bare", ceiling))
    print(f"relata / bare requests/s: {relata['rps'] / ceiling['rps']:.2f}")


if __name__ == "__main__":
    main()
