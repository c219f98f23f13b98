"""Every HTTP operation the service answers, described: `/openapi.json` is built from this
table and the shapes in `api_models` (requests) and `api_replies` (responses); a test
fails when a route is missing here."""

from __future__ import annotations

from relata.service import api_models as m
from relata.service import api_replies as r
from relata.service.openapi import Operation, Reply

CACHED = ("ETag", "Cache-Control")
NOT_MODIFIED = {304: Reply("Not modified (If-None-Match matched the ETag)")}
LIST_ERRORS = (400, 404, 410, 503)
READ_ERRORS = (401, 404, 503)  # an editor read: token, unknown slug, no model or database
WRITE_ERRORS = (400, 401, 403, 404, 412, 413, 428, 503)
STATE = Reply("The scope's overrides and version (also in ETag)", r.OverrideState)
WRITE_400 = {400: Reply("Bad body or parameter (`bad_parameter`, `bad_json`, `duplicate`, "
                        "`self_link`)", r.Error)}  # fmt: skip
HTML_PAGE = Reply("Page", media="text/html")
LOGGED_OUT = {302: Reply("Not logged in: to the log-in page")}
CSRF = Reply("Missing or wrong CSRF token (`csrf`): the form's hidden `csrf` field must match "
             "the session's", r.Error)  # fmt: skip

OPERATIONS: tuple[Operation, ...] = (
    # -- the read API
    Operation("GET", "/v1/related/{slug}", "Ranked related cards for one article",
              Reply("The related list", r.RelatedList, headers=CACHED), LIST_ERRORS,
              NOT_MODIFIED, query=m.ListParams),
    Operation("GET", "/v1/related/{slug}.html",
              "Ranked related cards for one article, as an HTML fragment",
              Reply("The related list as HTML", media="text/html", headers=CACHED),
              LIST_ERRORS, NOT_MODIFIED, query=m.ListParams,
              description="The same cards as `GET /v1/related/{slug}` (same parameters, ETag "
              "and Cache-Control) as an autoescaped `<ul class=\"relata\">` of `<li>` cards, "
              "each with an `<h3>` linked title, category, excerpt and `<img alt>` when the "
              "card has an image; empty when the list is. Errors are JSON."),
    Operation("POST", "/v1/related:batch", "Related cards for many slugs in one call",
              Reply("One result per slug, in order; unknown slugs carry an error",
                    r.BatchResponse), (400, 413, 503), body=m.BatchRequest),
    Operation("POST", "/v1/events", "Count readers' impressions and clicks of related lists",
              None, (), {202: Reply("Counted", r.Accepted),
                         400: Reply("A bad body or event (`bad_json`, `bad_event`), nothing "
                                    "counted", r.Error),
                         404: Reply("Events are switched off (`events_disabled`)", r.Error),
                         413: Reply("Body too large (`too_large`)", r.Error),
                         429: Reply("Too many event requests from this address "
                                    "(`rate_limited`)", r.Error)},
              body=m.EventBatch,
              description="Public, for the widget's `navigator.sendBeacon` (any content type "
              "is read as JSON): an impression when a list is seen, a click when a card is "
              "followed. Events only ever add to counters (see `GET /v1/stats`)."),
    Operation("GET", "/v1/stats", "Click-through rates per model version, variant or position",
              Reply("Impressions, clicks and CTR with a Wilson 95 % interval per group",
                    r.Stats), (400, 401, 503), query=m.StatsParams, bearer=True),
    Operation("GET", "/embed.js", "The drop-in widget script",
              Reply("The script", media="text/javascript", headers=CACHED), (), NOT_MODIFIED,
              description="Plain JavaScript with no dependencies: fills every element with a "
              "`data-relata-slug` (and optional `data-limit`) with that article's related "
              "cards from `GET /v1/related/{slug}` of the service it was loaded from. The ETag "
              "is the script's digest; Cache-Control is the lists'."),
    # -- ops
    Operation("GET", "/healthz", "Liveness", Reply("Alive", r.Health)),
    Operation("GET", "/readyz", "Readiness: a verified model is loaded",
              Reply("Ready (or degraded: still serving)", r.Readiness), (503,)),
    Operation("GET", "/-/version", "Live model manifest and library versions",
              Reply("Versions", r.Versions)),
    Operation("GET", "/metrics", "Prometheus metrics",
              Reply("Text exposition format", media="text/plain")),
    Operation("GET", "/openapi.json", "This description",
              Reply("OpenAPI 3.1 document", dict)),
    # -- editors
    Operation("GET", "/v1/overrides/{slug}", "A source article's pins and blocks", STATE,
              READ_ERRORS, bearer=True),
    Operation("POST", "/v1/overrides/{slug}",
              "Pin a target at a position, or block it, in this article's list", STATE,
              WRITE_ERRORS, WRITE_400, headers=m.IfMatch, body=m.NewOverride, bearer=True),
    Operation("DELETE", "/v1/overrides/{slug}/{target}",
              "Remove this article's pin or block of target", STATE, WRITE_ERRORS, WRITE_400,
              headers=m.IfMatch, bearer=True),
    Operation("PATCH", "/v1/overrides/{slug}/{target}",
              "Move target to a position in this article's list; no other override changes",
              STATE, WRITE_ERRORS, WRITE_400, headers=m.IfMatch, body=m.Move, bearer=True),
    Operation("PATCH", "/v1/overrides/{slug}/order",
              "Move the article whose slug is `order` in this article's list", STATE,
              WRITE_ERRORS, WRITE_400, headers=m.IfMatch, body=m.Move, bearer=True),
    Operation("PUT", "/v1/overrides/{slug}/order",
              "Set a manual order for the top of this article's list", STATE, WRITE_ERRORS,
              WRITE_400, headers=m.IfMatch, body=m.Order, bearer=True),
    Operation("DELETE", "/v1/overrides/{slug}/order",
              "Remove this article's pin or block of the article whose slug is `order`", STATE,
              WRITE_ERRORS, WRITE_400, headers=m.IfMatch, bearer=True),
    Operation("GET", "/v1/blocks", "Articles blocked everywhere or unpublished", STATE,
              READ_ERRORS, bearer=True),
    Operation("POST", "/v1/blocks", "Block an article everywhere, or unpublish it", STATE,
              WRITE_ERRORS, WRITE_400, headers=m.IfMatch, body=m.NewGlobalBlock, bearer=True),
    Operation("DELETE", "/v1/blocks/{target}", "Lift a global block or unpublishing", STATE,
              WRITE_ERRORS, WRITE_400, headers=m.IfMatch, bearer=True),
    Operation("GET", "/v1/audit", "The newest changes to overrides",
              Reply("Audit entries, newest first", r.AuditLog), (400, *READ_ERRORS, 414),
              query=m.AuditParams, bearer=True),
    Operation("GET", "/v1/overrides:stale",
              "Overrides whose source or target the live model no longer has, or unpublished",
              Reply("Stale overrides", r.StaleOverrides), READ_ERRORS, bearer=True),
    # -- articles between retrains
    Operation("POST", "/v1/articles", "Add or update articles between retrains (admin)",
              Reply("Each published article's related cards, served at once, and the "
                    "articles withdrawn", r.Ingested), (400, 401, 403, 413, 503),
              {400: Reply("An invalid article (`invalid_article`, the archive's validation "
                          "reason) or body (`bad_json`)", r.Error)},
              body=m.Article | m.ArticleBatch, bearer=True),
    Operation("DELETE", "/v1/articles/{slug}",
              "Delete an article: out of every list at once (admin)",
              Reply("Deleted", r.Deleted), (401, 403, 404, 503), bearer=True),
    # -- the editor page
    Operation("GET", "/editor", "Editor page: log-in form, or article search (?q=)",
              HTML_PAGE),
    Operation("POST", "/editor/login",
              "Log in to the editor page with a token (form field `token`)",
              None, (), {302: Reply("Logged in"),
               401: Reply("Invalid token", media="text/html"), 403: CSRF},
              body=m.Login, body_media="application/x-www-form-urlencoded"),
    Operation("POST", "/editor/logout", "Log out of the editor page", None, (),
              {302: Reply("Logged out"), 403: CSRF}, body=m.Logout,
              body_media="application/x-www-form-urlencoded", body_required=False),
    Operation("GET", "/editor/articles/{slug}",
              "Editor page of one article: its cards as readers see them, with why and "
              "controls", HTML_PAGE, (404,), LOGGED_OUT),
    Operation("GET", "/editor/models",
              "Model report (any role): the live model against the version live before "
              "it, as `relata evaluate` writes it", Reply("Report page", media="text/html"),
              (503,), LOGGED_OUT),
    Operation("GET", "/editor/models/report.css", "The model report's stylesheet",
              Reply("Stylesheet", media="text/css")),
)  # fmt: skip
