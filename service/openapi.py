"""The OpenAPI 3.1 document, generated from the API's shapes (`api_models`, `api_replies`)
and a table of operations (`operations`), so it cannot drift from what the service
validates."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, NoDefault
from pydantic_core import core_schema

from relata.service.api_replies import Error
from relata.service.bounds import resolve

REF = "#/components/schemas/{model}"
JSON = "application/json"
INFO = {
    "title": "Relata",
    "version": "1",
    "description": "Related-article cards for news and magazine sites.",
}
BEARER = {"type": "http", "scheme": "bearer", "description": "A token from `relata tokens create`."}
ERROR_REPLIES: dict[int, str] = {
    400: "A bad parameter (`bad_parameter`) or body (`bad_json`)",
    401: "No valid token (`unauthorized`)",
    403: "Role too low (`forbidden`) or bad CSRF token (`csrf`)",
    404: "Unknown slug (`unknown_slug`)",
    410: "The article is unpublished (`unpublished`) or deleted (`deleted`)",
    412: "The version changed (`precondition_failed`)",
    413: "Body too large",
    414: "Request line too long (from the server in front)",
    428: "If-Match missing (`precondition_required`)",
    503: "No model loaded (`no_model`) or the database is away (`database_unavailable`)",
}


@dataclass(frozen=True)
class Reply:
    """One response: a JSON shape (a model or TypedDict), another media type, or no body."""

    description: str
    shape: Any = None
    media: str = JSON
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Operation:
    """One method on one path. Path parameters come from the path's `{names}`; `query`
    and `headers` are models whose fields are the parameters; `errors` are statuses
    answered with the one error shape (descriptions from `ERROR_REPLIES` unless
    `replies` gives one)."""

    method: str
    path: str
    summary: str
    ok: Reply | None  # the 200 (None: a route that only redirects or fails)
    errors: tuple[int, ...] = ()
    replies: Mapping[int, Reply] = field(default_factory=dict)
    description: str = ""
    query: type[BaseModel] | None = None
    headers: type[BaseModel] | None = None
    body: Any = None
    body_media: str = JSON
    body_required: bool = True
    bearer: bool = False  # needs `Authorization: Bearer <token>`


class _Schemas(GenerateJsonSchema):
    """Pydantic's JSON Schema, less the noise: no per-field titles, and no `default:
    null` for a field that may be left out but is not nullable (`name: T = None`)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        default = super().get_default_value(schema)
        return NoDefault if default is None else default


def _parameters(model: type[BaseModel], where: str) -> list[dict[str, Any]]:
    schema = TypeAdapter(model).json_schema(ref_template=REF, schema_generator=_Schemas)
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        parameter = {"name": name, "in": where, "required": name in required, "schema": prop}
        if "description" in prop:
            parameter["description"] = prop.pop("description")
        parameters.append(parameter)
    return parameters


def _content(media: str, shape: Any, schemas: Mapping[Any, Any]) -> dict[str, Any]:
    return {media: {"schema": schemas[shape] if media == JSON else {"type": "string"}}}


def _reply(reply: Reply, schemas: Mapping[Any, Any]) -> dict[str, Any]:
    described: dict[str, Any] = {"description": reply.description}
    if reply.headers:
        described["headers"] = {name: {"schema": {"type": "string"}} for name in reply.headers}
    if reply.shape is not None or reply.media != JSON:
        described["content"] = _content(reply.media, reply.shape, schemas)
    return described


def _operation(op: Operation, schemas: Mapping[Any, Any]) -> dict[str, Any]:
    described: dict[str, Any] = {"summary": op.summary}
    if op.description:
        described["description"] = op.description
    if op.bearer:
        described["security"] = [{"bearer": []}]
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", op.path)
    ]
    if op.query is not None:
        parameters += _parameters(op.query, "query")
    if op.headers is not None:
        parameters += _parameters(op.headers, "header")
    if parameters:
        described["parameters"] = parameters
    if op.body is not None:
        content = {op.body_media: {"schema": schemas[op.body]}}
        described["requestBody"] = {"required": op.body_required, "content": content}
    replies = {200: op.ok} if op.ok else {}
    replies.update({status: Reply(ERROR_REPLIES[status], Error) for status in op.errors})
    replies.update(op.replies)
    described["responses"] = {str(status): _reply(reply, schemas) for status, reply
                              in sorted(replies.items())}  # fmt: skip
    return described


def _shapes(operations: Iterable[Operation]) -> list[Any]:
    shapes: list[Any] = [Error]
    for op in operations:
        shapes += [reply.shape for reply in (op.ok, *op.replies.values()) if reply and reply.shape]
        shapes += [op.body] if op.body is not None else []
    return list(dict.fromkeys(shapes))


def document(operations: Iterable[Operation], config: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `operations`, with the bounds that are settings taken
    from `config` (the app's, upper-case names)."""
    operations = list(operations)
    shapes = _shapes(operations)
    inputs = [(shape, "validation", TypeAdapter(shape).core_schema) for shape in shapes]
    keyed, definitions = _Schemas(ref_template=REF).generate_definitions(inputs)  # type: ignore[arg-type]
    schemas = {shape: keyed[(shape, "validation")] for shape in shapes}
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas)
    described = {
        "openapi": "3.1.0",
        "info": INFO,
        "paths": paths,
        "components": {"schemas": definitions, "securitySchemes": {"bearer": BEARER}},
    }
    return resolve(described, config)
