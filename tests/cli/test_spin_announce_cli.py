"""`pipeday spin announce SPIN_ID`: an operator finishes a spin announcement Slack never took,
posting only what is missing, through the real CLI entry point against the stub Web API.

Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.cli.main import cli
from bot.domain.prizes import add_prize
from bot.domain.spins import record_wheel_posted, spin_for
from models import Spin
from tests.db.test_spins import SPUN_AT, TEAM, closed_day, winner_id
from tests.support.slack_stub import SlackStub


@pytest.fixture
def slack() -> Iterator[SlackStub]:
    with SlackStub(team_id=TEAM) as stub:
        yield stub
    assert stub.errors == [], stub.errors


def announce(engine: Engine, slack: SlackStub, *args: str) -> tuple[int, str]:
    env = {
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": slack.base_url,
    }
    result = CliRunner().invoke(cli, ["spin", "announce", *args], env=env)
    return result.exit_code, result.output


def drawn_but_unannounced(session_factory: sessionmaker[Session], *, wheel_went_out: bool) -> int:
    with session_factory.begin() as session:
        day = closed_day(session)
        add_prize(session, TEAM, "Cowboy boots", weight=1, stock=2, actor="test")
        spin_id = spin_for(session, day, winner_id(day), spun_by="U_MGR", now=SPUN_AT).spin_id
        if wheel_went_out:
            record_wheel_posted(session, spin_id, SPUN_AT)
    return spin_id


def test_spin_announce_posts_what_is_missing_once(
    engine: Engine, session_factory: sessionmaker[Session], slack: SlackStub
) -> None:
    spin_id = drawn_but_unannounced(session_factory, wheel_went_out=True)

    code, output = announce(engine, slack, str(spin_id))

    assert code == 0, output
    assert f"Announced spin #{spin_id}." in output
    assert slack.shared_files() == []  # the wheel had gone out already: not again
    channel_posts = slack.posted_messages("C_AMER")
    assert [m.args["text"] for m in channel_posts] == ["🎉 <@U_REP0> won Cowboy boots!"]
    (dm,) = slack.posted_messages("DU_REP0")
    assert "You won Cowboy boots" in dm.args["text"]
    with session_factory.begin() as session:
        spin = session.get(Spin, spin_id)
        assert spin is not None and spin.announced_at is not None and spin.announce_error is None

    code, output = announce(engine, slack, str(spin_id))
    assert code == 0 and "was announced already; nothing was posted" in output
    assert len(slack.posted_messages()) == 2


def test_spin_announce_reports_what_slack_said_and_can_be_run_again(
    engine: Engine, session_factory: sessionmaker[Session], slack: SlackStub
) -> None:
    spin_id = drawn_but_unannounced(session_factory, wheel_went_out=False)
    slack.fail("files.completeUploadExternal", error="internal_error", status=500, retry_after=None, times=1)

    code, output = announce(engine, slack, str(spin_id))
    assert code == 1 and "internal_error" in output and f"pipeday spin announce {spin_id}" in output

    code, output = announce(engine, slack, str(spin_id))
    assert code == 0, output
    assert len(slack.shared_files()) == 1 and len(slack.posted_messages("C_AMER")) == 1


def test_spin_announce_of_an_unknown_spin_is_refused(engine: Engine, slack: SlackStub) -> None:
    code, output = announce(engine, slack, "999")
    assert code == 1 and "no spin #999" in output
    assert slack.calls("chat.postMessage") == []
