"""The app refuses an un-migrated database and names the command that fixes it; every
migration can be undone (`pipeday db downgrade`) and done again, on both databases."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, inspect

from bot.cli.main import cli
from models.db import (
    DatabaseNotMigrated,
    current_revision,
    downgrade,
    ensure_migrated,
    head_revision,
    make_engine,
    script_directory,
    upgrade,
)
from tests.conftest import BACKENDS
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


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'walk.db'}")
        yield engine
        engine.dispose()
        return
    with schema_engine("pipeday_walk") as engine:
        yield engine


def _schema(engine: Engine) -> dict[str, Any]:
    """Tables with their columns, indexes (with their conditions), keys and constraints."""
    inspector = inspect(engine)
    found: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        columns = [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)]
        indexes = sorted(
            (
                i["name"] or "",
                tuple(str(c) for c in i["column_names"]),
                bool(i["unique"]),
                _options(i.get("dialect_options")),
            )
            for i in inspector.get_indexes(table)
        )
        foreign_keys = sorted(
            (tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
            for fk in inspector.get_foreign_keys(table)
        )
        uniques = sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table))
        primary_key = tuple(inspector.get_pk_constraint(table)["constrained_columns"])
        found[table] = (columns, indexes, foreign_keys, uniques, primary_key)
    return found


def _options(options: dict[str, Any] | None) -> str:
    """An index's dialect options (a partial index's WHERE) as text, so they compare by value."""
    return repr(sorted((name, str(value)) for name, value in (options or {}).items()))


def test_every_migration_can_be_undone_and_done_again(empty_engine: Engine) -> None:
    scripts = list(reversed(list(script_directory().walk_revisions())))  # oldest first, whatever versions exist
    assert scripts and scripts[-1].revision == head_revision()
    before_any = _schema(empty_engine)
    for script in scripts:
        previous = script.down_revision
        assert previous is None or isinstance(previous, str)  # a straight line of revisions
        before = _schema(empty_engine)
        upgrade(empty_engine, script.revision)
        after = _schema(empty_engine)

        result = downgrade(empty_engine, previous or "base")
        assert (result.before, result.after) == (script.revision, previous)
        assert current_revision(empty_engine) == previous
        assert _without_version_table(_schema(empty_engine)) == _without_version_table(before), script.revision

        upgrade(empty_engine, script.revision)
        assert _schema(empty_engine) == after, script.revision

    downgrade(empty_engine, "base")
    assert _without_version_table(_schema(empty_engine)) == _without_version_table(before_any)
    upgrade(empty_engine)
    ensure_migrated(empty_engine)


def _without_version_table(schema: dict[str, Any]) -> dict[str, Any]:
    return {table: shape for table, shape in schema.items() if table != "alembic_version"}


def test_db_downgrade_on_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        scripts = list(script_directory().walk_revisions())
        previous = scripts[0].down_revision
        assert isinstance(previous, str)

        stepped = CliRunner().invoke(cli, ["db", "downgrade", previous], env={"DATABASE_URL": url})
        assert stepped.exit_code == 0, stepped.output
        assert f"downgraded to {previous} (was {head_revision()})" in stepped.output
        assert current_revision(engine) == previous

        unknown = CliRunner().invoke(cli, ["db", "downgrade", "nonesuch"], env={"DATABASE_URL": url})
        assert unknown.exit_code == 1 and "nonesuch" in unknown.output, unknown.output
        assert isinstance(unknown.exception, SystemExit)  # a one-line error, not a traceback
        assert current_revision(engine) == previous

        again = CliRunner().invoke(cli, ["db", "upgrade"], env={"DATABASE_URL": url})
        assert f"upgraded to {head_revision()} (was {previous})" in again.output, again.output
    finally:
        engine.dispose()
