"""One error shape for every failure: `{"error": {"code", "message"}}` with the right status."""

from __future__ import annotations

import logging
import re

from flask import Flask, Response
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from relata.service.responses import json_response

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A failure the client should see: HTTP status, stable code, human message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str) -> Response:
    """The JSON error response every route uses."""
    return json_response({"error": {"code": code, "message": message}}, status)


def _http_code(exc: HTTPException) -> str:
    # "Method Not Allowed" -> "method_not_allowed"
    return re.sub(r"[^a-z0-9]+", "_", (exc.name or "error").lower()).strip("_")


def init_app(app: Flask) -> None:
    """Register the handlers that turn every exception into the one error shape."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        response = error_response(exc.status, exc.code, exc.message)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="relata"'
        return response

    @app.errorhandler(SQLAlchemyError)
    def _database_error(exc: SQLAlchemyError) -> Response:
        log.error("database error: %s", exc)
        return error_response(503, "database_unavailable", "The overrides database is unavailable.")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        response = error_response(exc.code or 500, _http_code(exc), exc.description or "")
        for name, value in exc.get_headers():
            if name.lower() == "allow":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unexpected error")
        return error_response(500, "internal_error", "The server failed to answer.")
