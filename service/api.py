"""The public read API: related-article cards for one slug or a batch of slugs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from flask import Blueprint, Flask, Response, current_app, request

from relata.service import ab
from relata.service.editorial import EditorialCache, Snapshot
from relata.service.errors import ApiError
from relata.service.model_store import Model, ModelStore, OverlayCache
from relata.service.params import json_body, parse_query
from relata.service.related import Entry, RelatedQuery, items_json, related_entries

if TYPE_CHECKING:
    from relata.service.overlay import Overlay

bp = Blueprint("api", __name__)
LISTS = "relata.lists"


@dataclass(frozen=True)
class Lists:
    """The parts of the app a related list is made from, gathered once at start: a request
    reaches them all with one lookup rather than one lookup through Flask's proxies each
    (about a microsecond apiece on a path of a hundred or so)."""

    store: ModelStore
    editorial: EditorialCache
    overlays: OverlayCache
    experiment: ab.Experiment | None
    config: Mapping[str, Any]
    default_query: RelatedQuery  # what a list without a query string asks for
    cache_control: str

    def live_model(self) -> Model:
        """The model serving now, or 503 `no_model`."""
        if self.store.model is None:
            raise ApiError(503, "no_model", "No verified model is loaded yet.")
        return self.store.model

    def serving_model(self, slug: str, args: Mapping[str, str]) -> tuple[Model, str]:
        """The model serving `slug`'s list in a request with query `args` and its variant
        (see `service.ab`): an experiment's version when one runs and knows the article,
        else the live model."""
        visitor = args.get("visitor")
        if visitor is not None and not ab.VISITOR.fullmatch(visitor):
            raise ApiError(400, "bad_parameter", "visitor: must be 1 to 64 letters, digits, - or _")
        picked = self.experiment.pick(slug, visitor) if self.experiment else None
        if picked is not None and slug in picked[0].rows:
            return picked
        return self.live_model(), ab.LIVE


def _lists() -> Lists:
    return current_app.extensions[LISTS]  # type: ignore[no-any-return]


def live_model() -> Model:
    """The model serving this request, or 503 `no_model`."""
    return _lists().live_model()


def live_overlay(model: Model, snapshot: Snapshot) -> Overlay | None:
    """Articles ingested since the model was trained, folded into it."""
    return _lists().overlays.get(model, snapshot)


def _check(model: Model, snapshot: Snapshot, overlay: Overlay | None, slug: str) -> None:
    if overlay is not None and slug in overlay.removed:
        raise ApiError(410, "deleted", f"The article {slug!r} was deleted.")
    if slug not in model.rows and not (overlay and overlay.knows(slug)):
        raise ApiError(404, "unknown_slug", f"No article with slug {slug!r} in the model.")
    if slug in snapshot.unpublished:
        raise ApiError(410, "unpublished", f"The article {slug!r} is unpublished.")


def _cacheable(body: bytes | None, etag: str, cache_control: str, mimetype: str) -> Response:
    """A response (or a 304 without `body`) that shared caches may keep."""
    response = Response(status=304) if body is None else Response(body, mimetype=mimetype)
    # Added one by one: `Response(headers=…)` copies them through a slower path.
    response.headers.add("ETag", etag)
    response.headers.add("Cache-Control", cache_control)
    return response


# Renders one related list: (model, its entries, the query, its rid) -> the response body.
Render = Callable[[Model, list[Entry], RelatedQuery, str], bytes]


def cacheable_list(slug: str, render: Render, mimetype: str, salt: str = "") -> Response:
    """The related list of `slug` in the request's query, rendered by `render`, with the
    ETag and Cache-Control every format of a list shares (304 when If-None-Match matches);
    `salt` joins the ETag for what else shapes the body (a format's template)."""
    lists, environ = _lists(), request.environ
    # Most requests have no query string: parsing an empty one costs more than the check.
    args = request.args if environ.get("QUERY_STRING") else {}
    (model, variant), snapshot = lists.serving_model(slug, args), lists.editorial.current()
    overlay = lists.overlays.get(model, snapshot)
    _check(model, snapshot, overlay, slug)
    query = parse_query(args, lists.config) if args else lists.default_query
    editorial = snapshot.for_source(slug)
    # Ingested articles can change any list: while there are some, every change counts.
    tag = f"{model.version}.{editorial.version}" + (f".i{snapshot.revision}" if overlay else "")
    tag += ("" if variant == ab.LIVE else f".{variant}") + salt
    # Weak comparison (RFC 9110 §13.1.2): caches may send the tag back as W/"…".
    if "HTTP_IF_NONE_MATCH" in environ and request.if_none_match.contains_weak(tag):
        return _cacheable(None, f'"{tag}"', lists.cache_control, mimetype)
    entries = related_entries(model, slug, query, editorial, overlay)
    rid = ab.list_id(model.version, variant, slug)
    body = render(model, entries, query, rid)
    return _cacheable(body, f'"{tag}"', lists.cache_control, mimetype)


def _items(model: Model, entries: list[Entry], query: RelatedQuery) -> bytes:
    """The `"items":[…],"fallbacks":N` members of a list's object (one slug's reply or a
    batch's result), its cards spliced in as rendered: encoded once, never re-encoded."""
    fallbacks = sum(entry.source == "fallback" for entry in entries)
    return b'"items":%s,"fallbacks":%d' % (items_json(model, entries, query.fields), fallbacks)


@bp.get("/v1/related/<slug>")
def related(slug: str) -> Response:
    """Ranked related cards for one article."""

    def render(model: Model, entries: list[Entry], query: RelatedQuery, rid: str) -> bytes:
        variant = rid.split(".")[1].encode()
        head = b'{"slug":%s,"model_version":%s,"variant":"%s","rid":%s,' % (
            orjson.dumps(slug), orjson.dumps(model.version), variant, orjson.dumps(rid)
        )  # fmt: skip
        return head + _items(model, entries, query) + b"}"

    return cacheable_list(slug, render, "application/json")


@bp.post("/v1/related:batch")
def related_batch() -> Response:
    """Related cards for many slugs in one call; unknown slugs get a per-slug error."""
    lists = _lists()
    model, snapshot = lists.live_model(), lists.editorial.current()
    overlay = lists.overlays.get(model, snapshot)
    message = "The body must be a JSON object with a 'slugs' list."
    body = json_body(message)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", message)
    slugs = body.get("slugs")
    if not isinstance(slugs, list) or not all(isinstance(s, str) for s in slugs) or not slugs:
        raise ApiError(400, "bad_parameter", "slugs: must be a non-empty list of strings")
    if len(slugs) > lists.config["MAX_BATCH"]:
        raise ApiError(400, "bad_parameter", f"slugs: at most {lists.config['MAX_BATCH']} per call")
    params = {k: v for k, v in body.items() if k != "slugs"}
    query = parse_query(params, lists.config, from_json=True)
    results = []
    for slug in slugs:
        try:
            _check(model, snapshot, overlay, slug)
            entries = related_entries(model, slug, query, snapshot.for_source(slug), overlay)
            rid = ab.list_id(model.version, ab.LIVE, slug)  # a batch is the live model's
            head = b'{"slug":%s,"rid":%s,' % (orjson.dumps(slug), orjson.dumps(rid))
            results.append(head + _items(model, entries, query) + b"}")
        except ApiError as exc:
            error = {"code": exc.code, "message": exc.message}
            results.append(orjson.dumps({"slug": slug, "error": error}))
    body = b'{"model_version":%s,"results":[%s]}' % (
        orjson.dumps(model.version),
        b",".join(results),
    )
    return Response(body, mimetype="application/json")


def init_app(app: Flask) -> None:
    """Register the read API (after `ab.init_app`, whose experiment it serves)."""
    stale = app.config["STALE_WHILE_REVALIDATE"]
    cache_control = (
        f"public, max-age={app.config['CACHE_MAX_AGE']}, "
        f"stale-while-revalidate={stale}, stale-if-error={stale}"
    )
    app.extensions["relata.cache_control"] = cache_control
    app.extensions[LISTS] = Lists(
        app.extensions["relata.store"],
        app.extensions["relata.editorial"],
        app.extensions["relata.overlays"],
        app.extensions.get("relata.experiment"),
        app.config,
        parse_query({}, app.config),
        cache_control,
    )
    app.register_blueprint(bp)
