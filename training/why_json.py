"""A card's `why` rendered to JSON, for `relata.training.explain`'s render workers.

Apart from the explain module so that the worker processes import only numpy, orjson and
the packed table: importing the explain module pulls in pandas, scipy and numba, about
100 MB more in each worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import orjson

from relata.artifact.packed import Packed

SIGNALS = ("text", "tags", "category", "recency")
# A `why`: its tags, terms and each signal's part, in that order.
SHAPE = b'{"tags":[%s],"terms":[%s],"signals":{' + b",".join(
    b'"%s":%%s' % name.encode() for name in SIGNALS
) + b"}}"


class _Spelled(dict):
    """A feature column → (whether it is a tag, its name as the start of a JSON string),
    each read from the packed `names` (`"field:name"`, JSON-encoded) once per block: a
    block's pairs share their terms and tags again and again."""

    def __init__(self, names: Sequence[bytes]) -> None:
        super().__init__()
        self.names = names

    def __missing__(self, column: int) -> tuple[bool, bytes]:
        kind, _, name = self.names[column][1:].partition(b":")
        value = self[column] = (kind == b"tag", b'"' + name)
        return value


@cache
def _rounded() -> list[bytes]:
    """Every float16 (by its bits) rounded to 3 places as JSON: signals are float16, so
    rendering each of 65,536 values once replaces a dict and an encoding per card."""
    values = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float64)
    return [orjson.dumps(round(value, 3)) for value in values.tolist()]


def render_why(features: list[int], parts: list[int], spelled: _Spelled) -> bytes:
    """A card's `why` as JSON: shared tags, top shared terms, and each signal's part
    (`parts`: the bits of its float16 values). The names are spliced in as stored."""
    tags: list[bytes] = []
    terms: list[bytes] = []
    for column in features:
        if column < 0:
            continue
        is_tag, name = spelled[column]
        if is_tag:
            tags.append(name)
        elif name not in terms:
            terms.append(name)
    rounded = _rounded()
    return SHAPE % (
        b",".join(tags), b",".join(terms), *(rounded[bits] for bits in parts)
    )  # fmt: skip


def render_rows(
    features: np.ndarray, signals: np.ndarray, valid: np.ndarray, names: tuple[np.ndarray, ...]
) -> list[bytes]:
    """The `why` of every entry of a block of rows (empty where no neighbour); `names`:
    the packed JSON-encoded feature names (blob and offsets); `signals` float16."""
    spelled, rendered = _Spelled(Packed(*names)), []
    parts = signals.astype(np.float16, copy=False).view(np.uint16).tolist()
    for row_features, row_parts, row_valid in zip(
        features.tolist(), parts, valid.tolist(), strict=True
    ):
        for f, p, ok in zip(row_features, row_parts, row_valid, strict=True):
            rendered.append(render_why(f, p, spelled) if ok else b"")
    return rendered
