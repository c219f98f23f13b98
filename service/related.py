"""Related lists: the stored neighbours of one article, with editors' overrides and
filters applied, turned into cards.

Plain functions of a model and a query, so the API, the batch endpoint and `relata
export` give the very same cards. The work is O(K): a walk down one stored row. Cards
are spliced into the response as the pre-encoded JSON the model stores; a card is only
decoded when a filter has to look inside it.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from relata.artifact.card_table import CARD_FIELDS
from relata.service.editorial import Editorial
from relata.service.model_store import Model

if TYPE_CHECKING:  # the overlay's builder needs pandas; serving only reads overlays
    from relata.service.overlay import Overlay

ITEM_FIELDS = (*CARD_FIELDS, "score", "source", "why")
ANY_LANGUAGE = "any"
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
    # None: the source's own language; ANY_LANGUAGE: every one; else a language code.
    language: str | None = None


class Entry(NamedTuple):
    """One card of a list: a model row or an ingested card, with its score and origin."""

    slug: str | None  # None for a model row until a check needs it (see `_slug`)
    row: int  # the model's row; -1 for an article ingested since training
    card: dict[str, Any] | None  # the ingested card, else None: the model's is used
    score: float | None
    source: str  # model, pin or fallback
    where: tuple[int, int] | None  # (row, position) of its stored `why`


def _day(card: dict[str, Any]) -> str | None:
    published = card["published_at"]
    return published[:10] if published else None


def _slug(model: Model, entry: Entry) -> str:
    return model.slugs[entry.row] if entry.slug is None else entry.slug


def _key(entry: Entry) -> int | str:
    """What identifies an article within one list, without decoding its slug."""
    return entry.row if entry.row >= 0 else entry.slug  # type: ignore[return-value]


class _Filters(NamedTuple):
    """What one list's entries must pass, worked out once per list rather than per entry."""

    query: RelatedQuery
    language: str | None  # the language kept to (None: any)
    source_day: str | None  # the source's publication day, for `older_only`

    @classmethod
    def of(
        cls, query: RelatedQuery, language: str | None, source_day: str | None
    ) -> _Filters | None:
        """The filters of `query` keeping to `language`; None when only `exclude` applies
        (it needs slugs alone, no look inside a card)."""
        inside = (
            query.category or query.exclude_category or query.since or query.until
            or query.older_only or language
        )  # fmt: skip
        return cls(query, language, source_day) if inside else None

    def keep(self, model: Model, entry: Entry) -> bool:
        """Whether `entry` passes; a model row reads only the stored columns it needs."""
        query, card, row, source_day = self.query, entry.card, entry.row, self.source_day
        if self.language:
            language = model.languages[row] if card is None else card.get("language")
            if language != self.language:
                return False
        if query.category or query.exclude_category:
            category = (
                model.categories[row] if card is None else (card["category"] or "").casefold()
            )
            if query.category and category not in query.category:
                return False
            if category in query.exclude_category:
                return False
        if not (query.since or query.until or query.older_only):
            return True
        day = (model.published[row][:10] or None) if card is None else _day(card)
        if query.since and (day is None or day < query.since):
            return False
        if query.until and (day is None or day > query.until):
            return False
        # An undated source has no "before": older_only then filters nothing.
        return not (query.older_only and source_day and (day is None or day >= source_day))


def _wanted(model: Model, entry: Entry, exclude: frozenset[str], filters: _Filters | None) -> bool:
    if exclude and _slug(model, entry) in exclude:
        return False
    return filters is None or filters.keep(model, entry)


def _project(item: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: item[name] for name in ("slug", "position", *fields) if name in item}


def _current(model: Model, overlay: Overlay | None, slug: str) -> tuple[int, dict | None] | None:
    """Where the current card of `slug` is: (model row or -1, ingested card or None)."""
    row = model.rows.get(slug, -1)
    if overlay is not None:
        if slug in overlay.removed:
            return None
        if slug in overlay.cards:
            return row, overlay.cards[slug]
    return None if row < 0 else (row, None)


def card_for(model: Model, overlay: Overlay | None, slug: str) -> dict[str, Any] | None:
    """The current card of `slug`: ingested if it was ingested, else the model's."""
    found = _current(model, overlay, slug)
    if found is None:
        return None
    row, card = found
    return model.cards[row] if card is None else card


def _ranked(model: Model, overlay: Overlay | None, slug: str) -> Iterator[Entry]:
    """The source's related cards with scores and where their `why` is stored, best first,
    before filters and overrides."""
    if overlay is not None and slug in overlay.own:
        for target, score in overlay.own[slug]:
            found = _current(model, overlay, target)
            if found is not None:
                yield Entry(target, *found, score, "model", None)
        return
    row = model.rows[slug]
    stored = (
        Entry(None, j, None, score, "model", (row, k))
        for k, (j, score) in enumerate(
            zip(model.index[row].tolist(), model.score[row].tolist(), strict=True)
        )
        if j >= 0
    )
    if overlay is None:
        yield from stored
        return
    drop = overlay.drop.get(slug, frozenset())
    named = (entry._replace(slug=model.slugs[entry.row]) for entry in stored)
    kept = (
        entry._replace(card=overlay.cards.get(entry.slug))
        for entry in named
        if entry.slug not in drop and entry.slug not in overlay.removed
    )
    added = (
        Entry(target, model.rows.get(target, -1), overlay.cards[target], score, "model", None)
        for target, score in overlay.extra.get(slug, ())
    )
    yield from heapq.merge(kept, added, key=lambda entry: -entry.score)


def _fallbacks(model: Model, overlay: Overlay | None, slug: str) -> Iterator[Entry]:
    """Newest articles of the source's category, then newest site-wide."""
    source = card_for(model, overlay, slug)
    category = ((source or {}).get("category") or "").casefold()
    rows = model.fallbacks.get("by_category", {}).get(category, [])
    for row in [*rows, *model.fallbacks.get("recent", [])]:
        if overlay is None:
            yield Entry(None, row, None, None, "fallback", None)
            continue
        found = _current(model, overlay, model.slugs[row])
        if found is not None:
            yield Entry(model.slugs[row], *found, None, "fallback", None)


def _language(
    model: Model, overlay: Overlay | None, slug: str, asked: str | None
) -> tuple[str | None, bool]:
    """The language a list keeps to (None: any), and whether the model's picks need the
    test (a source row whose stored neighbours all share its language needs it only for
    fallbacks). Training ranks other languages low but keeps them, for `language=any`; a
    monolingual model needs no filter at all."""
    if asked == ANY_LANGUAGE:
        return None, False
    if asked is not None:
        return asked, True
    languages = model.manifest.get("languages", {}).keys()
    if len((languages | overlay.languages) if overlay else languages) <= 1:
        return None, False
    found = _current(model, overlay, slug)
    if found is None:
        return None, False
    row, card = found
    if card is not None:
        return card.get("language"), True
    # With an overlay, ingested and updated cards join the picks: their languages vary. A
    # model not loaded from disk has no flags: every pick is tested.
    mixed = model.mixed_languages
    return model.languages[row] or None, overlay is not None or not mixed or bool(mixed[row])


def related_entries(
    model: Model,
    slug: str,
    query: RelatedQuery,
    editorial: Editorial = NO_OVERRIDES,
    overlay: Overlay | None = None,
) -> list[Entry]:
    """Up to `query.limit` cards for `slug`: pins at their positions, the model's picks
    above `min_score` around them, then labelled fallbacks; blocked and unpublished
    articles skipped, filters applied; a list keeps to one language unless asked."""
    source_day = _day(card_for(model, overlay, slug) or {}) if query.older_only else None
    # Pins are the editors' explicit choice: only a language the request names filters them.
    named = None if query.language == ANY_LANGUAGE else query.language
    pin_filters = _Filters.of(query, named, source_day)
    language, test_picks = _language(model, overlay, slug, query.language)
    fallback_filters = _Filters.of(query, language, source_day)
    # Untested, the picks keep what pins keep: `named` is None whenever `test_picks` is False.
    pick_filters = fallback_filters if test_picks else pin_filters
    ranked = list(_ranked(model, overlay, slug)) if editorial.pins else None
    scores = {_key(entry): entry for entry in ranked} if ranked else {}
    pins: deque[tuple[int, Entry]] = deque()
    for position, target in editorial.pins:
        found = _current(model, overlay, target)
        if found is None or editorial.hides(target):
            continue
        pin = Entry(target, *found, None, "pin", None)
        ranked_as = scores.get(_key(pin))
        if ranked_as is not None:
            pin = pin._replace(score=ranked_as.score, where=ranked_as.where)
        if _wanted(model, pin, query.exclude, pin_filters):
            pins.append((position, pin))
    source_row = model.rows.get(slug, -1)
    taken = {source_row if source_row >= 0 else slug} | {_key(pin) for _, pin in pins}
    hiding = bool(editorial.hidden_here or editorial.hidden_everywhere)

    def usable(entry: Entry, filters: _Filters | None) -> bool:
        return (
            _key(entry) not in taken
            and not (hiding and editorial.hides(_slug(model, entry)))
            and _wanted(model, entry, query.exclude, filters)
        )

    def picks() -> Iterator[Entry]:
        for entry in ranked if ranked is not None else _ranked(model, overlay, slug):
            # Lists are diversified, so a weak pick can follow a stronger one: skip, not stop.
            if entry.score >= query.min_score and usable(entry, pick_filters):
                taken.add(_key(entry))
                yield entry
        if query.fallbacks:
            for entry in _fallbacks(model, overlay, slug):
                if usable(entry, fallback_filters):
                    taken.add(_key(entry))
                    yield entry

    entries: list[Entry] = []
    stream = picks()
    while len(entries) < query.limit:
        if pins and pins[0][0] <= len(entries) + 1:
            entries.append(pins.popleft()[1])
            continue
        pick = next(stream, None)
        if pick is None:
            if not pins:
                break
            pins[0] = (len(entries) + 1, pins[0][1])  # a pin past the end closes the list
            continue
        entries.append(pick)
    return entries


def _why(model: Model, where: tuple[int, int] | None) -> bytes:
    if where is None or where[1] >= model.why_width:
        return b"null"
    row, k = where
    return model.why[row * model.why_width + k] or b"null"


def _item_json(model: Model, entry: Entry, position: int) -> bytes:
    card = model.cards.json(entry.row) if entry.card is None else orjson.dumps(entry.card)
    score = b"null" if entry.score is None else orjson.dumps(round(entry.score, 4))
    # The card's object, reopened to add the item's own fields.
    return b'%s,"score":%s,"source":"%s","why":%s,"position":%d}' % (
        card[:-1], score, entry.source.encode(), _why(model, entry.where), position
    )  # fmt: skip


def items_json(model: Model, entries: list[Entry], fields: tuple[str, ...] | None) -> bytes:
    """The cards of `entries` as a JSON array, cut to `fields` (plus slug and position, which
    clicks are attributed by) when given."""
    items = [_item_json(model, entry, k) for k, entry in enumerate(entries, 1)]
    if fields is not None:
        items = [orjson.dumps(_project(orjson.loads(item), fields)) for item in items]
    return b"[" + b",".join(items) + b"]"


def related_items(
    model: Model,
    slug: str,
    query: RelatedQuery,
    editorial: Editorial = NO_OVERRIDES,
    overlay: Overlay | None = None,
) -> list[dict[str, Any]]:
    """`related_entries` as the dicts the API serves."""
    entries = related_entries(model, slug, query, editorial, overlay)
    return orjson.loads(items_json(model, entries, query.fields))
