"""The bundled demo archive, trained through the CLI and served by the real server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import export_cli

pytestmark = pytest.mark.slow
SEED = "kim-jong-un-us-north-korea-2026"
SITE_PICKS = {"kim-jong-un-party-congress-2026", "trump-kim-jong-un-summit-2025"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


@pytest.fixture(scope="module")
def server(demo_models: Path) -> Iterator[str]:
    """`relata serve` with two gunicorn workers on a free loopback port."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--models", str(demo_models),
         "--port", str(port), "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _get(f"{base}/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.communicate(timeout=20)


def test_seed_article_lists_both_of_the_sites_picks(server: str) -> None:
    status, body = _get(f"{server}/v1/related/{SEED}?limit=6")
    assert status == 200
    assert {item["slug"] for item in body["items"]} >= SITE_PICKS


def test_served_errors_are_json(server: str) -> None:
    status, body = _get(f"{server}/v1/related/not-an-article")
    assert status == 404 and body["error"]["code"] == "unknown_slug"
    status, body = _get(f"{server}/v1/related/{SEED}?limit=1000")
    assert status == 400 and body["error"]["code"] == "bad_parameter"


def test_metrics_add_up_across_workers(server: str) -> None:
    for _ in range(10):
        _get(f"{server}/v1/related/{SEED}")
    with urllib.request.urlopen(f"{server}/metrics", timeout=5) as response:
        text = response.read().decode()
    prefix = 'relata_requests_total{route="/v1/related/<slug>",status="200"}'
    line = next(line for line in text.splitlines() if line.startswith(prefix))
    assert float(line.split()[-1]) >= 10


def test_every_list_of_the_demo_archive_is_clean(demo_models: Path, tmp_path: Path) -> None:
    lists = export_cli(demo_models, tmp_path / "export.jsonl", 50)
    assert len(lists) == 10_002
    empty = 0
    for entry in lists:
        slugs = [item["slug"] for item in entry["items"]]
        assert entry["slug"] not in slugs
        assert len(slugs) == len(set(slugs))
        empty += not slugs
    assert empty < 10  # only articles sharing no informative term with any other
