"""The editor API: read and change overrides, global blocks and the audit log.

Reads need any token; writes need the editor role and `If-Match` with the scope's
current version (412 when someone changed it first, 428 when it is missing).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from relata.service import api_models
from relata.service.api import live_model
from relata.service.auth import Principal, requires
from relata.service.editorial import EditorialCache
from relata.service.errors import ApiError
from relata.service.model_store import Model
from relata.service.overrides import NewOverride, utcnow
from relata.service.params import json_body
from relata.service.responses import json_response
from relata.service.schema import GLOBAL
from relata.service.stale import stale_overrides
from relata.service.validation import validated
from relata.training.records import SLUG

bp = Blueprint("editor_api", __name__)
AUDIT_LIMIT = re.compile(r"[0-9]{1,4}", re.ASCII)


def _cache() -> EditorialCache:
    return current_app.extensions["relata.editorial"]


def _body() -> dict[str, Any]:
    message = "The body must be a JSON object."
    body = json_body(message)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", message)
    return body


def _expected_version() -> int:
    header = request.headers.get("If-Match")
    if not header:
        raise ApiError(428, "precondition_required", "send If-Match with the version you read")
    return validated(api_models.IfMatch, {"If-Match": header}).version


def _known(model: Model, slug: Any, name: str) -> str:
    if not isinstance(slug, str) or slug not in model.rows:
        raise ApiError(404, "unknown_slug", f"{name}: no article {slug!r} in the model")
    return slug


def _state(scope: str, model: Model) -> Response:
    version, rows = _cache().overrides.state(scope)
    now, stale = utcnow(), stale_overrides(rows, model, _cache().current().unpublished)
    overrides = [
        {**row.as_dict(), "expired": bool(row.expires_at and row.expires_at <= now),
         "stale": stale.get(row.id)}
        for row in rows
    ]  # fmt: skip
    body = {"scope": scope, "version": version, "overrides": overrides}
    response = json_response(body)
    response.headers["ETag"] = f'"{version}"'
    return response


def _changed(scope: str, model: Model) -> Response:
    _cache().refresh()  # this process serves the change at once; others within seconds
    return _state(scope, model)


@bp.get("/v1/overrides/<slug>")
@requires("viewer")
def get_overrides(slug: str, principal: Principal) -> Response:
    """A source article's pins and blocks, with its version for If-Match."""
    model = live_model()
    return _state(_known(model, slug, "slug"), model)


@bp.post("/v1/overrides/<slug>")
@requires("editor")
def add_override(slug: str, principal: Principal) -> Response:
    """Pin a target at a position in this article's list, or block it there."""
    expected, model, body = _expected_version(), live_model(), _body()
    source = _known(model, slug, "slug")
    asked = validated(api_models.NewOverride, body)
    target = _known(model, asked.target, "target")
    if target == source:
        raise ApiError(400, "self_link", "an article cannot be related to itself")
    position = asked.position if isinstance(asked, api_models.NewPin) else None
    new = NewOverride(asked.kind, target, asked.reason, position, asked.expires_at)
    _cache().overrides.add(source, expected, principal.name, new)
    return _changed(source, model)


@bp.delete("/v1/overrides/<slug>/<target>")
@requires("editor")
def remove_override(slug: str, target: str, principal: Principal) -> Response:
    """Remove this article's pin or block of `target`."""
    expected, model = _expected_version(), live_model()
    # Not `_known`: an override whose source left the model must stay removable. But "*"
    # (the global scope) is no article: global blocks are lifted through /v1/blocks.
    if not SLUG.fullmatch(slug):
        raise ApiError(404, "unknown_slug", f"slug: {slug!r} is not an article")
    _cache().overrides.remove(slug, expected, principal.name, target)
    return _changed(slug, model)


@bp.patch("/v1/overrides/<slug>/<target>")
@requires("editor")
def move(slug: str, target: str, principal: Principal) -> Response:
    """Move `target` to a position in this article's list; no other override changes."""
    expected, model, body = _expected_version(), live_model(), _body()
    source = _known(model, slug, "slug")
    target = _known(model, target, "target")
    if target == source:
        raise ApiError(400, "self_link", "an article cannot be related to itself")
    asked = validated(api_models.Move, body)
    new = NewOverride("pin", target, asked.reason, asked.position, asked.expires_at)
    _cache().overrides.move(source, expected, principal.name, new)
    return _changed(source, model)


@bp.put("/v1/overrides/<slug>/order")
@requires("editor")
def reorder(slug: str, principal: Principal) -> Response:
    """Set a full manual order for the top of this article's list."""
    expected, model, body = _expected_version(), live_model(), _body()
    source = _known(model, slug, "slug")
    order = validated(api_models.Order, body)
    targets = [_known(model, target, "slugs") for target in order.slugs]
    if len(set(targets)) != len(targets):
        raise ApiError(400, "duplicate", "slugs: a slug appears twice")
    if source in targets:
        raise ApiError(400, "self_link", "an article cannot be related to itself")
    _cache().overrides.reorder(
        source, expected, principal.name, targets, order.reason, order.expires_at
    )
    return _changed(source, model)


@bp.get("/v1/blocks")
@requires("viewer")
def get_blocks(principal: Principal) -> Response:
    """Articles blocked everywhere or unpublished, with the version for If-Match."""
    return _state(GLOBAL, live_model())


@bp.post("/v1/blocks")
@requires("editor")
def add_block(principal: Principal) -> Response:
    """Block an article from every list (`block`), or unpublish it (`unpublish`)."""
    expected, model, body = _expected_version(), live_model(), _body()
    asked = validated(api_models.NewGlobalBlock, body)
    target = _known(model, asked.target, "target")
    new = NewOverride(asked.kind, target, asked.reason, None, asked.expires_at)
    _cache().overrides.add(GLOBAL, expected, principal.name, new)
    return _changed(GLOBAL, model)


@bp.delete("/v1/blocks/<target>")
@requires("editor")
def remove_block(target: str, principal: Principal) -> Response:
    """Lift a global block or unpublishing."""
    expected, model = _expected_version(), live_model()
    _cache().overrides.remove(GLOBAL, expected, principal.name, target)
    return _changed(GLOBAL, model)


@bp.get("/v1/audit")
@requires("viewer")
def audit(principal: Principal) -> Response:
    """The newest changes, optionally of one scope (`?scope=slug` or `?scope=*`)."""
    text = request.args.get("limit", "100")
    largest = api_models.MAX_AUDIT
    if not AUDIT_LIMIT.fullmatch(text) or not 1 <= int(text) <= largest:
        raise ApiError(400, "bad_parameter", f"limit: a whole number from 1 to {largest}")
    entries = _cache().overrides.audit(request.args.get("scope"), int(text))
    return json_response({"entries": entries})


@bp.get("/v1/overrides:stale")
@requires("viewer")
def stale(principal: Principal) -> Response:
    """Overrides whose source or target is gone from the model, or unpublished."""
    model = live_model()
    _, _, rows = _cache().overrides.everything()
    reasons = stale_overrides(rows, model, _cache().current().unpublished)
    listed = [{**row.as_dict(), "scope": row.scope, "stale": reasons[row.id]}
              for row in rows if row.id in reasons]  # fmt: skip
    return json_response({"model_version": model.version, "stale": listed})


def init_app(app: Flask) -> None:
    """Register the editor API."""
    app.register_blueprint(bp)
