"""Drive a server with wrk (Debian's `wrk` package) over random slugs; parse its figures."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

# wrk calls `request` for every request and `done` once, with the latency histogram.
LUA = """
local slugs = {%s}
request = function()
  return wrk.format("GET", "%s" .. slugs[math.random(#slugs)])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "seconds": %%f, "connect": %%d, "read": %%d, "write": %%d, ' ..
    '"status": %%d, "timeout": %%d, "p50_ms": %%f, "p90_ms": %%f, "p99_ms": %%f, "max_ms": %%f}\\n',
    summary.requests, summary.duration / 1e6, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3))
end
"""


def require_wrk() -> str:
    """The wrk binary, or a clear way to get it."""
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian's package)")
    return path


def run_wrk(base: str, path_prefix: str, slugs: list[str], seconds: float,
            connections: int = 16, threads: int = 2) -> dict[str, Any]:  # fmt: skip
    """wrk's figures for `seconds` of GET base+path_prefix+<random slug>."""
    quoted = ",".join(json.dumps(slug) for slug in slugs)
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "slugs.lua"
        script.write_text(LUA % (quoted, path_prefix), encoding="utf-8")
        output = subprocess.run(
            [require_wrk(), f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s",
             "--timeout", "5s", "-s", str(script), base],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    figures = json.loads(line.removeprefix("RESULT "))
    figures["errors"] = sum(figures[k] for k in ("connect", "read", "write", "status", "timeout"))
    figures["rps"] = figures["requests"] / figures["seconds"]
    return figures


def describe(name: str, figures: dict[str, Any]) -> str:
    """One line of figures."""
    return (
        f"{name:<10} {figures['requests']:>8} req {figures['rps']:>8.0f} req/s "
        f"errors {figures['errors']:>3}  p50 {figures['p50_ms']:6.2f} ms  "
        f"p90 {figures['p90_ms']:6.2f} ms  p99 {figures['p99_ms']:6.2f} ms  "
        f"max {figures['max_ms']:7.2f} ms"
    )
