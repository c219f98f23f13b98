"""Drive a server with wrk (Debian's `wrk` package) over random slugs, or with a paced stream
of POSTs (Debian's `hey`); parse their figures."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# wrk calls `request` for every request and `done` once, with the latency histogram.
DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %f, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "p50_ms": %f, "p90_ms": %f, "p99_ms": %f, "max_ms": %f}\\n',
    summary.requests, summary.duration / 1e6, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3))
end
"""
GETS = """
local slugs = {%s}
request = function()
  return wrk.format("GET", "%s" .. slugs[math.random(#slugs)])
end
"""


def require_wrk() -> str:
    """The wrk binary, or a clear way to get it."""
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian's package)")
    return path


def _command(script: Path, base: str, seconds: float, connections: int, threads: int) -> list[str]:
    return [require_wrk(), f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s",
            "--timeout", "5s", "-s", str(script), base]  # fmt: skip


def _figures(output: str) -> dict[str, Any]:
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    figures = json.loads(line.removeprefix("RESULT "))
    figures["errors"] = sum(figures[k] for k in ("connect", "read", "write", "status", "timeout"))
    figures["rps"] = figures["requests"] / figures["seconds"]
    return figures


def run_wrk(base: str, path_prefix: str, slugs: list[str], seconds: float,
            connections: int = 16, threads: int = 2) -> dict[str, Any]:  # fmt: skip
    """wrk's figures for `seconds` of GET base+path_prefix+<random slug>."""
    quoted = ",".join(json.dumps(slug) for slug in slugs)
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "slugs.lua"
        script.write_text(GETS % (quoted, path_prefix) + DONE, encoding="utf-8")
        command = _command(script, base, seconds, connections, threads)
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return _figures(output)


@contextmanager
def paced_posts(base: str, path: str, body: bytes, rate: float, seconds: float) -> Iterator[dict]:
    """While the block runs, hey (Debian's `hey`) POSTs `body` to base+path about `rate`
    times a second for `seconds`, on two connections; the dict it yields gets the count of
    requests, refused ones, and seconds when the block ends.

    Not wrk: its pacing (`delay`) opens the next connection and then waits, which holds a
    sync worker idle for the whole pause; hey connects when it sends."""
    hey = shutil.which("hey")
    if hey is None:
        raise SystemExit("hey is not installed: apt-get install hey (Debian's package)")
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        payload = Path(folder) / "body"
        payload.write_bytes(body)
        command = [hey, "-z", f"{int(seconds)}s", "-c", "2", "-q", str(rate / 2), "-m", "POST",
                   "-T", "text/plain", "-D", str(payload), "-o", "csv", base + path]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            yield figures
        finally:
            output, _ = process.communicate(timeout=seconds + 30)
    # One CSV row per request: ...,status-code,offset (seconds since the start).
    rows = [line.split(",") for line in output.splitlines()[1:] if line]
    figures["requests"] = len(rows)
    figures["refused"] = sum(row[6] != "202" for row in rows)
    figures["seconds"] = max((float(row[7]) + float(row[0]) for row in rows), default=seconds)


def describe(name: str, figures: dict[str, Any]) -> str:
    """One line of figures."""
    return (
        f"{name:<10} {figures['requests']:>8} req {figures['rps']:>8.0f} req/s "
        f"errors {figures['errors']:>3}  p50 {figures['p50_ms']:6.2f} ms  "
        f"p90 {figures['p90_ms']:6.2f} ms  p99 {figures['p99_ms']:6.2f} ms  "
        f"max {figures['max_ms']:7.2f} ms"
    )
