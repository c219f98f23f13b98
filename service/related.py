"""Related lists: the stored neighbours of one article, with editors' overrides and
filters applied, turned into cards.

Plain functions of a model and a query, so the API, the batch endpoint and `relata
export` give the very same cards. The work is O(K): a walk down one stored row.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from service.editorial import Editorial
from service.model_store import Model
from training.cards import CARD_FIELDS
from training.overlay import Overlay

ITEM_FIELDS = (*CARD_FIELDS, "score", "source")
NO_OVERRIDES = Editorial()


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


def card_for(model: Model, overlay: Overlay | None, slug: str) -> dict[str, Any] | None:
    """The current card of `slug`: ingested if it was ingested, else the model's."""
    if overlay is not None:
        if slug in overlay.removed:
            return None
        if slug in overlay.cards:
            return overlay.cards[slug]
    row = model.rows.get(slug)
    return None if row is None else model.cards[row]


def _ranked(model: Model, overlay: Overlay | None, slug: str) -> Iterator[tuple[dict, float]]:
    """The source's related cards with scores, best first, before filters and overrides."""
    if overlay is not None and slug in overlay.own:
        for target, score in overlay.own[slug]:
            card = card_for(model, overlay, target)
            if card is not None:
                yield card, score
        return
    row = model.rows[slug]
    stored = (
        (model.cards[j], score)
        for j, score in zip(model.index[row].tolist(), model.score[row].tolist(), strict=True)
        if j >= 0
    )
    if overlay is None:
        yield from stored
        return
    drop = overlay.drop.get(slug, frozenset())
    kept = (
        (overlay.cards.get(card["slug"], card), score)
        for card, score in stored
        if card["slug"] not in drop and card["slug"] not in overlay.removed
    )
    added = ((overlay.cards[target], score) for target, score in overlay.extra.get(slug, ()))
    yield from heapq.merge(kept, added, key=lambda pair: -pair[1])


def related_items(
    model: Model,
    slug: str,
    query: RelatedQuery,
    editorial: Editorial = NO_OVERRIDES,
    overlay: Overlay | None = None,
) -> list[dict[str, Any]]:
    """Up to `query.limit` cards for `slug`: pins at their positions, the model's picks
    around them, blocked and unpublished articles skipped, filters applied."""
    source_day = _day(card_for(model, overlay, slug) or {"published_at": None})
    ranked = list(_ranked(model, overlay, slug)) if editorial.pins else None
    scores = {card["slug"]: score for card, score in ranked} if ranked else {}
    pins = deque()
    for position, target in editorial.pins:
        card = card_for(model, overlay, target)
        if card is not None and not editorial.hides(target) and _wanted(card, query, source_day):
            pins.append((position, card))
    pinned = {card["slug"] for _, card in pins}
    picks = (
        (card, score)
        for card, score in (ranked if ranked is not None else _ranked(model, overlay, slug))
        if card["slug"] not in pinned
        and not editorial.hides(card["slug"])
        and _wanted(card, query, source_day)
    )
    items: list[dict[str, Any]] = []
    while len(items) < query.limit:
        if pins and pins[0][0] <= len(items) + 1:
            card = pins.popleft()[1]
            score = scores.get(card["slug"])
            item = {**card, "score": None if score is None else round(score, 4), "source": "pin"}
            items.append(_project(item, query.fields))
            continue
        pick = next(picks, None)
        if pick is None:
            if not pins:
                break
            pins[0] = (len(items) + 1, pins[0][1])  # a pin past the end closes the list
            continue
        item = {**pick[0], "score": round(pick[1], 4), "source": "model"}
        items.append(_project(item, query.fields))
    return items
