"""Slug → row lookups over memory-mapped arrays, shared by every serving process.

A dict of every slug would be rebuilt, privately, in each worker; these sorted 64-bit
keys (blake2b of the slug) are one shared table, and a hit is confirmed against the
stored slug, so a key collision can never return the wrong article.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from relata.artifact.packed import TextColumn


def slug_key(slug: str) -> int:
    """The 64-bit key of a slug (stable across processes, unlike `hash`)."""
    digest = hashlib.blake2b(slug.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def key_table(slugs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The sorted keys of `slugs` and the row each belongs to."""
    keys = np.fromiter((slug_key(slug) for slug in slugs), dtype=np.int64, count=len(slugs))
    order = np.argsort(keys, kind="stable")
    return keys[order], order.astype(np.int32)


class SlugIndex(Mapping[str, int]):
    """Slug → row over `key_table`'s arrays and the slugs themselves."""

    def __init__(self, slugs: TextColumn, keys: np.ndarray, rows: np.ndarray) -> None:
        if not len(slugs) == len(keys) == len(rows):
            raise ValueError("slug index: keys, rows and slugs differ in length")
        self.slugs = slugs
        # Memoryviews: bisect and indexing on them cost a fraction of numpy's per call.
        self._keys = memoryview(keys.astype(np.int64, copy=False))
        self._rows = memoryview(rows.astype(np.int32, copy=False))
        self._last: tuple[str | None, int] = (None, -1)

    def get(self, slug: str, default: int | None = None) -> int | None:  # type: ignore[override]
        """The row of `slug`, or `default`."""
        last = self._last  # one request looks its slug up more than once
        if last[0] == slug:
            return last[1]
        row = self._find(slug)
        if row is None:
            return default
        self._last = (slug, row)
        return row

    def _find(self, slug: str) -> int | None:
        key = slug_key(slug)
        at = bisect_left(self._keys, key)
        while at < len(self._keys) and self._keys[at] == key:
            row = self._rows[at]
            if self.slugs[row] == slug:
                return row
            at += 1
        return None

    def __getitem__(self, slug: str) -> int:
        row = self.get(slug)
        if row is None:
            raise KeyError(slug)
        return row

    def __contains__(self, slug: object) -> bool:
        return isinstance(slug, str) and self.get(slug) is not None

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self.slugs)
