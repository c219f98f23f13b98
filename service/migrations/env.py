"""Alembic environment: migrate the connection `relata.service.database` hands over, or a URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from relata.service.schema import Base

config = context.config


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    """Run the pending migrations."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        _migrate(connection)
    engine.dispose()


run()
