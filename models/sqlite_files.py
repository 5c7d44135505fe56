"""Where a SQLite database lives on disk, for the code that must not create it by accident."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

# How long a read outside the write gate waits for SQLite's own locks (a checkpoint's moment).
READ_BUSY_TIMEOUT_S = 5.0


def sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL keeps its database in; None for other databases, `:memory:` and
    `?uri=true` URLs (whose `database` is a URI, not a path)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or url.query.get("uri"):
        return None
    return Path(str(url.database)).expanduser()


def missing_sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL names, when it isn't there yet: connecting would create an empty
    one, and only `pipeday db upgrade` should (doctor and the CLI report it instead)."""
    path = sqlite_file(url)
    return path if path is not None and not path.exists() else None


def ungated_reads(session_factory: sessionmaker[Session]) -> sessionmaker[Session] | None:
    """Sessions that read the SQLite file of `session_factory`'s engine without a transaction,
    so without the write gate, which every transaction of the app's engine takes at BEGIN
    IMMEDIATE (models/sqlite_gate.py): a check that reads weeks of activity must not keep every
    typed log waiting meanwhile. None for other databases and in-memory SQLite (one
    connection's own database)."""
    engine = session_factory.kw.get("bind")
    if not isinstance(engine, Engine) or engine.dialect.name != "sqlite" or sqlite_file(engine.url) is None:
        return None
    return sessionmaker(bind=_plain_sqlite_engine(engine.url.render_as_string(hide_password=False)))


@cache
def _plain_sqlite_engine(url: str) -> Engine:
    # pysqlite in its default mode begins a transaction only before a write: SELECTs here run
    # in autocommit, each a consistent WAL snapshot, beside the writers.
    return create_engine(url, connect_args={"check_same_thread": False, "timeout": READ_BUSY_TIMEOUT_S})
