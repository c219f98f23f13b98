"""The models folder as a registry: which versions exist, which is live, and how that changes.

`CURRENT` names the live version and is only ever replaced atomically; `HISTORY` (JSON
Lines) records every switch, which is what `rollback` walks back through. A file lock
keeps two retrains from running at once.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from relata.artifact import MANIFEST, is_version, verify, version_folder

CURRENT = "CURRENT"
HISTORY = "HISTORY"
LOCK = ".retrain.lock"


class RegistryError(Exception):
    """A registry operation cannot be done (busy, nothing to roll back to, …)."""


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def current_version(models_dir: Path) -> str | None:
    """The version CURRENT names, or None when nothing is published yet."""
    try:
        version = (models_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return version or None


def list_versions(models_dir: Path) -> list[str]:
    """Published version folders, oldest first (version ids sort by creation time)."""
    if not models_dir.is_dir():
        return []
    return sorted(
        p.name for p in models_dir.iterdir() if is_version(p.name) and (p / MANIFEST).is_file()
    )


def history(models_dir: Path) -> list[dict[str, str]]:
    """Every switch of CURRENT, oldest first."""
    path = models_dir / HISTORY
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def recent_versions(models_dir: Path) -> list[str]:
    """Every version HISTORY names, the most recently live first, each once."""
    versions: list[str] = []
    for entry in reversed(history(models_dir)):
        for version in (entry["version"], entry.get("previous")):
            if version and version not in versions:
                versions.append(version)
    return versions


def promote(
    models_dir: Path, version: str, action: str = "promote", key: str = "", verified: bool = False
) -> None:
    """Make a verified `version` (signed under `key`, if given) the live model: one atomic
    switch of CURRENT. `verified`: the caller has just verified it, holding the lock."""
    folder = version_folder(models_dir, version)
    if not verified:
        verify(folder, key)
    entry = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "action": action,
             "version": version, "previous": current_version(models_dir)}  # fmt: skip
    _atomic_write(models_dir / CURRENT, version + "\n")
    with (models_dir / HISTORY).open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")


def rollback_target(models_dir: Path) -> str:
    """The version that was live before the current one (skipping rolled-back ones)."""
    entries = history(models_dir)
    rolled_back = {e["previous"] for e in entries if e["action"] == "rollback"}
    usable = set(list_versions(models_dir)) - rolled_back - {current_version(models_dir)}
    for entry in reversed(entries):
        if entry["previous"] in usable:
            return entry["previous"]
    raise RegistryError("no earlier version to roll back to")


def rollback(models_dir: Path, key: str = "") -> str:
    """Switch CURRENT back to the previously live version; returns it."""
    target = rollback_target(models_dir)
    promote(models_dir, target, action="rollback", key=key)
    return target


def prune(models_dir: Path, keep: int) -> list[str]:
    """Delete all but the newest `keep` versions (never the live one); return the deleted."""
    live = current_version(models_dir)
    versions = list_versions(models_dir)
    doomed = [v for v in versions[: max(0, len(versions) - keep)] if v != live]
    for version in doomed:
        shutil.rmtree(version_folder(models_dir, version), ignore_errors=True)
    return doomed


@contextmanager
def exclusive(models_dir: Path) -> Iterator[None]:
    """Hold the models folder's training lock, or fail at once if another run holds it.

    Inside it, folders left by a killed run (`.tmp-*`) are removed: no run is writing them.
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(models_dir / LOCK)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise RegistryError(f"another training run holds {models_dir / LOCK}") from None
    try:
        for leftover in models_dir.glob(".tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        yield
    finally:
        lock.release()
