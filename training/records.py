"""One article record, validated and normalised, whichever file or request it came from."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time
from typing import Any

from training.text import clean_text

SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
TEXT_FIELDS = ("title", "summary", "body")
KNOWN_FIELDS = (
    "slug", "title", "summary", "body", "category", "tags",
    "published_at", "url", "image", "language", "status",
)  # fmt: skip


def _tags(value: Any, from_csv: bool) -> list[str]:
    if value is None:
        return []
    if from_csv and isinstance(value, str):
        value = json.loads(value) if value.startswith("[") else value.split("|")
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise ValueError("tags must be a list of strings")
    return list(dict.fromkeys(tag.strip() for tag in value if tag.strip()))


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
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        if value.time() != time(0):
            return value.isoformat()
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    raise ValueError(f"published_at is not an ISO date: {value!r}")


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
    article = {name: clean_text(raw.get(name)) for name in TEXT_FIELDS}
    if not article["title"]:
        raise ValueError("missing title")
    article["slug"] = slug
    article["tags"] = _tags(raw.get("tags"), from_csv)
    article["published_at"] = _date(raw.get("published_at"))
    for name in ("category", "url", "image", "language"):
        article[name] = clean_text(raw.get(name)) or None
    article["status"] = clean_text(raw.get("status")) or "published"
    for name, value in raw.items():
        if name not in KNOWN_FIELDS and isinstance(value, str | int | float | bool):
            article[name] = value
    return article
