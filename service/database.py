"""The database: engine and sessions through SQLAlchemy, schema through Alembic.

SQLite (a file next to the models, WAL mode) by default; PostgreSQL by setting
`database_url`. The same code runs on both. Every connection is bounded in time (connect
and statement timeouts), so a database that stops answering costs a caller seconds, not
a hung worker.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from relata.service.settings import default

DATABASE_FILE = "relata.db"  # the embedded default, beside the model versions


def default_url(models_dir: str | Path) -> str:
    """The embedded default: a SQLite file beside the model versions."""
    return f"sqlite:///{Path(models_dir).resolve() / DATABASE_FILE}"


def _sqlite_pragmas(busy_ms: int, dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers go on while an editor writes; the busy timeout makes concurrent
    # writers wait for the lock instead of failing at once, but not for ever.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str, connect_timeout: float, statement_timeout: float) -> Engine:
    """An engine for `url` whose connections give up after the given seconds."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": statement_timeout})
        event.listen(engine, "connect", partial(_sqlite_pragmas, int(statement_timeout * 1000)))
        return engine
    # The statement timeout is the server's; options already in the URL (a search_path,
    # say) are kept, since connect_args replace the URL's own.
    options = make_url(url).query.get("options", "")
    limit = f"-c statement_timeout={int(statement_timeout * 1000)}"
    connect_args = {
        "connect_timeout": max(1, math.ceil(connect_timeout)),
        "options": f"{options} {limit}".strip() if isinstance(options, str) else limit,
    }
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5,
                         pool_timeout=connect_timeout, connect_args=connect_args)  # fmt: skip


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("relata.service") / "migrations"))
    url = engine.url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # configparser escaping
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    config = _alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Database:
    """An engine and its session factory."""

    def __init__(
        self,
        url: str,
        connect_timeout: float = default("database_connect_timeout"),
        statement_timeout: float = default("database_statement_timeout"),
    ) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        self.engine = make_engine(url, self.connect_timeout, self.statement_timeout)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, values: Mapping[str, Any]) -> Database:
        """The database the service settings name (the default beside the models)."""
        url = values["database_url"] or default_url(values["models_dir"])
        return cls(url, values["database_connect_timeout"], values["database_statement_timeout"])

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self.sessions.begin() as session:
            yield session
