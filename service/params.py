"""Parse and check the parameters of a related-list request, naming the bad one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import orjson
from flask import request

from relata.service.errors import ApiError
from relata.service.related import ANY_LANGUAGE, ITEM_FIELDS, RelatedQuery
from relata.training.language import LANGUAGES

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


def json_body(message: str, bad_text: str = "bad_json") -> Any:
    """The request's JSON body, or 400 `bad_json` with `message`.

    orjson, not the standard parser: it refuses nesting past 1024 levels (a RecursionError
    in `json`) and lone surrogates ("\\ud800": text no response, log or database can hold)
    by itself. The latter answer with the caller's `bad_text` code, e.g. `invalid_article`.
    """
    try:
        return orjson.loads(request.get_data(cache=True))
    except orjson.JSONDecodeError as exc:
        if "surrogate" in exc.msg:
            raise ApiError(400, bad_text, f"text is not valid Unicode ({exc})") from None
        raise ApiError(400, "bad_json", message) from None


def _limit(value: Any, default: int, largest: int) -> int:
    if value is None:
        return default
    try:
        if isinstance(value, float | bool):
            raise ValueError
        limit = int(value)
        if str(limit) != str(value).strip():
            raise ValueError
    except (TypeError, ValueError):
        raise _bad("limit", f"must be a whole number from 1 to {largest}") from None
    if not 1 <= limit <= largest:
        raise _bad("limit", f"must be from 1 to {largest}, got {limit}")
    return limit


def _day(name: str, value: Any) -> str | None:
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise _bad(name, f"must be an ISO date (YYYY-MM-DD), got {value!r}") from None


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is not None and not isinstance(value, str):  # JSON: true or false only
        raise _bad(name, f"must be true or false, got {value!r}")
    text = "" if value is None else value.strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise _bad(name, f"must be true or false, got {value!r}")


# What each parameter is in a JSON body (the query string has only text).
JSON_TYPES: dict[str, tuple[type, str]] = {
    "limit": (int, "a whole number"),
    "fields": (list, "a list of strings"),
    "category": (list, "a list of strings"),
    "exclude_category": (list, "a list of strings"),
    "exclude": (list, "a list of strings"),
    "since": (str, "an ISO date string"),
    "until": (str, "an ISO date string"),
    "older_only": (bool, "true or false"),
    "fallbacks": (bool, "true or false"),
    "language": (str, "any or a language code"),
}


def _check_json_types(params: Mapping[str, Any]) -> None:
    for name, value in params.items():
        expected, described = JSON_TYPES.get(name, (object, ""))
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise _bad(name, f"must be {described}")


def _language(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if value == ANY_LANGUAGE:
        return ANY_LANGUAGE
    if value not in LANGUAGES:
        raise _bad("language", f"must be {ANY_LANGUAGE} or a language code (ISO 639-1)")
    return value


def parse_query(
    params: Mapping[str, Any], config: Mapping[str, Any], *, from_json: bool = False
) -> RelatedQuery:
    """A `RelatedQuery` from query-string or JSON parameters; ApiError(400) when bad.

    The one builder of list queries: `config` is the app's settings (upper-case names, as
    in `app.config`), so every list (API, batch, ingest response, editor page, export)
    gets the same `min_score` and limits. `from_json`: the parameters came in a JSON body,
    so each must have its JSON type (a list, not comma-separated text; null is refused).
    """
    default_limit, max_limit = config["DEFAULT_LIMIT"], config["MAX_LIMIT"]
    min_score = config["MIN_SCORE"]
    if not params:  # the common call: every default
        return RelatedQuery(limit=default_limit, min_score=min_score)
    if from_json:
        _check_json_types(params)
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
        language=_language(params.get("language")),
    )
