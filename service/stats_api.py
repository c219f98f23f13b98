"""`GET /v1/stats`: click-through rates per model version, variant or position (viewer)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

from flask import Blueprint, Flask, Response, current_app, request

from relata.service import stats
from relata.service.auth import Principal, requires
from relata.service.errors import ApiError
from relata.service.responses import json_response

bp = Blueprint("stats", __name__)

DEFAULT_DAYS = 30


def _day(name: str, text: str | None, default: date) -> date:
    if text is None:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, "bad_parameter", f"{name}: must be an ISO date (YYYY-MM-DD)") from None


def period(args: Mapping[str, str], today: date) -> tuple[date, date]:
    """The inclusive days asked for: `to` (default today, UTC) and `from` (default the 30
    days up to `to`); 400 for a day that is not an ISO date."""
    end = _day("to", args.get("to"), today)
    try:
        month_before = end - timedelta(days=DEFAULT_DAYS - 1)
    except OverflowError:  # `to` in the first days of year 1
        month_before = date.min
    # `from` after `to` is a period without days: an empty report, not an error.
    return _day("from", args.get("from"), month_before), end


@bp.get("/v1/stats")
@requires("viewer")
def get_stats(principal: Principal) -> Response:
    """Impressions, clicks and CTR (Wilson 95 % interval) per group, with a significance
    test between the two most shown groups."""
    by = request.args.get("group", "model_version")
    if by not in stats.GROUPS:
        raise ApiError(400, "bad_parameter", f"group: must be one of {', '.join(stats.GROUPS)}")
    start, end = period(request.args, datetime.now(UTC).date())
    database = current_app.extensions["relata.database"]
    return json_response(stats.report(database, start, end, by))


def init_app(app: Flask) -> None:
    """Register the stats route."""
    app.register_blueprint(bp)
