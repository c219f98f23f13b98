"""gunicorn settings for production.

    gunicorn -c python:relata.service.gunicorn_conf 'relata.service.app:create_app()'

Values come from the environment so the same file serves the Docker image and a host.
"""

from __future__ import annotations

import gc
import os
import shutil
from pathlib import Path
from typing import Any

from prometheus_client import multiprocess
from sqlalchemy.exc import SQLAlchemyError

import relata.service.app  # noqa: F401 - imported once here, so the workers share its pages
from relata.service import settings
from relata.service.auth import session_secret
from relata.service.database import Database, upgrade

bind = os.environ.get("RELATA_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = 30
graceful_timeout = 10
accesslog = "-"


def on_starting(server: Any) -> None:
    """Once, before any worker: empty the metrics folder, settle the session key, migrate
    the overrides database."""
    if not os.environ.get("RELATA_SECRET_KEY"):
        # Made here once, the workers inherit it: they sign editors' sessions alike even
        # where no state folder is writable (a container user without a home).
        os.environ["RELATA_SECRET_KEY"] = session_secret("")
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)
    # The database's timeouts bound this: a database that hangs delays the start by
    # seconds, and the workers then serve lists without it.
    database = Database.from_settings(settings.from_environment())
    try:
        upgrade(database.engine)
    except SQLAlchemyError as exc:  # serve model lists anyway; /readyz will say why
        server.log.error("overrides database not migrated: %s", exc)
    finally:
        database.engine.dispose()


def post_worker_init(worker: Any) -> None:
    """Before a worker takes requests: give its first overrides snapshot (read in the
    background) a bounded wait, so it does not serve lists without overrides the database
    holds; a database that hangs costs this worker's start its timeouts, once."""
    editorial = getattr(worker.wsgi, "extensions", {}).get("relata.editorial")
    if editorial is None:  # another app on these settings (the bare benchmark endpoint)
        return
    database = editorial.database
    # Capped well inside `timeout`, past which the master would kill the booting worker.
    wait = min(database.connect_timeout + database.statement_timeout, timeout / 2)
    if not editorial.ready.wait(wait):
        worker.log.error("starting without overrides: the database did not answer")


def when_ready(server: Any) -> None:
    """Before the first fork: keep the garbage collector off what is loaded so far, so
    no worker ever copies those pages just by scanning them."""
    gc.freeze()


def gunicorn_args(host: str, port: int, workers: int) -> list[str]:
    """Command-line arguments for gunicorn with this file's settings on one address."""
    return ["-c", "python:relata.service.gunicorn_conf", "--bind", f"{host}:{port}",
            "--workers", str(workers)]  # fmt: skip


def worker_exit(server: Any, worker: Any) -> None:
    """A worker leaving cleanly (a restart, SIGTERM, a deploy) writes the event counts it
    still holds, so none are lost."""
    app = getattr(worker, "wsgi", None)
    counters = app.extensions.get("relata.events") if app is not None else None
    if counters is not None:
        counters.flush()


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
