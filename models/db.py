"""Engine, sessions and migrations.

SQLite is the embedded default (WAL, busy timeout, foreign keys on); PostgreSQL is the
production database. The app never creates tables itself: `pipeday db upgrade` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from models.sqlite_gate import WriteGate, gated_connection_class

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000


class DatabaseNotMigrated(RuntimeError):
    """The schema is missing or older than this code expects."""


def normalize_database_url(url: str) -> str:
    """Accept Heroku-style `postgres://` and plain `postgresql://` URLs; use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalize_database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _make_sqlite_engine(url, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def _make_sqlite_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    on_disk = bool(parsed.database) and parsed.database != ":memory:"
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    connect_args.setdefault("check_same_thread", False)
    if on_disk:
        path = Path(str(parsed.database)).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not parsed.query.get("uri"):
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


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ensure_migrated(engine: Engine) -> None:
    """Refuse to run against a database whose schema is not at head."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "has no Pipeday tables" if current is None else f"is at revision {current}"
        raise DatabaseNotMigrated(
            f"The database {state}, but this version needs {head}. Run `pipeday db upgrade` to apply the migrations."
        )


def ping(engine: Engine) -> bool:
    """True when the database answers a trivial query (used by /healthz)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        return False
