"""A card's `why` rendered to JSON, for `relata.training.explain`'s render workers.

Apart from the explain module so that the worker processes import only numpy, orjson and
the packed table: importing the explain module pulls in pandas, scipy and numba, about
100 MB more in each worker.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import orjson

from relata.artifact.packed import Packed, pack

SIGNALS = ("text", "tags", "category", "recency")


def render_why(features: list[int], parts: list[float], names: Sequence[bytes]) -> bytes:
    """A card's `why` as JSON: shared tags, top shared terms, and each signal's part.
    `names` are the JSON-encoded feature names (`"field:name"`), spliced in as they are."""
    tags: list[bytes] = []
    terms: list[bytes] = []
    for column in features:
        if column < 0:
            continue
        kind, _, name = names[column][1:].partition(b":")
        name = b'"' + name
        if kind == b"tag":
            tags.append(name)
        elif name not in terms:
            terms.append(name)
    signals = orjson.dumps(
        {key: round(value, 3) for key, value in zip(SIGNALS, parts, strict=True)}
    )
    return b'{"tags":[%s],"terms":[%s],"signals":%s}' % (b",".join(tags), b",".join(terms), signals)


def render_rows(
    features: np.ndarray, signals: np.ndarray, valid: np.ndarray, names: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """The `why` of every entry of a block of rows (empty where no neighbour), packed
    (`pack`): two arrays cross back to the parent, not a Python object per entry.
    `names`: the packed JSON-encoded feature names (blob and offsets)."""
    table = Packed(*names)
    parts = signals.astype(np.float64).tolist()
    return pack(
        render_why(f, p, table) if ok else b""
        for row_features, row_parts, row_valid in zip(
            features.tolist(), parts, valid.tolist(), strict=True
        )
        for f, p, ok in zip(row_features, row_parts, row_valid, strict=True)
    )
