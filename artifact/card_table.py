"""The served card table: every card as pre-encoded JSON, packed and memory-mapped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import orjson

from relata.artifact.packed import Packed

CARD_FIELDS = (
    "slug", "title", "category", "excerpt", "url", "image", "published_at", "language",
)  # fmt: skip


class CardTable(Sequence[dict[str, Any]]):
    """Cards stored as pre-encoded JSON objects: `json(row)` gives the bytes a response
    embeds as they are, `[row]` a fresh dict."""

    def __init__(self, packed: Packed) -> None:
        self.packed = packed

    def __len__(self) -> int:
        return len(self.packed)

    @overload
    def __getitem__(self, row: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, row: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, row: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(row, slice):
            return [orjson.loads(card) for card in self.packed[row]]
        return orjson.loads(self.packed[row])

    def json(self, row: int) -> bytes:
        """The card of `row` as a JSON object."""
        return self.packed[row]
