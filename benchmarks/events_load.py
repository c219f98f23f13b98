"""What counting readers' events costs the read API: wrk on `GET /v1/related/<slug>` with
events off, then on with a steady stream of `POST /v1/events` beside it.

    .venv/bin/python benchmarks/events_load.py [--seconds 20] [--rate 100] [--rounds 2]

Each round serves the demo archive with `relata serve` (gunicorn, 2 sync workers) three
ways: `off` (RELATA_EVENTS=false, no stream), `on` (events counted, the stream posting
`--rate` requests a second, each an impression and a click), and `on-idle` (events on, no
stream: what merely enabling them costs). The stream runs in this process, on the same
cores as wrk and the server, as a site's readers would add load. Goal: `on` costs under
10 % of `off`'s requests/s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.demo import demo_slugs, train_demo
from benchmarks.loadgen import describe, require_wrk, run_wrk
from tests.serving import served


@contextmanager
def event_stream(base: str, lists: list[dict[str, Any]], rate: float) -> Iterator[list[int]]:
    """Post one impression and one click `rate` times a second until the block ends;
    yields [accepted, refused] as they grow."""
    tally = [0, 0]
    stop = threading.Event()

    def run() -> None:
        step, due, n = 1.0 / rate, time.monotonic(), 0
        while not stop.is_set():
            served = lists[n % len(lists)]
            n += 1
            events = [
                {"type": "impression", "rid": served["rid"], "slug": served["slug"],
                 "position": len(served["items"])},
                {"type": "click", "rid": served["rid"], "slug": served["slug"],
                 "target": served["items"][0]["slug"], "position": 1},
            ]  # fmt: skip
            request = urllib.request.Request(
                f"{base}/v1/events", data=json.dumps({"events": events}).encode(),
                headers={"Content-Type": "text/plain"},
            )  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    tally[0 if response.status == 202 else 1] += 1
            except OSError:
                tally[1] += 1
            due += step
            stop.wait(max(0.0, due - time.monotonic()))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield tally
    finally:
        stop.set()
        thread.join()


def measure(models: Path, slugs: list[str], mode: str, options: argparse.Namespace) -> dict:
    """wrk's figures for one way of serving (`off`, `on`, `on-idle`)."""
    env = {"RELATA_EVENTS": "false" if mode == "off" else "true",
           "RELATA_EVENTS_PER_MINUTE": "1000000"}  # fmt: skip
    with served(models, workers=2, **env) as base:
        lists = []
        for slug in slugs[:200]:
            with urllib.request.urlopen(f"{base}/v1/related/{slug}?limit=4") as response:
                lists.append(json.load(response))
        run_wrk(base, "/v1/related/", slugs, 3, options.connections)  # warm-up
        if mode != "on":
            return run_wrk(base, "/v1/related/", slugs, options.seconds, options.connections)
        with event_stream(base, lists, options.rate) as tally:
            started = time.monotonic()
            figures = run_wrk(base, "/v1/related/", slugs, options.seconds, options.connections)
            figures["events_per_s"] = 2 * tally[0] / (time.monotonic() - started)
            figures["events_refused"] = tally[1]
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="Seconds of wrk per run.")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections.")
    parser.add_argument("--rate", type=float, default=100, help="Event requests a second.")
    parser.add_argument("--rounds", type=int, default=2, help="Rounds of the three runs.")
    options = parser.parse_args()
    require_wrk()
    runs: dict[str, list[dict]] = {"off": [], "on": [], "on-idle": []}
    with tempfile.TemporaryDirectory() as folder:
        models = Path(folder) / "models"
        train_demo(models)
        slugs = demo_slugs()
        for _ in range(options.rounds):  # interleaved, so drifting load hits all three alike
            for mode in runs:
                figures = measure(models, slugs, mode, options)
                runs[mode].append(figures)
                extra = (f"  events {figures['events_per_s']:.0f}/s, refused "
                         f"{figures['events_refused']}" if mode == "on" else "")  # fmt: skip
                print(describe(mode, figures) + extra, flush=True)
    median = {mode: statistics.median(f["rps"] for f in found) for mode, found in runs.items()}
    print(f"median req/s: off {median['off']:.0f}, on-idle {median['on-idle']:.0f}, "
          f"on with the stream {median['on']:.0f}")  # fmt: skip
    print(f"cost of events with the stream: {1 - median['on'] / median['off']:.1%} "
          f"(enabled, no stream: {1 - median['on-idle'] / median['off']:.1%})")


if __name__ == "__main__":
    main()
