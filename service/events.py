"""`POST /v1/events`: readers' impressions and clicks of related lists, as counters.

The endpoint is public (the widget calls it from readers' browsers with
`navigator.sendBeacon`, whose body comes as `text/plain`), so it trusts nothing: the body
is capped (413), each client address is rate-limited (429), and every event must be
exactly right or the whole request is refused (400) with nothing counted. An accepted
event can only add one to counters of a model version and articles this service knows.
"""

from __future__ import annotations

import atexit
import re
import weakref
from pathlib import Path
from typing import Any

import orjson
from flask import Blueprint, Flask, Response, current_app, request

from relata.service import ab, background
from relata.service.errors import ApiError
from relata.service.events_rate import RateLimiter
from relata.service.events_store import Event, EventCounters
from relata.service.responses import json_response

bp = Blueprint("events", __name__)

MAX_EVENTS = 50  # per request: a page's blocks, batched
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,199}")
FIELDS = frozenset({"type", "rid", "slug", "target", "position"})
TYPES = ("impression", "click")


def _bad(message: str) -> ApiError:
    return ApiError(400, "bad_event", message)


def _body(limit: int) -> Any:
    """The JSON body, read no further than `limit` bytes (413 past it)."""
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "too_large", f"an events body is at most {limit} bytes")
    data = request.stream.read(limit + 1)  # chunked bodies have no length to check first
    if len(data) > limit:
        raise ApiError(413, "too_large", f"an events body is at most {limit} bytes")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise ApiError(400, "bad_json", 'the body must be {"events": [...]} in JSON') from None


class Known:
    """What events may name: model versions in the models folder (a list served before a
    swap still counts for its version) and articles of the models this worker serves."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self._versions: set[str] = set()

    def models(self) -> list[Any]:
        store = current_app.extensions["relata.store"]
        experiment = current_app.extensions.get("relata.experiment")
        loaded = list(experiment.models.values()) if experiment else []
        return [store.model, *loaded] if store.model is not None else loaded

    def version(self, version: str) -> bool:
        if version not in self._versions and (self.models_dir / version).is_dir():
            self._versions.add(version)  # versions are pruned rarely; keep the yes answers
        return version in self._versions

    def article(self, slug: str, models: list[Any], overlay: Any) -> bool:
        return any(slug in model.rows for model in models) or bool(
            overlay is not None and overlay.knows(slug)
        )


def parse_event(index: int, raw: Any, largest: int) -> Event:
    """One event of the body, checked field by field (400 naming the event and field)."""
    where = f"events[{index}]"
    if not isinstance(raw, dict) or not set(raw) <= FIELDS:
        raise _bad(f"{where}: must be an object with only {', '.join(sorted(FIELDS))}")
    kind, rid, slug = raw.get("type"), raw.get("rid"), raw.get("slug")
    target, position = raw.get("target"), raw.get("position")
    if kind not in TYPES:
        raise _bad(f"{where}.type: must be impression or click")
    if not isinstance(slug, str) or not SLUG.fullmatch(slug):
        raise _bad(f"{where}.slug: must be an article slug")
    parsed = ab.parse_list_id(rid) if isinstance(rid, str) else None
    if parsed is None or parsed[2] != slug:
        raise _bad(f"{where}.rid: must be the rid of the list served for {slug!r}")
    if not isinstance(position, int) or isinstance(position, bool) or not 1 <= position <= largest:
        raise _bad(f"{where}.position: must be a whole number from 1 to {largest}")
    if kind == "click" and (not isinstance(target, str) or not SLUG.fullmatch(target)):
        raise _bad(f"{where}.target: a click needs the slug of the card followed")
    if kind == "impression" and target is not None:
        raise _bad(f"{where}.target: an impression names no target (position: cards shown)")
    return Event(kind, parsed[0], parsed[1], slug, target, position)


def parse_events(body: Any, largest: int) -> list[Event]:
    """Every event of `body`, or 400 for the first bad one."""
    if not isinstance(body, dict) or set(body) != {"events"}:
        raise _bad('the body must be {"events": [...]}')
    raw = body["events"]
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_EVENTS:
        raise _bad(f"events: must be a list of 1 to {MAX_EVENTS} events")
    return [parse_event(index, event, largest) for index, event in enumerate(raw)]


def _check_known(events: list[Event]) -> None:
    known: Known = current_app.extensions["relata.events.known"]
    models = known.models()
    store = current_app.extensions["relata.store"]
    overlay = None  # articles ingested since training count too
    if store.model is not None:
        snapshot = current_app.extensions["relata.editorial"].current()
        overlay = current_app.extensions["relata.overlays"].get(store.model, snapshot)
    for index, event in enumerate(events):
        if not known.version(event.version):
            raise _bad(f"events[{index}].rid: no model version {event.version!r} here")
        for field, slug in (("slug", event.slug), ("target", event.target)):
            if slug is not None and not known.article(slug, models, overlay):
                raise _bad(f"events[{index}].{field}: no article {slug!r} here")


@bp.post("/v1/events")
def post_events() -> Response:
    """Count readers' impressions and clicks (202: counted, written within a flush)."""
    config = current_app.config
    if not config["EVENTS"]:
        raise ApiError(404, "events_disabled", "this service does not count events")
    limiter: RateLimiter = current_app.extensions["relata.events.limiter"]
    if not limiter.allow(request.remote_addr or ""):
        raise ApiError(429, "rate_limited", "too many event requests from this address")
    events = parse_events(_body(config["EVENTS_MAX_BYTES"]), config["MAX_LIMIT"])
    _check_known(events)
    current_app.extensions["relata.events"].record(events)
    return json_response({"accepted": len(events)}, 202)


def _flush_at_exit(reference: weakref.ref[EventCounters]) -> None:
    counters = reference()
    if counters is not None:
        counters.flush()


def init_app(app: Flask) -> None:
    """Register the endpoint and the counters' flush: every `events_flush_interval`
    seconds, when the app's timers stop, and at interpreter exit (dev server)."""
    config = app.config
    counters = EventCounters(app.extensions["relata.database"], config["EVENTS_LOG"])
    app.extensions["relata.events"] = counters
    app.extensions["relata.events.limiter"] = RateLimiter(config["EVENTS_PER_MINUTE"])
    app.extensions["relata.events.known"] = Known(Path(config["MODELS_DIR"]))
    if config["EVENTS"]:
        background.start(app, counters.flush, config["EVENTS_FLUSH_INTERVAL"], "events",
                         at_once=False, final=True)  # fmt: skip
        atexit.register(_flush_at_exit, weakref.ref(counters))
    app.register_blueprint(bp)
