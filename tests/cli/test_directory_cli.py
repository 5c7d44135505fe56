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
        tmp_path, "region", "set", "apac", "--channel", "C0APAC", "--tz", "Asia/Kolkata", "--team", "T1"
    )
    assert code == 0, output
    code, output = invoke(tmp_path, "region", "list", "--team", "T1")
    assert "Asia/Kolkata" in output and "C0APAC" in output
    code, output = invoke(tmp_path, "region", "set", "MARS", "--channel", "C1", "--team", "T1")
    assert code == 1 and "no region called" in output


def token_for(stub: SlackStub) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_API_URL": stub.base_url}


@pytest.mark.parametrize("typed", ["#sales", "sales", "general-chat", "U0123ABCD"])
def test_a_channel_name_is_refused_and_nothing_saved(tmp_path: Path, typed: str) -> None:
    invoke(tmp_path, "db", "upgrade")
    code, output = invoke(
        tmp_path, "region", "add", "AMER", "--tz", "America/New_York", "--channel", typed, "--team", "T1"
    )
    assert code == 2 and "--channel" in output and "C0123ABCD" in output and "Traceback" not in output
    assert "No regions yet" in invoke(tmp_path, "region", "list", "--team", "T1")[1]

    invoke(tmp_path, "region", "add", "AMER", "--tz", "America/New_York", "--channel", "C0AMER", "--team", "T1")
    code, output = invoke(tmp_path, "region", "set", "AMER", "--channel", typed, "--team", "T1")
    assert code == 2 and "channel's id" in output
    assert "C0AMER" in invoke(tmp_path, "region", "list", "--team", "T1")[1]


def test_a_private_channel_without_the_bot_gets_the_invite_advice(tmp_path: Path, stub: SlackStub) -> None:
    stub.add_channel("C0SECRET", "deals-secret", private=True)
    invoke(tmp_path, "db", "upgrade")

    code, output = invoke(
        tmp_path, "region", "add", "AMER", "--tz", "America/New_York", "--channel", "C0SECRET", **token_for(stub)
    )

    assert code == 0, output  # saved: the admin invites the bot next
    assert "private channel Pipeday isn't in" in output and "/invite @Pipeday" in output
    assert [c.args["channel"] for c in stub.calls("conversations.info")] == ["C0SECRET"]
    assert stub.calls("conversations.join") == []  # a bot can't join a private channel


def test_a_private_channel_with_the_bot_in_it_is_fine(tmp_path: Path, stub: SlackStub) -> None:
    stub.add_channel("G0SECRET", "deals-secret", private=True, bot_is_member=True)
    invoke(tmp_path, "db", "upgrade")
    invoke(tmp_path, "region", "add", "AMER", "--tz", "America/New_York", **token_for(stub))

    code, output = invoke(tmp_path, "region", "set", "AMER", "--channel", "G0SECRET", **token_for(stub))

    assert code == 0 and "Pipeday is in #deals-secret." in output and "Warning" not in output
    assert stub.calls("conversations.join") == []


def test_a_public_channel_the_bot_isnt_in_is_joined(tmp_path: Path, stub: SlackStub) -> None:
    stub.add_channel("C0SALES", "sales")
    invoke(tmp_path, "db", "upgrade")

    code, output = invoke(
        tmp_path, "region", "add", "AMER", "--tz", "America/New_York", "--channel", "C0SALES", **token_for(stub)
    )

    assert code == 0, output
    assert "Pipeday joined #sales" in output
    assert [c.args["channel"] for c in stub.calls("conversations.join")] == ["C0SALES"]
    assert stub.bot_is_member("C0SALES")


def test_a_public_channel_the_bot_cant_join_says_how_to_fix_it(tmp_path: Path, stub: SlackStub) -> None:
    stub.add_channel("C0SALES", "sales")
    stub.scopes.remove("channels:join")  # installed before the scope was added
    invoke(tmp_path, "db", "upgrade")
    invoke(tmp_path, "region", "add", "AMER", "--tz", "America/New_York", **token_for(stub))

    code, output = invoke(tmp_path, "region", "set", "AMER", "--channel", "C0SALES", **token_for(stub))

    assert code == 0 and "couldn't join #sales" in output
    assert "channels:join" in output and "/invite @Pipeday" in output


def test_a_fixed_offset_zone_warns_with_the_zone_meant(tmp_path: Path) -> None:
    invoke(tmp_path, "db", "upgrade")

    code, output = invoke(tmp_path, "region", "add", "AMER", "--tz", "EST", "--team", "T1")

    assert code == 0 and "Added region AMER (EST)" in output  # a warning, not a refusal
    assert "no daylight saving" in output and "Did you mean America/New_York?" in output
    code, output = invoke(tmp_path, "region", "set", "AMER", "--tz", "America/New_York", "--team", "T1")
    assert code == 0 and "Warning" not in output
    code, output = invoke(tmp_path, "region", "add", "EMEA", "--tz", "UTC", "--team", "T1")
    assert "Did you mean Europe/London?" in output
    for region, zone in (("Global", "UTC"), ("UTC", "Etc/UTC")):
        code, output = invoke(tmp_path, "region", "add", region, "--tz", zone, "--team", "T1")
        assert code == 0 and "Warning" not in output, output


@pytest.mark.parametrize("typed", ["alice", "@alice", "<@U0123ABCD>", "C0123ABCD"])
def test_role_set_takes_only_user_ids(tmp_path: Path, typed: str) -> None:
    invoke(tmp_path, "db", "upgrade")
    invoke(tmp_path, "region", "add", "AMER", "--tz", "America/New_York", "--team", "T1")

    code, output = invoke(tmp_path, "role", "set", typed, "manager", "--team", "T1")

    assert code == 2 and "Slack user id" in output and "U0123ABCD" in output and "Traceback" not in output
    code, output = invoke(tmp_path, "role", "set", "W0123ABCD", "manager", "--team", "T1")
    assert code == 0 and "W0123ABCD is now manager" in output
