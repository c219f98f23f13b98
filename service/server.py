"""Run the service under gunicorn from Python (`relata serve`)."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from service import gunicorn_conf
from service.app import create_app


class GunicornServer(BaseApplication):
    """A gunicorn application whose workers each build the app with `create_app`."""

    def __init__(self, app_config: dict[str, Any], options: dict[str, Any]) -> None:
        self.app_config = app_config
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return create_app(self.app_config)


def serve(app_config: dict[str, Any], host: str, port: int, workers: int) -> None:
    """Serve until interrupted (the caller has migrated the database)."""
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "timeout": gunicorn_conf.timeout,
        "graceful_timeout": gunicorn_conf.graceful_timeout,
        "accesslog": gunicorn_conf.accesslog,
        "child_exit": gunicorn_conf.child_exit,
    }
    GunicornServer(app_config, options).run()
