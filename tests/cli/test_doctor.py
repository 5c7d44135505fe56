"""`pipeday doctor` against a stub Web API: it names each problem and how to fix it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from tests.support.slack_stub import SlackStub


@pytest.fixture
def stub() -> Iterator[SlackStub]:
    with SlackStub() as slack:
        yield slack


# A region, a competition, a prize and a manager: what a workspace needs for its first day.
SETUP_COMMANDS = (
    ["region", "add", "AMER", "--tz", "America/New_York", "--channel", "C0AMER"],
    ["competition", "add-classics"],
    ["prize", "add", "Cowboy boots"],
    ["role", "set", "U0MANAGER", "manager"],
)


def doctor_env(tmp_path: Path, stub: SlackStub, **env: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_API_URL": stub.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'doctor.db'}",
        "SLACK_APP_TOKEN": "",
        "PIPEDAY_ADMINS": "",
        **env,
    }


def run_doctor(
    tmp_path: Path, stub: SlackStub, *, migrate: bool = True, set_up: bool = False, **env: str
) -> tuple[int, str]:
    environment = doctor_env(tmp_path, stub, **env)
    runner = CliRunner()
    if migrate:
        assert runner.invoke(cli, ["db", "upgrade"], env=environment).exit_code == 0
        for command in SETUP_COMMANDS if set_up else ():
            result = runner.invoke(cli, command, env=environment)
            assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["doctor"], env=environment)
    return result.exit_code, result.output


def test_healthy_install(tmp_path: Path, stub: SlackStub) -> None:
    code, output = run_doctor(tmp_path, stub, set_up=True)
    assert code == 0, output
    assert "all required scopes granted" in output and "All good." in output
    assert "✓ region AMER: channel #c0amer (C0AMER), Pipeday is a member" in output
    assert stub.calls("conversations.info")[0].args["channel"] == "C0AMER"


def test_empty_setup_lists_each_gap_with_its_fix(tmp_path: Path, stub: SlackStub) -> None:
    code, output = run_doctor(tmp_path, stub)

    assert code == 1
    assert "4 problem(s) found" in output
    findings = output.split("✗ ")[1:]
    expected = {
        "regions: no regions yet": "`pipeday region add AMER --tz America/New_York --channel C0123456789`",
        "competitions: no competitions yet": "`pipeday competition add-classics`",
        "prize wheel: no prizes on the wheel": '`pipeday prize add "Cowboy boots" --stock 3`',
        "managers: no manager": "`pipeday role set U0123456789 manager`",
    }
    for problem, fix in expected.items():
        finding = next((f for f in findings if f.startswith(problem)), None)
        assert finding is not None, (problem, output)
        assert "→ " in finding and fix in finding, (problem, output)


def test_empty_setup_without_a_token(tmp_path: Path, stub: SlackStub) -> None:
    code, output = run_doctor(tmp_path, stub, SLACK_BOT_TOKEN="")

    assert code == 1
    assert "no regions yet" in output and "no competitions yet" in output
    assert "no prizes on the wheel" in output and "no manager" in output


def test_configured_admins_count_as_managers(tmp_path: Path, stub: SlackStub) -> None:
    runner, environment = CliRunner(), doctor_env(tmp_path, stub, PIPEDAY_ADMINS="U0BOSS")
    for command in (["db", "upgrade"], *SETUP_COMMANDS[:3]):
        assert runner.invoke(cli, command, env=environment).exit_code == 0

    result = runner.invoke(cli, ["doctor"], env=environment)

    assert result.exit_code == 0, result.output
    assert "1 manager(s) or admin(s)" in result.output


def test_a_region_channel_the_bot_cannot_reach(tmp_path: Path, stub: SlackStub) -> None:
    stub.fail("conversations.info", error="channel_not_found", status=200, retry_after=None, times=None)

    code, output = run_doctor(tmp_path, stub, set_up=True)

    assert code == 1
    assert "✗ region AMER: Slack can't show Pipeday channel C0AMER" in output
    assert "`/invite @Pipeday`" in output and "`pipeday region set AMER --channel C…`" in output


def test_a_region_without_a_channel(tmp_path: Path, stub: SlackStub) -> None:
    environment = doctor_env(tmp_path, stub)
    runner = CliRunner()
    for command in (["db", "upgrade"], *SETUP_COMMANDS[1:], ["region", "add", "EMEA", "--tz", "Europe/London"]):
        assert runner.invoke(cli, command, env=environment).exit_code == 0

    result = runner.invoke(cli, ["doctor"], env=environment)

    assert result.exit_code == 1
    assert "✗ region EMEA: no channel" in result.output
    assert "`pipeday region set EMEA --channel C0123456789`" in result.output


def test_no_prizes_left_on_the_wheel_names_the_competitions(tmp_path: Path, stub: SlackStub) -> None:
    environment = doctor_env(tmp_path, stub)
    runner = CliRunner()
    setup = [*SETUP_COMMANDS[:2], ["prize", "add", "Cowboy boots", "--stock", "0"], SETUP_COMMANDS[3]]
    for command in (["db", "upgrade"], *setup):
        assert runner.invoke(cli, command, env=environment).exit_code == 0, command

    result = runner.invoke(cli, ["doctor"], env=environment)

    assert result.exit_code == 1
    assert "no prizes on the wheel, so the winners of Booking Day, Connect Day have nothing to spin for" in (
        result.output
    )
    assert '`pipeday prize restock "Cowboy boots" 5`' in result.output


class FakeConversations:
    """conversations.info answering with one channel object, as Slack does."""

    def __init__(self, channel: dict[str, Any]) -> None:
        self.channel = channel

    def conversations_info(self, *, channel: str) -> dict[str, Any]:
        return {"ok": True, "channel": {"id": channel, **self.channel}}


@pytest.mark.parametrize(
    ("channel", "granted", "reachable", "says"),
    [
        ({"name": "sales", "is_member": True, "is_private": True}, set(), True, "#sales (C1), Pipeday is a member"),
        ({"name": "sales", "is_member": False}, {"chat:write.public"}, True, "public, Pipeday posts there"),
        ({"name": "sales", "is_member": False}, set(), False, "lacks chat:write.public"),
        ({"name": "sales", "is_member": False, "is_private": True}, {"chat:write.public"}, False, "isn't in it"),
        ({"name": "sales", "is_member": True, "is_archived": True}, {"chat:write.public"}, False, "archived"),
    ],
)
def test_channel_check_follows_what_slack_says(
    channel: dict[str, Any], granted: set[str], reachable: bool, says: str
) -> None:
    from bot.diagnostics import slack_channel_check
    from models import Region

    check = slack_channel_check(FakeConversations(channel), frozenset(granted))  # type: ignore[arg-type]
    finding = check(Region(name="AMER", tz="America/New_York", channel_id="C1"))

    assert finding.ok is reachable
    assert says in finding.detail


def test_a_missing_sqlite_file_is_reported_not_created(tmp_path: Path, stub: SlackStub) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    database = folder / "pipeday.db"

    code, output = run_doctor(tmp_path, stub, migrate=False, DATABASE_URL=f"sqlite:///{database}")

    assert code == 1
    assert f"no database at {database} yet" in output
    assert "Run `pipeday db upgrade`" in output
    assert list(folder.iterdir()) == []


def test_a_sqlite_file_in_a_missing_folder_creates_no_folder(tmp_path: Path, stub: SlackStub) -> None:
    database = tmp_path / "not" / "yet" / "pipeday.db"

    code, output = run_doctor(tmp_path, stub, migrate=False, DATABASE_URL=f"sqlite:///{database}")

    assert code == 1 and f"no database at {database} yet" in output
    assert not (tmp_path / "not").exists()


def test_an_empty_database_has_no_pipeday_tables_yet(tmp_path: Path, stub: SlackStub) -> None:
    (tmp_path / "doctor.db").touch()

    code, output = run_doctor(tmp_path, stub, migrate=False)

    assert code == 1
    assert "the database has no Pipeday tables yet" in output
    assert "schema at nothing" not in output


def test_no_library_retry_logs(tmp_path: Path, stub: SlackStub) -> None:
    environment = doctor_env(tmp_path, stub)
    runner = CliRunner()
    for command in (["db", "upgrade"], *SETUP_COMMANDS):
        assert runner.invoke(cli, command, env=environment).exit_code == 0
    stub.reset()
    # Slack asks for a retry once; the client retries (Retry-After 0) and doctor goes on.
    stub.fail("auth.test", error="ratelimited", status=429, retry_after=0, times=1)

    # A real process, so the CLI's own logging setup decides what reaches the terminal.
    result = subprocess.run(
        [sys.executable, "-c", "from bot.cli.main import cli; cli()", "doctor"],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert len(stub.calls("auth.test")) == 2
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All good." in result.stdout
    assert result.stderr == ""


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
