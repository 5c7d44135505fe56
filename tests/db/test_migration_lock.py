"""Concurrent release phases, and a database migrated by a newer Pipeday.

`pipeday db upgrade` takes a lock (a PostgreSQL advisory lock; a file lock beside a SQLite
file), so three at once on an empty database all succeed: one migrates, the others wait and
find the work done. A database ahead of this code gets the truth, not "run db upgrade".
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from bot.cli.main import cli
from bot.diagnostics import check_database
from models.db import (
    DatabaseNewerThanCode,
    current_revision,
    ensure_migrated,
    head_revision,
    make_engine,
    upgrade,
)
from models.readiness import DatabaseReadiness
from tests.conftest import BACKENDS
from tests.support.postgres import schema_engine

PIPEDAY = Path(sys.executable).parent / "pipeday"
FROM_THE_FUTURE = "9f3e_from_a_newer_pipeday"


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """An empty database of each kind, and the URL a CLI process reaches it by."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'release.db'}"
        engine = make_engine(url)
        yield url, engine
        engine.dispose()
        return
    with schema_engine("pipeday_release") as engine:
        yield engine.url.render_as_string(hide_password=False), engine


def _run_pipeday(url: str, *args: str) -> subprocess.Popen[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": url}
    return subprocess.Popen([str(PIPEDAY), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_three_concurrent_upgrades_of_an_empty_database_all_succeed(empty_database: tuple[str, Engine]) -> None:
    url, engine = empty_database
    releases = [_run_pipeday(url, "db", "upgrade") for _ in range(3)]
    outputs = [release.communicate(timeout=120)[0] for release in releases]
    assert [release.returncode for release in releases] == [0, 0, 0], outputs
    assert sum("upgraded to" in output for output in outputs) == 1, outputs
    assert sum(f"already at head ({head_revision()})" in output for output in outputs) == 2, outputs
    assert not any("Traceback" in output for output in outputs)
    assert current_revision(engine) == head_revision()
    ensure_migrated(engine)


def _pretend_a_newer_pipeday_migrated(engine: Engine) -> None:
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :newer"), {"newer": FROM_THE_FUTURE})


def _is_the_truth_about_a_newer_database(message: str) -> bool:
    return (
        f"revision {FROM_THE_FUTURE}" in message
        and "newer Pipeday" in message
        and f"pipeday db downgrade {head_revision()}" in message
        and "run `pipeday db upgrade`" not in message
    )


def test_a_database_from_a_newer_pipeday_is_called_that_by_the_app(empty_database: tuple[str, Engine]) -> None:
    _, engine = empty_database
    _pretend_a_newer_pipeday_migrated(engine)
    with pytest.raises(DatabaseNewerThanCode) as refused:
        ensure_migrated(engine)
    assert _is_the_truth_about_a_newer_database(str(refused.value)), refused.value
    readiness = DatabaseReadiness(engine)
    assert not readiness.check_once()
    assert readiness.problem is not None and _is_the_truth_about_a_newer_database(readiness.problem)


@pytest.mark.parametrize("command", [["db", "upgrade"], ["db", "downgrade", "0001"], ["db", "status"]])
def test_a_database_from_a_newer_pipeday_is_called_that_by_the_cli(
    empty_database: tuple[str, Engine], command: list[str]
) -> None:
    url, engine = empty_database
    _pretend_a_newer_pipeday_migrated(engine)
    result = CliRunner().invoke(cli, command, env={"DATABASE_URL": url})
    assert result.exit_code == (0 if command == ["db", "status"] else 1), result.output
    assert _is_the_truth_about_a_newer_database(result.output), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert current_revision(engine) == FROM_THE_FUTURE  # nothing was touched


def test_doctor_says_the_database_is_newer(empty_database: tuple[str, Engine]) -> None:
    _, engine = empty_database
    _pretend_a_newer_pipeday_migrated(engine)
    [migrations] = [finding for finding in check_database(engine) if finding.check == "migrations"]
    assert not migrations.ok and "newer Pipeday" in migrations.detail
    assert migrations.fix is not None and f"pipeday db downgrade {head_revision()}" in migrations.fix


def test_db_upgrade_without_a_database_says_so_in_one_line() -> None:
    result = CliRunner().invoke(cli, ["db", "upgrade"], env={"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert result.exit_code == 1 and "Can't reach the database" in result.output, result.output
    assert isinstance(result.exception, SystemExit)
