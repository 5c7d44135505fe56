"""`pipeday doctor` against a stub Web API: it names each problem and how to fix it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from tests.support.slack_stub import SlackStub


@pytest.fixture
def stub() -> Iterator[SlackStub]:
    with SlackStub() as slack:
        yield slack


def run_doctor(tmp_path: Path, stub: SlackStub, *, migrate: bool = True, **env: str) -> tuple[int, str]:
    environment = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_API_URL": stub.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'doctor.db'}",
        "SLACK_APP_TOKEN": "",
        **env,
    }
    runner = CliRunner()
    if migrate:
        assert runner.invoke(cli, ["db", "upgrade"], env=environment).exit_code == 0
    result = runner.invoke(cli, ["doctor"], env=environment)
    return result.exit_code, result.output


def test_healthy_install(tmp_path: Path, stub: SlackStub) -> None:
    code, output = run_doctor(tmp_path, stub)
    assert code == 0, output
    assert "all required scopes granted" in output and "All good." in output


def test_missing_scope_is_named_with_the_fix(tmp_path: Path, stub: SlackStub) -> None:
    stub.scopes.remove("files:write")
    code, output = run_doctor(tmp_path, stub)
    assert code == 1
    assert "missing scope files:write" in output
    assert "reinstall the app" in output
    assert "missing scope chat:write " not in output


def test_invalid_token(tmp_path: Path, stub: SlackStub) -> None:
    stub.fail("auth.test", error="invalid_auth", status=200, times=None)
    code, output = run_doctor(tmp_path, stub)
    assert code == 1
    assert "auth.test failed: invalid_auth" in output
    assert "Bot User OAuth Token" in output


def test_unmigrated_database_and_missing_settings(tmp_path: Path, stub: SlackStub) -> None:
    code, output = run_doctor(tmp_path, stub, migrate=False, SLACK_SIGNING_SECRET="")
    assert code == 1
    assert "Missing SLACK_SIGNING_SECRET" in output
    assert "Run `pipeday db upgrade`" in output


def test_unreachable_database(tmp_path: Path, stub: SlackStub) -> None:
    code, output = run_doctor(
        tmp_path, stub, migrate=False, DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    )
    assert code == 1
    assert "unreachable" in output and "Check DATABASE_URL" in output
