"""Model versions on any fsspec filesystem (object storage, NFS, ...): publish a version
built locally, and fetch one into a local folder to serve it.

Training stays local (atomic renames, a file lock); `publish` uploads a verified version
manifest-last, then replaces the store's `CURRENT`, a single small object (one atomic
write on object stores), so readers never see half a version. Serving memory-maps, so
every replica copies a version once into its local `models_dir`, verifies every checksum
there, and only then loads it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import fsspec

from relata.artifact import (
    MANIFEST,
    MODEL_FILES,
    ArtifactError,
    read_manifest,
    signing,
    verify,
    version_folder,
)
from relata.artifact.registry import CURRENT

CACHED_VERSIONS = 3  # fetched versions kept locally: the live one and two to roll back to


def _store(url: str) -> tuple[Any, str]:
    fs, root = fsspec.core.url_to_fs(url)
    return fs, root.rstrip("/")


def current_version(url: str) -> str | None:
    """The version the store's `CURRENT` names, or None when nothing is published."""
    fs, root = _store(url)
    try:
        version = fs.cat_file(f"{root}/{CURRENT}").decode().strip()
    except FileNotFoundError:
        return None
    return version or None


def publish(models_dir: Path, version: str, url: str, key: str = "") -> None:
    """Upload the verified local `version` to the store (unless it is there) and make it
    the store's live version; with a signing `key`, sign its manifest first."""
    folder = version_folder(models_dir, version)
    manifest = verify(folder)
    if key:
        signing.sign(folder / MANIFEST, key)
    signature = folder / signing.SIGNATURE_FILE
    fs, root = _store(url)
    target = f"{root}/{version}"
    if not fs.exists(f"{target}/{MANIFEST}"):
        fs.makedirs(target, exist_ok=True)
        for name in manifest["files"]:
            fs.put_file(str(folder / name), f"{target}/{name}")
    if signature.is_file():  # also for a version published before it was signed
        fs.put_file(str(signature), f"{target}/{signing.SIGNATURE_FILE}")
    if not fs.exists(f"{target}/{MANIFEST}"):
        # Last: a version without its manifest is incomplete and never fetched.
        fs.put_file(str(folder / MANIFEST), f"{target}/{MANIFEST}")
    fs.pipe_file(f"{root}/{CURRENT}", f"{version}\n".encode())


def fetch(url: str, version: str, models_dir: Path, key: str = "") -> Path:
    """The local, verified copy of the store's `version` (signed under `key`, if given),
    downloaded if not there yet. Safe when several processes fetch at once: each verifies
    its own copy, one rename wins. (The caller verifies a copy that was already there.)
    """
    final = version_folder(models_dir, version)  # the store's CURRENT is not trusted
    if final.is_dir():
        return final
    fs, root = _store(url)
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=models_dir))
    try:
        fs.get_file(f"{root}/{version}/{MANIFEST}", str(tmp / MANIFEST))
        signature = f"{root}/{version}/{signing.SIGNATURE_FILE}"
        if fs.exists(signature):
            fs.get_file(signature, str(tmp / signing.SIGNATURE_FILE))
        for name in read_manifest(tmp)["files"]:
            if name not in MODEL_FILES:
                raise ArtifactError(f"{version}: manifest names a file that is no model file")
            fs.get_file(f"{root}/{version}/{name}", str(tmp / name))
        verify(tmp, key)
        os.rename(tmp, final)
    except OSError:
        if not final.is_dir():  # not a lost race: a real failure
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _prune(models_dir, keep=final)
    return final


def _prune(models_dir: Path, keep: Path) -> None:
    """Drop all but the most recently fetched versions (open memory maps stay valid)."""
    fetched = sorted(
        (p for p in models_dir.iterdir() if p.is_dir() and (p / MANIFEST).is_file()),
        key=lambda p: p.stat().st_mtime,
    )
    for old in fetched[:-CACHED_VERSIONS]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)
