"""The practical ceiling for serve_load.py: Flask returning a fixed JSON body. It runs under
the same gunicorn settings as `relata serve` (`relata.service.gunicorn_conf`), with the body file
named by RELATA_BARE_BODY:

    gunicorn -c python:relata.service.gunicorn_conf 'benchmarks.bare_app:create_app()'
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response


def create_app() -> Flask:
    """An app answering every related-list URL with the same body."""
    body = Path(os.environ["RELATA_BARE_BODY"]).read_bytes()
    app = Flask(__name__)

    @app.get("/v1/related/<slug>")
    def related(slug: str) -> Response:
        return Response(body, mimetype="application/json")

    return app
