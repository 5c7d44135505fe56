"""The app refuses an un-migrated database and names the command that fixes it."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import Engine

from models.db import DatabaseNotMigrated, current_revision, ensure_migrated, head_revision, make_engine, upgrade
from tests.support.postgres import schema_engine


def _check_refusal_until_upgraded(engine: Engine) -> None:
    with pytest.raises(DatabaseNotMigrated, match="pipeday db upgrade"):
        ensure_migrated(engine)
    upgrade(engine, "0001")
    with pytest.raises(DatabaseNotMigrated, match="revision 0001"):
        ensure_migrated(engine)
    upgrade(engine)
    ensure_migrated(engine)
    assert current_revision(engine) == head_revision()


def test_unmigrated_database_is_refused_until_upgrade(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        _check_refusal_until_upgraded(engine)
    finally:
        engine.dispose()
    if os.environ.get("TEST_DATABASE_URL"):
        with schema_engine("pipeday_fresh") as engine:
            _check_refusal_until_upgraded(engine)


def test_postgres_urls_are_normalised() -> None:
    from models.db import normalize_database_url

    assert normalize_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    engine.dispose()
