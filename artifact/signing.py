"""Manifest signatures: an HMAC-SHA256 of `manifest.json`'s exact bytes, in `manifest.sig`.

The manifest holds the sha256 of every model file, so a valid signature vouches for the
whole version. Checksums alone do not: whoever can write the models folder or the shared
store can rewrite them too. The key lives with training and the replicas, never in the
store; a process with a key refuses a version whose signature is missing or wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

SIGNATURE_FILE = "manifest.sig"
KEY_VARIABLE = "RELATA_SIGNING_KEY"


def environment_key() -> str:
    """The signing key of a command-line process: `RELATA_SIGNING_KEY` (empty: none)."""
    return os.environ.get(KEY_VARIABLE, "")


def signature(data: bytes, key: str) -> str:
    """The hex HMAC-SHA256 of `data` under `key`."""
    return hmac.new(key.encode(), data, hashlib.sha256).hexdigest()


def sign(manifest: Path, key: str) -> Path:
    """Write the signature of the file `manifest` beside it; returns the signature file."""
    path = manifest.with_name(SIGNATURE_FILE)
    path.write_text(signature(manifest.read_bytes(), key) + "\n", encoding="ascii")
    return path


def is_signed(data: bytes, stored: bytes, key: str) -> bool:
    """Whether `stored` (a signature file's bytes) is `data`'s signature under `key`."""
    return hmac.compare_digest(signature(data, key).encode(), stored.strip())
