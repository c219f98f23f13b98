"""Articles between retrains: `POST /v1/articles` adds or updates, `DELETE` takes one away.

Admin only. Articles are validated exactly like archive rows; they serve at once and are
kept in the database until the next retrain folds them in.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app

from relata.service.api import live_model, live_overlay
from relata.service.auth import Principal, requires
from relata.service.editorial import EditorialCache
from relata.service.errors import ApiError
from relata.service.ingest import Articles
from relata.service.params import json_body, parse_query
from relata.service.related import related_items
from relata.service.responses import json_response
from relata.training.records import validate_record

bp = Blueprint("articles_api", __name__)


def _cache() -> EditorialCache:
    return current_app.extensions["relata.editorial"]


def _validated() -> list[dict[str, Any]]:
    largest = current_app.config["MAX_BATCH"]
    message = f"send one article object, or {{'articles': [...]}} with 1 to {largest}"
    body = json_body(message, bad_text="invalid_article")
    raw = body.get("articles", [body]) if isinstance(body, dict) else None
    if not isinstance(raw, list) or not raw or len(raw) > largest:
        raise ApiError(400, "bad_json", message)
    records, seen = [], set()
    for position, record in enumerate(raw):
        try:
            article = validate_record(record)
        except ValueError as exc:
            raise ApiError(400, "invalid_article", f"articles[{position}]: {exc}") from None
        if article["slug"] in seen:
            raise ApiError(400, "invalid_article", f"articles[{position}]: duplicate slug")
        seen.add(article["slug"])
        records.append(article)
    return records


@bp.post("/v1/articles")
@requires("admin")
def add_articles(principal: Principal) -> Response:
    """Add or update articles; answers with each published one's related cards, and says
    which were withdrawn (any other status: out of every list, as a CMS unpublishes)."""
    model, records = live_model(), _validated()
    Articles(_cache().database).upsert(records, principal.name)
    _cache().refresh()
    snapshot = _cache().snapshot
    overlay = live_overlay(model, snapshot)
    query = parse_query({}, current_app.config)
    published = [record["slug"] for record in records if record["status"] == "published"]
    related = {
        slug: related_items(model, slug, query, snapshot.for_source(slug), overlay)
        for slug in published
    }
    withdrawn = [{"slug": record["slug"], "status": record["status"]}
                 for record in records if record["status"] != "published"]  # fmt: skip
    return json_response(
        {"model_version": model.version, "related": related, "withdrawn": withdrawn}
    )


@bp.delete("/v1/articles/<slug>")
@requires("admin")
def delete_article(slug: str, principal: Principal) -> Response:
    """Take an article out of every list at once (again is fine: DELETE is idempotent)."""
    model, articles = live_model(), Articles(_cache().database)
    overlay = live_overlay(model, _cache().current())
    known = slug in model.rows or (overlay and overlay.knows(slug)) or articles.stored(slug)
    if not known:
        raise ApiError(404, "unknown_slug", f"No article with slug {slug!r}.")
    articles.delete(slug, principal.name)
    _cache().refresh()
    return json_response({"slug": slug, "deleted": True})


def init_app(app: Flask) -> None:
    """Register the articles API."""
    app.register_blueprint(bp)
