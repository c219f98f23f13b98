"""The practical ceiling for serve_load.py: Flask returning a fixed JSON body, under the
same gunicorn settings as `relata serve`.

    python benchmarks/bare_app.py BODY_FILE PORT WORKERS
"""

from __future__ import annotations

import sys
from pathlib import Path

from flask import Flask, Response

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.server import GunicornServer, gunicorn_options


def bare_app(body: bytes) -> Flask:
    """An app answering every related-list URL with `body`."""
    app = Flask(__name__)

    @app.get("/v1/related/<slug>")
    def related(slug: str) -> Response:
        return Response(body, mimetype="application/json")

    return app


if __name__ == "__main__":
    body, port, workers = Path(sys.argv[1]).read_bytes(), int(sys.argv[2]), int(sys.argv[3])
    GunicornServer(lambda: bare_app(body), gunicorn_options("127.0.0.1", port, workers)).run()
