"""Alembic environment: runs on the engine that models.db.upgrade hands in (config.attributes)."""

from __future__ import annotations

from alembic import context

import models  # noqa: F401 - registers every table on Base.metadata
from models.base import Base

target_metadata = Base.metadata


def run_migrations() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        # render_as_batch lets ALTER-style migrations work on SQLite too.
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
