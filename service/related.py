"""Related lists: the stored neighbours of one article, with editors' overrides and
filters applied, turned into cards.

Plain functions of a model and a query, so the API, the batch endpoint and `relata
export` give the very same cards. The work is O(K): a walk down one stored row.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from service.editorial import Editorial
from service.model_store import Model
from training.cards import CARD_FIELDS

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


def _model_picks(
    model: Model, row: int, query: RelatedQuery, editorial: Editorial, pinned: set[int]
) -> Iterator[tuple[int, float]]:
    source_day = _day(model.cards[row])
    for neighbour, score in zip(model.index[row].tolist(), model.score[row].tolist(), strict=True):
        if neighbour < 0:
            return
        card = model.cards[neighbour]
        hidden = neighbour in pinned or editorial.hides(card["slug"])
        if not hidden and _wanted(card, query, source_day):
            yield neighbour, score


def related_items(
    model: Model, row: int, query: RelatedQuery, editorial: Editorial = NO_OVERRIDES
) -> list[dict[str, Any]]:
    """Up to `query.limit` cards for article `row`: pins at their positions, the model's
    picks around them, blocked and unpublished articles skipped, filters applied."""
    source_day = _day(model.cards[row])
    pins = deque(
        (position, model.rows[target])
        for position, target in editorial.pins
        if target in model.rows
        and not editorial.hides(target)
        and _wanted(model.cards[model.rows[target]], query, source_day)
    )
    pinned = {pin_row for _, pin_row in pins}
    scores = {}
    if pinned:
        scores = dict(zip(model.index[row].tolist(), model.score[row].tolist(), strict=True))
    picks = _model_picks(model, row, query, editorial, pinned)
    items: list[dict[str, Any]] = []
    while len(items) < query.limit:
        if pins and pins[0][0] <= len(items) + 1:
            pin_row = pins.popleft()[1]
            score = scores.get(pin_row)
            card = {**model.cards[pin_row], "score": None if score is None else round(score, 4)}
            items.append(_project({**card, "source": "pin"}, query.fields))
            continue
        pick = next(picks, None)
        if pick is None:
            if not pins:
                break
            pins[0] = (len(items) + 1, pins[0][1])  # a pin past the end closes the list
            continue
        card = {**model.cards[pick[0]], "score": round(pick[1], 4), "source": "model"}
        items.append(_project(card, query.fields))
    return items
