"""The application factory: settings, then each module's `init_app`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from flask_cors import CORS

from service import api, articles_api, editor_api, editor_page, errors, metrics, ops, settings
from service.auth import EditorSessions, session_secret
from service.database import Database, default_url
from service.editorial import EditorialCache
from service.model_store import ModelExtras, ModelStore, OverlayCache


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Relata service; `test_config` overrides settings by name."""
    app = Flask(__name__)
    values = settings.from_environment(test_config)
    app.config.update({name.upper(): value for name, value in values.items()})
    models_dir = Path(values["models_dir"])
    app.config["MAX_CONTENT_LENGTH"] = values["max_body_bytes"]
    app.config["SECRET_KEY"] = session_secret(values["secret_key"], models_dir)
    app.session_interface = EditorSessions()
    app.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    logging.getLogger("service").setLevel(values["log_level"].upper())

    errors.init_app(app)
    app_metrics = metrics.init_app(app)
    store = ModelStore(
        models_dir,
        values["reload_interval"],
        values["models_url"],
        on_change=app_metrics.model_changed,
        on_failure=lambda version, reason: app_metrics.model_failures.inc(),
        signing_key=values["signing_key"],
    )
    app.extensions["relata.store"] = store
    store.load_current()
    extras = ModelExtras(models_dir, values["signing_key"])
    app.extensions["relata.extras"] = extras
    app.extensions["relata.overlays"] = OverlayCache(extras)

    database = Database(values["database_url"] or default_url(models_dir))
    app.extensions["relata.database"] = database
    editorial = EditorialCache(
        database, values["overrides_refresh_interval"], on_health=app_metrics.database_up.set
    )
    app.extensions["relata.editorial"] = editorial
    editorial.refresh()

    if values["cors_origins"]:
        CORS(
            app,
            resources={r"/v1/related*": {"origins": values["cors_origins"]}},
            methods=["GET", "POST"],
            expose_headers=["ETag"],
        )
    api.init_app(app)
    editor_api.init_app(app)
    articles_api.init_app(app)
    editor_page.init_app(app)
    ops.init_app(app)
    return app
