"""Run the service under gunicorn from Python (`relata serve`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from service import gunicorn_conf


class GunicornServer(BaseApplication):
    """A gunicorn application whose workers each build their WSGI app with `factory`."""

    def __init__(self, factory: Callable[[], Any], options: dict[str, Any]) -> None:
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.factory()


def gunicorn_options(host: str, port: int, workers: int) -> dict[str, Any]:
    """The production gunicorn settings (see `service.gunicorn_conf`) on one address."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "timeout": gunicorn_conf.timeout,
        "graceful_timeout": gunicorn_conf.graceful_timeout,
        "accesslog": gunicorn_conf.accesslog,
        "child_exit": gunicorn_conf.child_exit,
    }


def serve(app_config: dict[str, Any], host: str, port: int, workers: int) -> None:
    """Serve until interrupted (the caller has migrated the database)."""
    from service.app import create_app

    GunicornServer(lambda: create_app(app_config), gunicorn_options(host, port, workers)).run()
