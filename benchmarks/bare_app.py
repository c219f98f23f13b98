"""The practical ceiling for serve_load.py: Flask under gunicorn returning a fixed JSON body."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response

BODY = Path(os.environ["RELATA_BARE_BODY"]).read_bytes()
app = Flask(__name__)


@app.get("/v1/related/<slug>")
def related(slug: str) -> Response:
    return Response(BODY, mimetype="application/json")
