"""Parse and check the parameters of a related-list request, naming the bad one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from service.errors import ApiError
from service.related import ITEM_FIELDS, RelatedQuery

TRUE = ("1", "true", "yes")
FALSE = ("0", "false", "no", "")


def _bad(name: str, message: str) -> ApiError:
    return ApiError(400, "bad_parameter", f"{name}: {message}")


def _text_list(name: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return [part.strip() for part in value if part.strip()]
    raise _bad(name, "must be a comma-separated string or a list of strings")


def _limit(value: Any, default: int, largest: int) -> int:
    if value is None:
        return default
    try:
        limit = int(value)
        if isinstance(value, float | bool) or str(limit) != str(value).strip():
            raise ValueError
    except (TypeError, ValueError):
        raise _bad("limit", f"must be a whole number from 1 to {largest}") from None
    if not 1 <= limit <= largest:
        raise _bad("limit", f"must be from 1 to {largest}, got {limit}")
    return limit


def _day(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise _bad(name, f"must be an ISO date (YYYY-MM-DD), got {value!r}") from None


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise _bad(name, f"must be true or false, got {value!r}")


def parse_query(
    params: Mapping[str, Any], default_limit: int, max_limit: int, min_score: float = 0.0
) -> RelatedQuery:
    """A `RelatedQuery` from query-string or JSON parameters; ApiError(400) when bad."""
    if not params:  # the common call: every default
        return RelatedQuery(limit=default_limit, min_score=min_score)
    fields = None
    if params.get("fields") is not None:
        fields = tuple(_text_list("fields", params.get("fields")))
        unknown = sorted(set(fields) - set(ITEM_FIELDS))
        if unknown or not fields:
            named = f"unknown {', '.join(unknown)}" if unknown else "names no field"
            raise _bad("fields", f"{named}; choose from {', '.join(ITEM_FIELDS)}")
    since, until = _day("since", params.get("since")), _day("until", params.get("until"))
    if since and until and since > until:
        raise _bad("since", "must not be after until")
    return RelatedQuery(
        limit=_limit(params.get("limit"), default_limit, max_limit),
        fields=fields,
        category=frozenset(c.casefold() for c in _text_list("category", params.get("category"))),
        exclude_category=frozenset(
            c.casefold() for c in _text_list("exclude_category", params.get("exclude_category"))
        ),
        exclude=frozenset(_text_list("exclude", params.get("exclude"))),
        since=since,
        until=until,
        older_only=_flag("older_only", params.get("older_only")),
        fallbacks=_flag("fallbacks", params.get("fallbacks", True)),
        min_score=min_score,
    )
