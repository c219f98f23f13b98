"""A sparse block set aside on disk while a step that never reads it needs the memory."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import scipy.sparse as sp


@contextmanager
def on_disk(holder: Any, name: str, folder: Path) -> Iterator[None]:
    """`holder.<name>`, a sparse matrix, written to a scratch folder in `folder` (`.tmp-*`:
    a killed run's is removed by the next) and dropped for the block, then read back.
    Inside the block it is None, so a step that did read it fails at once rather than
    reading something else. The caller must hold no other reference, or nothing is freed."""
    with tempfile.TemporaryDirectory(prefix=".tmp-set-aside-", dir=folder) as scratch:
        path = Path(scratch) / f"{name}.npz"
        sp.save_npz(path, getattr(holder, name), compressed=False)
        setattr(holder, name, None)
        yield
        setattr(holder, name, sp.load_npz(path))
