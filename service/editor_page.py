"""The editor page: log in with a token, find an article, see and shape its cards.

Server-rendered (Jinja escapes every title), with a little JavaScript that calls the
editor API using the session cookie and a CSRF token. The login and logout forms carry
that token too, and every page forbids framing and scripts from anywhere but here.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from flask import (
    Blueprint,
    Flask,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from relata import artifact
from relata.artifact import registry
from relata.service.api import live_model, live_overlay
from relata.service.auth import digest, principal_for, same_secret
from relata.service.editor_search import SHOWN_RESULTS, categories, parse_search, search
from relata.service.editor_view import annotate, history_lines
from relata.service.editorial import EditorialCache
from relata.service.errors import ApiError
from relata.service.model_store import Model
from relata.service.params import parse_query
from relata.service.related import NO_OVERRIDES, card_for, related_items
from relata.service.schema import GLOBAL
from relata.service.stale import stale_overrides

bp = Blueprint("editor_page", __name__, url_prefix="/editor")
CANDIDATES = 8  # the model's next picks shown below what readers see, to pull in
HISTORY = 30  # newest audit entries shown on an article's page
# Card images come from the site's own CDN, wherever that is; nothing else may load.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' https: http: data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}


def _csrf() -> str:
    """This browser session's CSRF token, made on first sight (before login, too)."""
    return session.setdefault("csrf", secrets.token_hex(16))


def _check_csrf() -> None:
    """A form post must carry the session's token: no other site can make one."""
    sent, kept = request.form.get("csrf", ""), session.get("csrf", "")
    if not sent or not same_secret(sent, kept):
        raise ApiError(403, "csrf", "missing or wrong CSRF token: reload the page and retry")


def _signed_in() -> bool:
    database = current_app.extensions["relata.database"]
    return (
        "token_digest" in session and principal_for(database, session["token_digest"]) is not None
    )


def _categories(model: Model) -> list[str]:
    """The live model's categories, read once per version (a walk over every card)."""
    kept = current_app.extensions.get("relata.editor_categories")
    if kept is None or kept[0] != model.version:
        kept = (model.version, categories(model.cards))
        current_app.extensions["relata.editor_categories"] = kept
    return kept[1]


@bp.get("")
def home() -> str | Response | tuple[str, int]:
    """The login form, or the article search (text, category, dates; counted)."""
    if not _signed_in():
        return render_template("editor/login.html", csrf=_csrf())
    model, query = live_model(), parse_search(request.args)
    page = render_template(
        "editor/search.html", query=query, result=search(model.cards, query),
        categories=_categories(model), shown=SHOWN_RESULTS,
    )  # fmt: skip
    return (page, 400) if query.error else page


@bp.post("/login")
def login() -> tuple[str, int] | Response:
    """Check the token and keep its digest in the signed session (with a new CSRF token)."""
    _check_csrf()
    token = request.form.get("token", "").strip()
    database = current_app.extensions["relata.database"]
    principal = principal_for(database, digest(token)) if token else None
    if principal is None:
        page = render_template("editor/login.html", csrf=_csrf(), error="That token is not valid.")
        return page, 401
    session.clear()
    session.update(
        token_digest=digest(token), name=principal.name, role=principal.role,
        csrf=secrets.token_hex(16),
    )  # fmt: skip
    return redirect(url_for("editor_page.home"))


@bp.post("/logout")
def logout() -> Response:
    """Forget the session."""
    _check_csrf()
    session.clear()
    return redirect(url_for("editor_page.home"))


@bp.get("/articles/<slug>")
def article(slug: str) -> str | Response | tuple[str, int]:
    """One article's cards as readers see them, with why, and the editing controls."""
    if not _signed_in():
        return redirect(url_for("editor_page.home"))
    model = live_model()
    row = model.rows.get(slug)
    if row is None:  # a page, not the API's JSON: a person followed a link or typed it
        return render_template("editor/missing.html", slug=slug), 404
    cache: EditorialCache = current_app.extensions["relata.editorial"]
    cache.refresh()  # editors see their own change at once, whichever worker answers
    snapshot = cache.snapshot
    config = current_app.config
    shown = config["DEFAULT_LIMIT"]
    query = parse_query({"limit": min(shown + CANDIDATES, config["MAX_LIMIT"])}, config)
    overlay = live_overlay(model, snapshot)
    items = related_items(model, slug, query, snapshot.for_source(slug), overlay)
    alone = related_items(model, slug, replace(query, fallbacks=False), NO_OVERRIDES, overlay)
    version, rows = cache.overrides.state(slug)
    global_version, global_rows = cache.overrides.state(GLOBAL)
    stale = stale_overrides(rows, model, snapshot.unpublished)

    def title(target: str) -> str:
        card = card_for(model, overlay, target)
        return card["title"] if card else target

    return render_template(
        "editor/article.html",
        source=model.cards[row],
        cards=annotate(model.cards[row], items, [item["slug"] for item in alone]),
        shown=shown,
        unpublished=slug in snapshot.unpublished,
        overrides=[{**r.as_dict(), "title": title(r.target), "stale": stale.get(r.id)}
                   for r in rows],
        version=version,
        global_version=global_version,
        global_rows=[{**r.as_dict(), "title": title(r.target)} for r in global_rows],
        history=history_lines(cache.overrides.history(slug, HISTORY), title),
    )  # fmt: skip


@bp.get("/models")
def models() -> str | Response:
    """The model report: the live model against the version live before it."""
    if not _signed_in():
        return redirect(url_for("editor_page.home"))
    model = live_model()
    store = current_app.extensions["relata.store"]
    earlier = [v for v in registry.recent_versions(store.models_dir) if v != model.version]
    # Plots and the list-by-list comparison take a second: one page per pair of versions
    # (and per hour, for readers' clicks).
    key = (model.version, earlier[0] if earlier else None, datetime.now(UTC).strftime("%Y%m%d%H"))
    kept = current_app.extensions.setdefault("relata.model_report", {})
    if key not in kept:
        kept.clear()
        kept[key] = _model_report(model, key[1], store.models_dir, store.signing_key)
    return kept[key]


def _model_report(model: Model, against: str | None, models_dir: Path, key: str) -> str:
    # Imported here, not at start: only this page needs matplotlib, not every worker.
    from relata.service.stats import readers
    from relata.training.evaluate import compare
    from relata.training.report import render_report

    try:
        other = (
            artifact.load_model(artifact.version_folder(models_dir, against), key)
            if against
            else None
        )
    except (artifact.ArtifactError, OSError):  # pruned, or only in a shared store
        other = None
    return render_report(
        model.manifest.get("evaluation", {"version": model.version}),
        model,
        other,
        compare(model, other) if other else None,
        css_url=url_for("editor_page.report_css"),
        back_url=url_for("editor_page.home"),
        readers=readers(current_app.extensions["relata.database"], datetime.now(UTC).date()),
    )


@bp.get("/models/report.css")
def report_css() -> Response:
    """The report's stylesheet: the editor pages allow no inline style."""
    from relata.training.report import stylesheet

    return Response(stylesheet(), mimetype="text/css")


@bp.after_request
def _secure_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def init_app(app: Flask) -> None:
    """Register the editor page."""
    app.register_blueprint(bp)
