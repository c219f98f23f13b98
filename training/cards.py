"""Card metadata: what a "Related" card shows, precomputed once per model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import orjson
import pandas as pd

from training.packed import Packed
from training.text import excerpt

CARD_FIELDS = ("slug", "title", "category", "excerpt", "url", "image", "published_at")


def _present(value: Any) -> Any:
    # pandas stores a missing string as NaN; a card says null.
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def build_cards(articles: pd.DataFrame, excerpt_chars: int) -> list[dict[str, Any]]:
    """One card per article, in row order, with the excerpt cut at a word boundary."""
    cards = []
    for row in articles.itertuples(index=False):
        text = _present(row.summary) or _present(row.body)
        cards.append(
            {
                "slug": row.slug,
                "title": row.title,
                "category": _present(row.category),
                "excerpt": excerpt(text, excerpt_chars) if text else None,
                "url": _present(row.url),
                "image": _present(row.image),
                "published_at": _present(row.published_at),
            }
        )
    return cards


class CardTable(Sequence[dict[str, Any]]):
    """Cards stored as pre-encoded JSON objects: `json(row)` gives the bytes a response
    embeds as they are, `[row]` a fresh dict."""

    def __init__(self, packed: Packed) -> None:
        self.packed = packed

    @classmethod
    def of(cls, cards: Sequence[dict[str, Any]]) -> CardTable:
        """An in-memory table of `cards`."""
        return cls(Packed.of(map(orjson.dumps, cards)))

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
