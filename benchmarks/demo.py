"""The bundled demo archive, for the serving benchmarks: train it, list its slugs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ARCHIVE = Path(__file__).resolve().parent.parent / "data" / "articles.jsonl"


def relata(*args: str) -> str:
    """Run a `relata` command in a child process; its standard output."""
    command = [sys.executable, "-m", "relata.cli.main", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def train_demo(models: Path, *settings: str) -> str:
    """Train the demo archive into `models` (with `NAME=VALUE` settings); the new version."""
    pairs = [arg for setting in settings for arg in ("--set", setting)]
    relata("train", "--quiet", "--archive", str(ARCHIVE), "--models", str(models), *pairs)
    return (models / "CURRENT").read_text().strip()


def demo_slugs() -> list[str]:
    """Every slug of the demo archive."""
    with ARCHIVE.open(encoding="utf-8") as lines:
        return [json.loads(line)["slug"] for line in lines]
