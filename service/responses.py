"""JSON responses, encoded once with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response


def json_response(payload: Any, status: int = 200) -> Response:
    """A JSON response of `payload`."""
    return Response(orjson.dumps(payload), status=status, mimetype="application/json")
