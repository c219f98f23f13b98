"""A sparse block set aside on disk while a step that never reads it needs the memory."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import scipy.sparse as sp

log = logging.getLogger(__name__)


@contextmanager
def on_disk(holder: Any, name: str, folder: Path) -> Iterator[None]:
    """`holder.<name>`, a sparse matrix, written to a scratch folder in `folder` (`.tmp-*`:
    a killed run's is removed by the next) and dropped for the block, then read back.
    Inside the block it is None, so a step that did read it fails at once rather than
    reading something else; after an error inside, it stays None. The caller must hold
    no other reference, or nothing is freed. Where it cannot be written (a full disk, a
    read-only folder) it stays in memory: the run needs more memory, but still runs."""
    with ExitStack() as stack:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            scratch = Path(stack.enter_context(
                tempfile.TemporaryDirectory(prefix=".tmp-set-aside-", dir=folder)
            ))  # fmt: skip
            path = scratch / f"{name}.npz"
            sp.save_npz(path, getattr(holder, name), compressed=False)
        except OSError as exc:
            log.warning("%s stays in memory: cannot write it to %s (%s)", name, folder, exc)
            yield
            return
        setattr(holder, name, None)
        yield
        setattr(holder, name, sp.load_npz(path))
