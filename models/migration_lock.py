"""One migration at a time, so concurrent release phases (`pipeday db upgrade`) queue instead of
racing to create the same tables: the first migrates, the others wait and find the work done.

PostgreSQL: a session-level advisory lock, keyed by the schema migrated, held on the connection
the migration itself runs on (so a killed process lets go of it with its connection).
SQLite: an exclusive flock() on `<database>.migrate-lock`, next to the database file.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

from models.sqlite_files import sqlite_file

# The first key of the two-key advisory lock (the second is the schema's hash): an arbitrary
# constant that other programs' advisory locks are unlikely to use.
PG_LOCK_NAMESPACE = 0x50_44_41_59  # "PDAY"


@contextmanager
def migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection that holds the migration lock until the block ends; waits for it as long as it takes."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection, _advisory_lock(connection):
            yield connection
        return
    with _file_lock(engine), engine.connect() as connection:
        yield connection


@contextmanager
def _advisory_lock(connection: Connection) -> Iterator[None]:
    # The wait for another migration, and the migration itself (an index on a big table),
    # may take longer than the statement timeout every connection carries.
    connection.execute(text("SET statement_timeout = 0"))
    connection.execute(text("SELECT pg_advisory_lock(:namespace, hashtext(current_schema()))"), _key())
    connection.commit()
    try:
        yield
    finally:
        if not connection.invalidated:  # a lost connection has let go of the lock with the session
            connection.rollback()  # whatever failed, unlock outside its aborted transaction
            connection.execute(text("SELECT pg_advisory_unlock(:namespace, hashtext(current_schema()))"), _key())
            connection.execute(text("RESET statement_timeout"))  # back to the connection's configured default
            connection.commit()


def _key() -> dict[str, int]:
    return {"namespace": PG_LOCK_NAMESPACE}


@contextmanager
def _file_lock(engine: Engine) -> Iterator[None]:
    path = sqlite_file(engine.url)
    if path is None:
        yield  # nothing another process could migrate at the same time
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".migrate-lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the only descriptor releases the lock
