"""Run `relata serve` (gunicorn, several workers) in a child process for a test."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def wait_until(predicate: Callable[[], bool], seconds: float = 20.0) -> None:
    """Poll `predicate` (connection errors count as not yet) until true or time is up."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if predicate():
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def get_json(url: str) -> tuple[int, Any]:
    """Status and JSON body of a GET, errors included."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def get_text(url: str) -> str:
    """The body of a GET as text."""
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def ingest(base: str, article: dict[str, Any], token: str) -> None:
    """POST one article to a served `/v1/articles` with an admin `token`, expecting 200."""
    request = urllib.request.Request(
        f"{base}/v1/articles",
        data=json.dumps(article).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    # A worker's first ingest imports the training libraries: seconds, tens when busy.
    with urllib.request.urlopen(request, timeout=120) as response:
        assert response.status == 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(models: Path, *args: str, workers: int = 2, **env: str) -> Iterator[str]:
    """The base URL of `relata serve --models models *args`, ready to answer."""
    port = free_port()
    command = [sys.executable, "-m", "relata.cli.main", "serve", "--models", str(models),
               "--port", str(port), "--workers", str(workers), *args]  # fmt: skip
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # Starting (imports, gunicorn, loading) takes seconds, tens on a busy machine.
        wait_until(
            lambda: process.poll() is not None or get_json(f"{base}/readyz")[0] == 200, 90
        )
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        yield base
    finally:
        process.terminate()
        process.communicate(timeout=20)
