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
from training.explain import render_why
from training.overlay import Overlay

ITEM_FIELDS = (*CARD_FIELDS, "score", "source", "why")
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
    fallbacks: bool = True  # fill short lists with labelled recent articles
    min_score: float = 0.0  # model picks below this are dropped


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


def _ranked(
    model: Model, overlay: Overlay | None, slug: str
) -> Iterator[tuple[dict, float, tuple[int, int] | None]]:
    """The source's related cards with scores and where their `why` is stored, best first,
    before filters and overrides."""
    if overlay is not None and slug in overlay.own:
        for target, score in overlay.own[slug]:
            card = card_for(model, overlay, target)
            if card is not None:
                yield card, score, None
        return
    row = model.rows[slug]
    stored = (
        (model.cards[j], score, (row, k))
        for k, (j, score) in enumerate(
            zip(model.index[row].tolist(), model.score[row].tolist(), strict=True)
        )
        if j >= 0
    )
    if overlay is None:
        yield from stored
        return
    drop = overlay.drop.get(slug, frozenset())
    kept = (
        (overlay.cards.get(card["slug"], card), score, where)
        for card, score, where in stored
        if card["slug"] not in drop and card["slug"] not in overlay.removed
    )
    added = ((overlay.cards[target], score, None) for target, score in overlay.extra.get(slug, ()))
    yield from heapq.merge(kept, added, key=lambda entry: -entry[1])


def _why(model: Model, where: tuple[int, int] | None) -> dict[str, Any] | None:
    if where is None or model.why_features is None or where[1] >= model.why_features.shape[1]:
        return None
    row, k = where
    features, parts = model.why_features[row, k].tolist(), model.why_signals[row, k].tolist()
    return render_why(features, parts, model.feature_names)


def _fallbacks(model: Model, source: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
    """Newest articles of the source's category, then newest site-wide."""
    category = ((source or {}).get("category") or "").casefold()
    for row in model.fallbacks.get("by_category", {}).get(category, []):
        yield model.cards[row]
    for row in model.fallbacks.get("recent", []):
        yield model.cards[row]


def related_items(
    model: Model,
    slug: str,
    query: RelatedQuery,
    editorial: Editorial = NO_OVERRIDES,
    overlay: Overlay | None = None,
) -> list[dict[str, Any]]:
    """Up to `query.limit` cards for `slug`: pins at their positions, the model's picks
    above `min_score` around them, then labelled fallbacks; blocked and unpublished
    articles skipped, filters applied."""
    source = card_for(model, overlay, slug)
    source_day = _day(source or {"published_at": None})
    ranked = list(_ranked(model, overlay, slug)) if editorial.pins else None
    scores = {card["slug"]: (score, where) for card, score, where in ranked} if ranked else {}
    pins = deque()
    for position, target in editorial.pins:
        card = card_for(model, overlay, target)
        if card is not None and not editorial.hides(target) and _wanted(card, query, source_day):
            pins.append((position, card))
    taken = {slug} | {card["slug"] for _, card in pins}

    def usable(card: dict[str, Any]) -> bool:
        return (
            card["slug"] not in taken
            and not editorial.hides(card["slug"])
            and not (overlay is not None and card["slug"] in overlay.removed)
            and _wanted(card, query, source_day)
        )

    def picks() -> Iterator[dict[str, Any]]:
        for card, score, where in ranked if ranked is not None else _ranked(model, overlay, slug):
            # Lists are diversified, so a weak pick can follow a stronger one: skip, not stop.
            if score >= query.min_score and usable(card):
                taken.add(card["slug"])
                yield {
                    **card,
                    "score": round(score, 4),
                    "source": "model",
                    "why": _why(model, where),
                }
        if query.fallbacks:
            for card in _fallbacks(model, source):
                card = card_for(model, overlay, card["slug"]) or card
                if usable(card):
                    taken.add(card["slug"])
                    yield {**card, "score": None, "source": "fallback", "why": None}

    items: list[dict[str, Any]] = []
    stream = picks()
    while len(items) < query.limit:
        if pins and pins[0][0] <= len(items) + 1:
            card = pins.popleft()[1]
            score, where = scores.get(card["slug"], (None, None))
            item = {**card, "score": None if score is None else round(score, 4),
                    "source": "pin", "why": _why(model, where)}  # fmt: skip
            items.append(_project(item, query.fields))
            continue
        pick = next(stream, None)
        if pick is None:
            if not pins:
                break
            pins[0] = (len(items) + 1, pins[0][1])  # a pin past the end closes the list
            continue
        items.append(_project(pick, query.fields))
    return items
