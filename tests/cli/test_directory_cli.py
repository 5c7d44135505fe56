"""`pipeday region …` and `pipeday role set` act on the bot token's own workspace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from tests.support.slack_stub import SlackStub


@pytest.fixture
def stub() -> Iterator[SlackStub]:
    with SlackStub(team_id="T_FROM_TOKEN") as slack:
        yield slack


def invoke(tmp_path: Path, *args: str, **env: str) -> tuple[int, str]:
    environment = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "SLACK_BOT_TOKEN": "", **env}
    result = CliRunner().invoke(cli, list(args), env=environment)
    return result.exit_code, result.output


def test_regions_go_to_the_tokens_workspace(tmp_path: Path, stub: SlackStub) -> None:
    token = {"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_API_URL": stub.base_url}
    assert invoke(tmp_path, "db", "upgrade")[0] == 0
    code, output = invoke(tmp_path, "region", "add", "AMER", "--tz", "America/New_York", "--channel", "C1", **token)
    assert code == 0 and "T_FROM_TOKEN" in output
    stub.wait_for("auth.test")
    code, output = invoke(tmp_path, "region", "list")  # no token: the only workspace in the database
    assert code == 0 and "AMER" in output and "America/New_York" in output
    code, output = invoke(tmp_path, "role", "set", "U123", "manager", **token)
    assert code == 0 and "U123 is now manager in T_FROM_TOKEN" in output


def test_bad_input_is_refused(tmp_path: Path) -> None:
    invoke(tmp_path, "db", "upgrade")
    code, output = invoke(tmp_path, "region", "add", "EMEA", "--tz", "Europe/Atlantis", "--team", "T1")
    assert code == 1 and "isn't a time zone" in output
    invoke(tmp_path, "region", "add", "EMEA", "--tz", "Europe/London", "--team", "T1")
    code, output = invoke(tmp_path, "region", "add", "emea", "--tz", "Europe/London", "--team", "T1")
    assert code == 1 and "already exists" in output
    code, output = invoke(tmp_path, "role", "set", "U1", "emperor", "--team", "T1")
    assert code == 2 and "emperor" in output


def test_several_workspaces_need_team(tmp_path: Path) -> None:
    invoke(tmp_path, "db", "upgrade")
    invoke(tmp_path, "region", "add", "A", "--tz", "UTC", "--team", "T1")
    invoke(tmp_path, "region", "add", "B", "--tz", "UTC", "--team", "T2")
    code, output = invoke(tmp_path, "region", "list")
    assert code == 1 and "pass --team" in output


def test_unmigrated_database_names_the_fix(tmp_path: Path) -> None:
    code, output = invoke(tmp_path, "region", "list", "--team", "T1")
    assert code == 1 and "pipeday db upgrade" in output


def test_serve_without_tokens_explains_what_to_set(tmp_path: Path) -> None:
    code, output = invoke(tmp_path, "serve", SLACK_SIGNING_SECRET="", SLACK_APP_TOKEN="")
    assert code == 1
    assert "SLACK_BOT_TOKEN" in output and "manifest.yml" in output


def test_region_set_changes_channel_and_zone(tmp_path: Path) -> None:
    invoke(tmp_path, "db", "upgrade")
    invoke(tmp_path, "region", "add", "APAC", "--tz", "Asia/Singapore", "--team", "T1")
    code, output = invoke(
        tmp_path, "region", "set", "apac", "--channel", "C_APAC", "--tz", "Asia/Kolkata", "--team", "T1"
    )
    assert code == 0, output
    code, output = invoke(tmp_path, "region", "list", "--team", "T1")
    assert "Asia/Kolkata" in output and "C_APAC" in output
    code, output = invoke(tmp_path, "region", "set", "MARS", "--channel", "C1", "--team", "T1")
    assert code == 1 and "no region called" in output
