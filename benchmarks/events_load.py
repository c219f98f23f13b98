"""What counting readers' events costs the read API: wrk on `GET /v1/related/<slug>` with
events off, then on with a steady stream of `POST /v1/events` beside it.

    .venv/bin/python benchmarks/events_load.py [--seconds 20] [--rate 100] [--rounds 2]

Each round serves the demo archive with `relata serve` (gunicorn, 2 sync workers) four
ways: `off` (RELATA_EVENTS=false, no stream), `on-idle` (events on, no stream: what merely
enabling them costs), `off-stream` (events off, the stream answered 404: what the extra
requests cost, counting nothing) and `on` (events counted, the stream posting `--rate`
requests a second, each an impression and a click). The stream is Debian's `hey`, paced
to `--rate` requests a second, on the same cores as wrk and the server. Goal: `on` costs
under 10 % of `off`'s requests/s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.demo import demo_slugs, train_demo
from benchmarks.loadgen import describe, paced_posts, require_wrk, run_wrk
from tests.serving import served


def event_body(served: dict[str, Any]) -> bytes:
    """The events a reader's page sends for a served list: its impression, a click."""
    return json.dumps({"events": [
        {"type": "impression", "rid": served["rid"], "slug": served["slug"],
         "position": len(served["items"])},
        {"type": "click", "rid": served["rid"], "slug": served["slug"],
         "target": served["items"][0]["slug"], "position": 1},
    ]}).encode()  # fmt: skip


STREAMED = ("on", "off-stream")


def measure(models: Path, slugs: list[str], mode: str, options: argparse.Namespace) -> dict:
    """wrk's figures for one way of serving (`off`, `on-idle`, `off-stream`, `on`)."""
    env = {"RELATA_EVENTS": "true" if mode.startswith("on") else "false",
           "RELATA_EVENTS_PER_MINUTE": "1000000"}  # fmt: skip
    with served(models, workers=2, **env) as base:
        with urllib.request.urlopen(f"{base}/v1/related/{slugs[0]}?limit=4") as response:
            body = event_body(json.load(response))
        run_wrk(base, "/v1/related/", slugs, 3, options.connections)  # warm-up
        if mode not in STREAMED:
            return run_wrk(base, "/v1/related/", slugs, options.seconds, options.connections)
        with paced_posts(base, "/v1/events", body, options.rate, options.seconds) as posted:
            figures = run_wrk(base, "/v1/related/", slugs, options.seconds, options.connections)
        figures["posts_per_s"] = posted["requests"] / posted["seconds"]
        figures["posts_refused"] = posted["refused"]
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="Seconds of wrk per run.")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections.")
    parser.add_argument("--rate", type=float, default=100, help="Event requests a second.")
    parser.add_argument("--rounds", type=int, default=2, help="Rounds of the four runs.")
    options = parser.parse_args()
    require_wrk()
    runs: dict[str, list[dict]] = {"off": [], "on-idle": [], "off-stream": [], "on": []}
    with tempfile.TemporaryDirectory() as folder:
        models = Path(folder) / "models"
        train_demo(models)
        slugs = demo_slugs()
        for _ in range(options.rounds):  # interleaved, so drifting load hits all four alike
            for mode in runs:
                figures = measure(models, slugs, mode, options)
                runs[mode].append(figures)
                extra = (f"  posts {figures['posts_per_s']:.0f}/s, not 202: "
                         f"{figures['posts_refused']}" if mode in STREAMED else "")  # fmt: skip
                print(describe(mode, figures) + extra, flush=True)
    median = {mode: statistics.median(f["rps"] for f in found) for mode, found in runs.items()}
    print("median req/s: " + ", ".join(f"{mode} {rps:.0f}" for mode, rps in median.items()))
    cost = {name: 1 - median[mode] / median[base] for name, mode, base in (
        ("events with the stream", "on", "off"), ("the stream's requests alone (404s)",
        "off-stream", "off"), ("counting them", "on", "off-stream"),
        ("enabling events, no stream", "on-idle", "off"))}  # fmt: skip
    print("cost of " + "; of ".join(f"{name}: {share:.1%}" for name, share in cost.items()))


if __name__ == "__main__":
    main()
