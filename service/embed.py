"""The drop-in widget: `GET /embed.js`, the script a site adds to fill its related blocks.

The script (`static/embed.js`) is read once at start and its ETag is its digest, so a
cache revalidates it cheaply and a new release shows at once.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Flask, Response, current_app, request

bp = Blueprint("embed", __name__)


@bp.get("/embed.js")
def embed_js() -> Response:
    """The widget script, cacheable like the lists it fetches."""
    script, etag = current_app.extensions["relata.embed"]
    response = Response(script, mimetype="text/javascript")
    response.set_etag(etag)
    response.headers["Cache-Control"] = current_app.extensions["relata.cache_control"]
    # werkzeug compares If-None-Match weakly (W/"…" matches) and answers 304 without a body.
    return response.make_conditional(request)


def init_app(app: Flask) -> None:
    """Register the widget route with the script it serves."""
    with app.open_resource("static/embed.js") as handle:
        script = handle.read()
    app.extensions["relata.embed"] = (script, hashlib.sha256(script).hexdigest()[:20])
    app.register_blueprint(bp)
