"""Ops endpoints: liveness, readiness, what is running, and the API description."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

import orjson
from flask import Blueprint, Flask, Response, current_app

from relata.service.errors import ApiError
from relata.service.model_store import ModelStore
from relata.service.openapi import document
from relata.service.operations import OPERATIONS
from relata.service.responses import json_response
from relata.training.provenance import library_versions

bp = Blueprint("ops", __name__)

SERVICE_LIBRARIES = ("relata", "flask", "gunicorn", "numpy", "orjson", "prometheus-client")


def _store() -> ModelStore:
    return current_app.extensions["relata.store"]


@bp.get("/healthz")
def healthz() -> Response:
    """The process is alive and answering."""
    return json_response({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Ready once a verified model is loaded; degraded (still 200: lists are served)
    while the database is away or an older version stands in for a failed `CURRENT`."""
    store = _store()
    if store.model is None:
        raise ApiError(503, "no_model", "No verified model is loaded yet.")
    healthy, error = current_app.extensions["relata.editorial"].health()
    return json_response(
        {
            "status": "ready" if healthy and store.fallback is None else "degraded",
            "model_version": store.model.version,
            "refused_versions": store.failed,
            # Set while CURRENT's version failed at start and an older one serves.
            "fallback": store.fallback,
            # Lists are served from the model alone while the database is away.
            "database": "ok" if healthy else f"unavailable ({error})",
        }
    )


def _public(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest with archive file names only: where they sit on the training machine
    is nobody's business on a public endpoint."""
    archive = manifest.get("archive")
    if not isinstance(archive, dict) or "files" not in archive:
        return manifest
    names = [PurePath(str(path)).name for path in archive["files"]]
    return {**manifest, "archive": {**archive, "files": names}}


@bp.get("/-/version")
def version() -> Response:
    """The live model's manifest and the service's library versions."""
    store = _store()
    manifest = _public(store.model.manifest) if store.model else None
    return json_response({"service": library_versions(SERVICE_LIBRARIES), "model": manifest})


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 description of every endpoint, as this app's settings bound it."""
    body = current_app.extensions.get("relata.openapi")
    if body is None:  # built on first use (not per app start: tests make many apps)
        body = orjson.dumps(document(OPERATIONS, current_app.config))
        current_app.extensions["relata.openapi"] = body
    return Response(body, mimetype="application/json")


def init_app(app: Flask) -> None:
    """Register the ops endpoints."""
    app.register_blueprint(bp)
