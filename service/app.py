"""The application factory: settings, then each module's `init_app`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from relata.service import (
    ab,
    api,
    articles_api,
    background,
    editor_api,
    editor_page,
    embed,
    errors,
    events,
    fragment,
    metrics,
    ops,
    settings,
    stats_api,
)
from relata.service.auth import EditorSessions, session_secret
from relata.service.database import Database
from relata.service.editorial import EditorialCache
from relata.service.model_store import ModelExtras, ModelStore, OverlayCache


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Relata service; `test_config` overrides settings by name."""
    app = Flask(__name__)
    values = settings.from_environment(test_config)
    app.config.update({name.upper(): value for name, value in values.items()})
    models_dir = Path(values["models_dir"])
    app.config["MAX_CONTENT_LENGTH"] = values["max_body_bytes"]
    app.config["SECRET_KEY"] = session_secret(values["secret_key"])
    app.session_interface = EditorSessions()
    app.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    logging.getLogger("relata.service").setLevel(values["log_level"].upper())

    errors.init_app(app)
    app_metrics = metrics.init_app(app)
    if values["proxy_hops"]:  # trust X-Forwarded-* only from proxies we were told of
        hops = values["proxy_hops"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    extras = ModelExtras(models_dir, values["signing_key"])
    app.extensions["relata.extras"] = extras
    overlays = OverlayCache(extras)
    app.extensions["relata.overlays"] = overlays
    database = Database.from_settings(values)
    app.extensions["relata.database"] = database
    # A new model is prepared against the current overrides, and new overrides against
    # the live model, each before it is published (both off the request path).
    editorial = EditorialCache(
        database,
        values["overrides_refresh_interval"],
        on_health=app_metrics.database_up.set,
        prepare=lambda snapshot: overlays.build(store.model, snapshot) if store.model else None,
    )
    app.extensions["relata.editorial"] = editorial
    store = ModelStore(
        models_dir,
        values["reload_interval"],
        values["models_url"],
        on_change=app_metrics.model_changed,
        on_failure=lambda version, reason: app_metrics.model_failures.inc(),
        prepare=lambda model: overlays.build(model, editorial.snapshot),
        signing_key=values["signing_key"],
    )
    app.extensions["relata.store"] = store
    store.load_current()  # a local read: a worker starts with its model
    # The database is only ever read in the background: it may hang.
    background.start(app, editorial.refresh, values["overrides_refresh_interval"], "overrides")
    background.start(app, store.load_current, values["reload_interval"], "models", at_once=False)
    ab.init_app(app)

    if values["cors_origins"]:
        CORS(
            app,
            resources={r"/v1/(related|events)": {"origins": values["cors_origins"]}},
            methods=["GET", "POST"],
            expose_headers=["ETag"],
        )
    api.init_app(app)
    fragment.init_app(app)
    embed.init_app(app)
    events.init_app(app)
    stats_api.init_app(app)
    editor_api.init_app(app)
    articles_api.init_app(app)
    editor_page.init_app(app)
    ops.init_app(app)
    return app
