"""Alembic environment: runs on the connection (holding the migration lock) or the engine that
models.db hands in through config.attributes."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import models  # noqa: F401 - registers every table on Base.metadata
from models.base import Base

target_metadata = Base.metadata


def run_migrations_on(connection: Connection) -> None:
    # render_as_batch lets ALTER-style migrations work on SQLite too.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations_on(connection)
        return
    with context.config.attributes["engine"].connect() as own_connection:
        run_migrations_on(own_connection)


run_migrations()
