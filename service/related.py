"""Related lists: the stored neighbours of one article, filtered and turned into cards.

Plain functions of a model and a query, so the API, the batch endpoint and `relata
export` give the very same cards. The work is O(K): a walk down one stored row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.model_store import Model
from training.cards import CARD_FIELDS

ITEM_FIELDS = (*CARD_FIELDS, "score", "source")


@dataclass(frozen=True)
class RelatedQuery:
    """What a caller asked of one related list (already validated)."""

    limit: int = 6
    fields: tuple[str, ...] | None = None
    category: frozenset[str] = frozenset()  # case-folded; empty = any
    exclude_category: frozenset[str] = frozenset()  # case-folded
    exclude: frozenset[str] = frozenset()
    since: str | None = None  # ISO date, inclusive
    until: str | None = None  # ISO date, inclusive
    older_only: bool = False


def _day(card: dict[str, Any]) -> str | None:
    published = card["published_at"]
    return published[:10] if published else None


def _wanted(card: dict[str, Any], query: RelatedQuery, source_day: str | None) -> bool:
    if card["slug"] in query.exclude:
        return False
    category = (card["category"] or "").casefold()
    if query.category and category not in query.category:
        return False
    if category in query.exclude_category:
        return False
    day = _day(card)
    if query.since and (day is None or day < query.since):
        return False
    if query.until and (day is None or day > query.until):
        return False
    # An undated source has no "before": older_only then filters nothing.
    return not (query.older_only and source_day and (day is None or day >= source_day))


def _project(item: dict[str, Any], fields: tuple[str, ...] | None) -> dict[str, Any]:
    if fields is None:
        return item
    return {name: item[name] for name in ("slug", *fields) if name in item}


def related_items(model: Model, row: int, query: RelatedQuery) -> list[dict[str, Any]]:
    """Up to `query.limit` cards for article `row`, best first, filters applied."""
    source_day = _day(model.cards[row])
    items: list[dict[str, Any]] = []
    for neighbour, score in zip(model.index[row].tolist(), model.score[row].tolist(), strict=True):
        if neighbour < 0 or len(items) == query.limit:
            break
        card = model.cards[neighbour]
        if _wanted(card, query, source_day):
            item = {**card, "score": round(score, 4), "source": "model"}
            items.append(_project(item, query.fields))
    return items
