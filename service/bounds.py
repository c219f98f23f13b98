"""Bounds of API models that are service settings (`max_limit`, `max_batch`, …).

A model field annotated with `AtMost("MAX_LIMIT")` is checked against the app's value
(the validation context is `app.config`) and described with it: the JSON schema carries
a marker that `relata.service.openapi` replaces with the configured number, so a service
run with `RELATA_MAX_LIMIT=20` describes and enforces 20.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

MARKER = "x-relata-settings"  # {JSON Schema keyword: setting name}, resolved per app


def _mark(json_schema: JsonSchemaValue, keyword: str, setting: str) -> JsonSchemaValue:
    json_schema.setdefault(MARKER, {})[keyword] = setting
    return json_schema


@dataclass(frozen=True)
class AtMost:
    """The largest number, or longest list, is the setting `name` (upper case, as in
    `app.config`)."""

    name: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.with_info_after_validator_function(self._check, handler(source))

    def _check(self, value: Any, info: ValidationInfo) -> Any:
        largest = _config(info)[self.name]
        size = len(value) if isinstance(value, list) else value
        if size > largest:
            unit = " items" if isinstance(value, list) else ""
            raise PydanticCustomError("too_large", f"must be at most {largest}{unit}")
        return value

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        keyword = "maxItems" if json_schema.get("type") == "array" else "maximum"
        return _mark(json_schema, keyword, self.name)


@dataclass(frozen=True)
class DefaultFrom:
    """The value used when the field is left out is the setting `name` (described only:
    the code that reads the field applies the setting)."""

    name: str

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return _mark(handler(schema), "default", self.name)


def _config(info: ValidationInfo) -> Mapping[str, Any]:
    if not isinstance(info.context, Mapping):
        raise TypeError("validate with context=app.config: a bound is a service setting")
    return info.context


def resolve(node: Any, config: Mapping[str, Any]) -> Any:
    """A copy of a JSON schema (or a whole document) with every marker replaced by the
    configured values."""
    if isinstance(node, list):
        return [resolve(item, config) for item in node]
    if not isinstance(node, dict):
        return node
    resolved = {key: resolve(value, config) for key, value in node.items() if key != MARKER}
    for keyword, name in node.get(MARKER, {}).items():
        resolved[keyword] = config[name]
    return resolved
