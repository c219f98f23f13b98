"""The application factory: settings, then each module's `init_app`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from flask_cors import CORS

from service import api, errors, metrics, ops, settings
from service.model_store import ModelStore


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Relata service; `test_config` overrides settings by name."""
    app = Flask(__name__)
    values = settings.from_environment(test_config)
    app.config.update({name.upper(): value for name, value in values.items()})
    app.config["MAX_CONTENT_LENGTH"] = values["max_body_bytes"]
    logging.getLogger("service").setLevel(values["log_level"].upper())

    errors.init_app(app)
    app_metrics = metrics.init_app(app)
    store = ModelStore(
        Path(values["models_dir"]),
        values["reload_interval"],
        on_change=app_metrics.model_changed,
        on_failure=lambda version, reason: app_metrics.model_failures.inc(),
    )
    app.extensions["relata.store"] = store
    store.load_current()

    if values["cors_origins"]:
        CORS(
            app,
            resources={r"/v1/related*": {"origins": values["cors_origins"]}},
            methods=["GET", "POST"],
            expose_headers=["ETag"],
        )
    api.init_app(app)
    ops.init_app(app)
    return app
