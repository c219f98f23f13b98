"""One article record, validated and normalised, whichever file or request it came from."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlsplit

from relata.training.text import clean_text

SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
TEXT_FIELDS = ("title", "summary", "body")
LINK_FIELDS = ("url", "image")
_UNSAFE = re.compile(r'[\s<>"\x00-\x1f\x7f]')  # never unescaped in a URL (RFC 3986)
KNOWN_FIELDS = (
    "slug", "title", "summary", "body", "category", "tags",
    "published_at", "url", "image", "language", "status",
)  # fmt: skip
# Training parses dates with pandas, so a date must fit a `pd.Timestamp` (nanoseconds
# since 1970 in 64 bits; tests/test_hostile.py checks these against pandas). Kept here as
# plain datetimes so that serving, which validates ingested articles, needs no pandas.
EARLIEST = datetime(1677, 9, 21, 0, 12, 43, 145225)
LATEST = datetime(2262, 4, 11, 23, 47, 16, 854775)


def _checked(name: str, value: Any) -> str | None:
    """`value` when it is text, None when it is missing; ValueError when it is anything else."""
    # NaN (unequal to itself): what pandas puts in an empty cell of a Parquet text column.
    if value is None or (isinstance(value, float) and value != value):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, got {type(value).__name__}")
    return value


def _text(name: str, value: Any) -> str:
    return clean_text(_checked(name, value))


def _tags(value: Any, from_csv: bool) -> list[str]:
    if value is None:
        return []
    if from_csv and isinstance(value, str):
        try:
            value = json.loads(value) if value.startswith("[") else value.split("|")
        except RecursionError:  # "[[[[…" nested too deep for the parser
            raise ValueError("tags must be a list of strings") from None
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise ValueError("tags must be a list of strings")
    # Tags are served too (a pick's `why`), so they are cleaned like any text.
    cleaned = (clean_text(tag) for tag in value)
    return list(dict.fromkeys(tag for tag in cleaned if tag))


def _date(value: Any) -> str | None:
    # NaN and NaT (what pandas puts in an empty cell) are the only values unequal to
    # themselves.
    if value is None or value == "" or value != value:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"published_at is not an ISO date: {value!r}") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time(0))
    if not isinstance(value, datetime):
        raise ValueError(f"published_at is not an ISO date: {value!r}")
    outside = ValueError(
        f"published_at {value.isoformat()} is outside {EARLIEST.date()} to {LATEST.date()}"
    )
    try:
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is past year 9999 in UTC
        raise outside from None
    if not EARLIEST <= value <= LATEST:
        raise outside
    return value.isoformat() if value.time() != time(0) else value.date().isoformat()


def _link(name: str, value: Any) -> str | None:
    # Not `clean_text`: stripping "tags" would quietly change a link. Only the "&amp;" of
    # an HTML-escaped query string is decoded; anything else odd is refused below.
    link = (_checked(name, value) or "").strip().replace("&amp;", "&")
    if link:
        parts = urlsplit(link)
        # Only web links: "javascript:" and "data:" URLs would run or render in a page;
        # and none of the characters that would end an HTML attribute early.
        if parts.scheme not in ("http", "https") or not parts.netloc or _UNSAFE.search(link):
            raise ValueError(f"{name} must be an http(s) URL, got {link[:80]!r}")
    return link or None


def _encodable(article: dict[str, Any]) -> None:
    # JSON may carry lone surrogates ("\ud800"); no response or file can hold them.
    for name, value in article.items():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    raise ValueError(f"{name} is not valid Unicode text") from None


def validate_record(raw: Any, from_csv: bool = False) -> dict[str, Any]:
    """One clean article from one raw record, or ValueError naming what is wrong."""
    if isinstance(raw, Exception):
        raise raw
    if not isinstance(raw, dict):
        raise ValueError("record is not an object")
    slug = raw.get("slug")
    if not isinstance(slug, str) or not slug:
        raise ValueError("missing slug")
    if not SLUG.fullmatch(slug):
        raise ValueError(f"slug {slug!r} is not of the form [a-z0-9][a-z0-9-]*")
    article = {name: _text(name, raw.get(name)) for name in TEXT_FIELDS}
    if not article["title"]:
        raise ValueError("missing title")
    article["slug"] = slug
    article["tags"] = _tags(raw.get("tags"), from_csv)
    article["published_at"] = _date(raw.get("published_at"))
    for name in ("category", "language"):
        article[name] = _text(name, raw.get(name)) or None
    for name in LINK_FIELDS:
        article[name] = _link(name, raw.get(name))
    article["status"] = _text("status", raw.get("status")) or "published"
    for name, value in raw.items():
        if name not in KNOWN_FIELDS and isinstance(value, str | int | float | bool):
            article[name] = value
    _encodable(article)
    return article
