"""Article search for the editor page: title or slug text, category and date filters,
newest first, with the number of matches."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

SHOWN_RESULTS = 30


@dataclass(frozen=True)
class SearchQuery:
    """What an editor asked for; `error` names a filter that could not be read."""

    text: str = ""
    category: str = ""
    since: str = ""  # ISO date, inclusive
    until: str = ""  # ISO date, inclusive
    error: str | None = None

    @property
    def asked(self) -> bool:
        """Whether there is anything to search for."""
        return bool(self.text.strip() or self.category or self.since or self.until)


@dataclass(frozen=True)
class SearchResult:
    """The first matches, newest first, and how many there are in all."""

    total: int = 0
    cards: list[dict[str, Any]] = field(default_factory=list)


def _day(args: Mapping[str, str], name: str, label: str) -> tuple[str, str | None]:
    text = args.get(name, "").strip()
    if not text:
        return "", None
    try:
        return date.fromisoformat(text).isoformat(), None
    except ValueError:
        return "", f"{label}: not a date (YYYY-MM-DD): {text!r}"


def parse_search(args: Mapping[str, str]) -> SearchQuery:
    """The search form's fields; a bad date is reported, not raised, for the page to say."""
    since, since_error = _day(args, "from", "From")
    until, until_error = _day(args, "to", "To")
    error = since_error or until_error
    if not error and since and until and since > until:
        error = f"From ({since}) is after To ({until})."
    return SearchQuery(args.get("q", "").strip(), args.get("category", "").strip(), since, until,
                       error)  # fmt: skip


def _matches(card: dict[str, Any], query: SearchQuery, needle: re.Pattern[str] | None) -> bool:
    if needle and not (needle.search(card["title"]) or needle.search(card["slug"])):
        return False
    if query.category and (card["category"] or "").casefold() != query.category.casefold():
        return False
    day = (card["published_at"] or "")[:10]
    if query.since and (not day or day < query.since):
        return False
    return not (query.until and (not day or day > query.until))


def search(cards: Iterable[dict[str, Any]], query: SearchQuery) -> SearchResult:
    """Every card matching `query`, counted; the newest SHOWN_RESULTS of them returned."""
    if not query.asked or query.error:
        return SearchResult()
    # At the start of a word: "election" finds "Election Day", not "Jury Selection".
    needle = re.compile(rf"\b{re.escape(query.text)}", re.IGNORECASE) if query.text else None
    found = [card for card in cards if _matches(card, query, needle)]
    # Undated articles last: an editor looks for recent news first.
    found.sort(key=lambda card: card["published_at"] or "", reverse=True)
    return SearchResult(len(found), found[:SHOWN_RESULTS])


def categories(cards: Iterable[dict[str, Any]]) -> list[str]:
    """The archive's categories, as first spelled, in alphabetical order."""
    names: dict[str, str] = {}
    for card in cards:
        if card["category"]:
            names.setdefault(card["category"].casefold(), card["category"])
    return sorted(names.values(), key=str.casefold)
