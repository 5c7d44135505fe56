"""Engine, sessions and migrations.

SQLite is the embedded default (WAL, busy timeout, foreign keys on); PostgreSQL is the
production database. The app never creates tables itself: `pipeday db upgrade` does.

Every PostgreSQL connection carries a connect timeout and a statement timeout, and a
connection that can't be made opens a breaker (models/availability.py), so a database
that stops answering costs a request seconds at most, never a thread for good.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from models.availability import ConnectBreaker
from models.migration_lock import migration_lock
from models.sqlite_files import sqlite_file
from models.sqlite_gate import WriteGate, gated_connection_class

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# libpq (and psycopg after it) counts connect_timeout in whole seconds and treats anything under 2 as 2.
LIBPQ_MIN_CONNECT_TIMEOUT_S = 2


@dataclass(frozen=True)
class DatabaseTimeouts:
    """How long a PostgreSQL connection may take to open, and a statement to run (seconds).

    The defaults keep a request that can't reach the database inside Slack's 3 s: a
    connection attempt gives up after 2 s, and a thread waits no longer than that for a
    pooled connection either.
    """

    connect_s: float = 2.0
    statement_s: float = 5.0


class DatabaseNotMigrated(RuntimeError):
    """The schema is missing or older than this code expects."""


class DatabaseNewerThanCode(DatabaseNotMigrated):
    """The schema was migrated by a newer Pipeday: this code doesn't know its revision."""


@dataclass(frozen=True)
class MigrationResult:
    before: str | None
    after: str | None


def normalize_database_url(url: str) -> str:
    """Accept Heroku-style `postgres://` and plain `postgresql://` URLs; use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, timeouts: DatabaseTimeouts | None = None, **kwargs: Any) -> Engine:
    url = normalize_database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _make_sqlite_engine(url, **kwargs)
    timeouts = timeouts or DatabaseTimeouts()
    kwargs["connect_args"] = _postgres_connect_args(dict(parsed.query), timeouts, kwargs.pop("connect_args", {}))
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    # Waiting the default 30 s for a pooled connection would outlast Slack's 3 s many times over.
    kwargs.setdefault("pool_timeout", timeouts.connect_s)
    engine = create_engine(url, **kwargs)
    dbapi = engine.dialect.loaded_dbapi
    breaker = ConnectBreaker(engine.url.render_as_string(hide_password=True), dbapi.Error, dbapi.OperationalError)

    @event.listens_for(engine, "do_connect")
    def _connect_through_breaker(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        return breaker.connect(lambda: dialect.connect(*cargs, **cparams))

    @event.listens_for(engine, "engine_disposed")
    def _forget_failures(_engine: Engine) -> None:
        breaker.reset()

    return engine


def _postgres_connect_args(
    query: dict[str, Any], timeouts: DatabaseTimeouts, connect_args: dict[str, Any]
) -> dict[str, Any]:
    """Timeouts for every connection, unless the URL (or the caller) already sets them.

    connect_args replace the URL's own parameters, so the statement timeout is added to any
    `options` the URL carries (e.g. a search_path) instead of replacing them.
    """
    connect_args = dict(connect_args)
    if "connect_timeout" not in query:
        connect_args.setdefault("connect_timeout", max(LIBPQ_MIN_CONNECT_TIMEOUT_S, math.ceil(timeouts.connect_s)))
    options = str(connect_args.get("options", query.get("options", "")))
    if "statement_timeout" not in options:
        options = f"{options} -c statement_timeout={round(timeouts.statement_s * 1000)}".strip()
    connect_args["options"] = options
    # A server that vanishes mid-query (host down, network gone) is noticed by TCP keepalives
    # instead of a read that never returns.
    for name, value in (
        ("keepalives", 1),
        ("keepalives_idle", 30),
        ("keepalives_interval", 10),
        ("keepalives_count", 3),
    ):
        if name not in query:
            connect_args.setdefault(name, value)
    return connect_args


def _make_sqlite_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    connect_args.setdefault("check_same_thread", False)
    path = sqlite_file(parsed)
    if path is not None:
        # Its folder is made by `pipeday db upgrade` (models.migration_lock), not by every engine.
        gate = WriteGate(path.with_name(path.name + ".writer-lock"), timeout_s=SQLITE_BUSY_TIMEOUT_MS / 1000)
        connect_args.setdefault("factory", gated_connection_class(gate))
    # A connection per thread that may hold one at once (gunicorn's request threads, Bolt's
    # 5 listener threads, the after-ack pool, timers): with the default 5 (+10 overflow) the pool opened and closed
    # connections, PRAGMAs and all, on every request under load.
    kwargs.setdefault("pool_size", 20)
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Take the write lock at BEGIN so concurrent writers queue on busy_timeout
        # instead of failing with "database is locked" on lock upgrade.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        dbapi_connection = conn.connection.dbapi_connection
        if hasattr(dbapi_connection, "begin_immediate"):
            dbapi_connection.begin_immediate()  # queue on the write gate first (models/sqlite_gate.py)
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(engine: Engine, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> MigrationResult:
    """Apply migrations up to `revision`, holding the migration lock (models/migration_lock.py):
    concurrent release phases queue, and each one after the first finds the work done."""
    return _migrate(engine, revision, command.upgrade)


def downgrade(engine: Engine, revision: str) -> MigrationResult:
    """Undo migrations down to `revision` (an id, `base`, or relative like `-1`), under the same lock."""
    return _migrate(engine, revision, command.downgrade)


class MigrationError(RuntimeError):
    """Alembic refused (an unknown target revision, say); the message says why."""


def _migrate(engine: Engine, revision: str, run: Any) -> MigrationResult:
    with migration_lock(engine) as connection:
        before = _revision_on(connection)
        if before is not None and not is_known_revision(before):
            raise DatabaseNewerThanCode(newer_database_message(before))
        try:
            run(alembic_config(engine, connection), revision)
        except CommandError as error:
            raise MigrationError(str(error)) from None
        return MigrationResult(before, _revision_on(connection))


def _revision_on(connection: Connection) -> str | None:
    revision = MigrationContext.configure(connection).get_current_revision()
    connection.commit()  # end the read's transaction, so alembic opens (and commits) its own
    return revision


def script_directory() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS_DIR))


def head_revision() -> str | None:
    return script_directory().get_current_head()


def is_known_revision(revision: str) -> bool:
    try:
        return script_directory().get_revision(revision) is not None
    except CommandError:
        return False


def newer_database_message(current: str) -> str:
    head = head_revision()
    return (
        f"The database is at revision {current}, which this version of Pipeday doesn't know (its newest is {head}): "
        "a newer Pipeday has migrated it. Run that newer version, or, to come back to this one, "
        f"run `pipeday db downgrade {head}` with the newer version first."
    )


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ensure_migrated(engine: Engine) -> None:
    """Refuse to run against a database whose schema is not at head."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    if current is not None and not is_known_revision(current):
        raise DatabaseNewerThanCode(newer_database_message(current))
    state = "has no Pipeday tables" if current is None else f"is at revision {current}"
    raise DatabaseNotMigrated(
        f"The database {state}, but this version needs {head}. Run `pipeday db upgrade` to apply the migrations."
    )
