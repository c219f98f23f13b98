"""Related cards as an HTML fragment, for sites that include them server-side.

The same list as `GET /v1/related/<slug>` (same parameters, ETag and Cache-Control),
rendered by an autoescaped template: every title, category and excerpt is text.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from flask import Blueprint, Flask, Response, current_app, render_template

from relata.service.api import cacheable_list
from relata.service.model_store import Model
from relata.service.related import Entry, RelatedQuery, items_json

bp = Blueprint("fragment", __name__)


def web_link(value: Any) -> bool:
    """True for an http(s) URL: the only links and images a card may carry."""
    return isinstance(value, str) and value.startswith(("https://", "http://"))


def _render(model: Model, entries: list[Entry], query: RelatedQuery, rid: str) -> bytes:
    cards = orjson.loads(items_json(model, entries, query.fields))
    return render_template("fragment.html", cards=cards, rid=rid).encode()


# Slugs never hold a dot, so `foo.html` is always the fragment of `foo` (werkzeug tries
# the rule with the static suffix first).
@bp.get("/v1/related/<slug>.html")
def related_html(slug: str) -> Response:
    """Ranked related cards for one article, as an HTML fragment."""
    return cacheable_list(slug, _render, "text/html", current_app.extensions["relata.fragment"])


def init_app(app: Flask) -> None:
    """Register the HTML fragment route and the template's `web_link` test."""
    app.jinja_env.tests["web_link"] = web_link
    # The template shapes the body as much as the list does: a new template, a new ETag.
    with app.open_resource("templates/fragment.html") as handle:
        app.extensions["relata.fragment"] = ".h" + hashlib.sha256(handle.read()).hexdigest()[:8]
    app.register_blueprint(bp)
