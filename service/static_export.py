"""`relata export --static DIR`: every article's related list as files a static host or a
CDN bucket serves with no Relata process at all.

`DIR/<slug>.json` and `DIR/<slug>.html` are the bodies of `GET /v1/related/<slug>?limit=N`
and of its `.html` fragment, and `DIR/embed.js` the widget: each is asked of the service
itself (the app, in this process), so the files are the API's bytes by construction,
overrides, ingested articles and the A/B split included. A file is rewritten only when
its bytes changed, so a sync to a bucket or a CDN purge touches only what moved.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from relata.service import background
from relata.service.app import create_app
from relata.service.database import DATABASE_FILE, Database, upgrade


@dataclass
class StaticReport:
    """What one static export did."""

    written: int = 0  # files created or whose bytes changed
    unchanged: int = 0  # files left as they were (same bytes)
    skipped: list[str] | None = None  # slugs the service does not serve (unpublished, …)


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write `data` to `path` unless it holds those bytes already; True when written.

    A new file goes in whole (a temporary file renamed over it), so a host serving the
    folder never sends half of one.
    """
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".relata-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide it from a web server
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


@contextmanager
def _service(models_dir: Path, database_url: str) -> Iterator[Flask]:
    """The service on `models_dir`, its overrides read once, its timers stopped.

    Without a database (no URL, no `relata.db` beside the models) an empty one in a
    temporary folder stands in, so exporting never creates a database in `models_dir`.
    """
    with tempfile.TemporaryDirectory(prefix="relata-export-") as scratch:
        if not database_url and not (models_dir / DATABASE_FILE).exists():
            database_url = f"sqlite:///{Path(scratch) / DATABASE_FILE}"
            empty = Database(database_url)
            upgrade(empty.engine)
            empty.engine.dispose()
        app = create_app({
            "models_dir": str(models_dir),
            "database_url": database_url,
            "secret_key": secrets.token_hex(16),  # no editor session is ever signed here
            "events": False,
        })  # fmt: skip
        try:
            background.stop(app)  # one consistent snapshot, read below, for every file
            app.extensions["relata.editorial"].refresh()
            yield app
        finally:
            background.stop(app)
            app.extensions["relata.database"].engine.dispose()


def _slugs(app: Flask) -> list[str]:
    """Every article the live model or the ingested articles know, model order first."""
    store = app.extensions["relata.store"]
    if store.model is None:
        raise ValueError("no verified live model to export")
    snapshot = app.extensions["relata.editorial"].current()
    overlay = app.extensions["relata.overlays"].get(store.model, snapshot)
    slugs = [card["slug"] for card in store.model.cards]
    ingested = overlay.own if overlay else {}
    return slugs + [slug for slug in ingested if slug not in store.model.rows]


def export_static(
    models_dir: Path, database_url: str, folder: Path, limit: int
) -> StaticReport:
    """Write every article's list (JSON and HTML, `limit` cards) and `embed.js` into
    `folder`, rewriting only files whose bytes changed."""
    folder.mkdir(parents=True, exist_ok=True)
    report = StaticReport(skipped=[])
    with _service(models_dir, database_url) as app:
        client = app.test_client()
        files = [("embed.js", "/embed.js")]
        for slug in _slugs(app):
            files += [(f"{slug}.json", f"/v1/related/{slug}?limit={limit}"),
                      (f"{slug}.html", f"/v1/related/{slug}.html?limit={limit}")]  # fmt: skip
        for name, url in files:
            response = client.get(url)
            if response.status_code != 200:  # unpublished or deleted: nothing to serve
                if name.endswith(".json"):
                    report.skipped.append(name.removesuffix(".json"))
                continue
            if write_if_changed(folder / name, response.get_data()):
                report.written += 1
            else:
                report.unchanged += 1
    return report
