"""Input checked by the API models (`api_models`), failures in the one error shape."""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from flask import current_app
from pydantic import TypeAdapter, ValidationError

from relata.service.errors import ApiError

T = TypeVar("T")
DISCRIMINATOR = "kind"  # the field that picks a member of a union model (NewOverride)


@cache
def _adapter(shape: Any) -> TypeAdapter[Any]:
    return TypeAdapter(shape)  # built once per shape: building one compiles its validator


def _message(error: dict[str, Any], data: Any) -> str:
    if error["type"].startswith("union_tag_"):  # not the sent tag: it may be any JSON
        expected = error.get("ctx", {}).get("expected_tags")
        return f"{DISCRIMINATOR}: " + (f"one of {expected}" if expected else "required")
    where = [str(part) for part in error["loc"]]
    if where and isinstance(data, dict) and where[0] == data.get(DISCRIMINATOR):
        where = where[1:]  # a union's errors start with the member's tag: not a field
    text = error["msg"].removeprefix("Value error, ")
    return f"{'.'.join(where) or 'body'}: {text}"


def validated(shape: type[T], data: Any, code: str = "bad_parameter") -> T:
    """`data` as `shape` checked it, bounds taken from this app's settings; 400 `code`
    naming the first bad field otherwise."""
    try:
        return _adapter(shape).validate_python(data, context=current_app.config)
    except ValidationError as exc:
        raise ApiError(400, code, _message(exc.errors()[0], data)) from None
