"""`pipeday spin announce SPIN_ID` with many workspaces (SLACK_CLIENT_ID, no SLACK_BOT_TOKEN):
the announcement goes out with the token of the spin's own workspace; a workspace no longer
served is refused with the reason, nothing posted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from models import Spin
from tests.cli.test_installs_cli import Deployment
from tests.cli.test_spin_announce_cli import drawn_but_unannounced
from tests.db.test_spins import TEAM
from tests.support.slack_stub import SlackStub


@pytest.fixture
def deployment(engine: Engine, session_factory: sessionmaker[Session]) -> Iterator[Deployment]:
    with SlackStub(team_id=TEAM) as slack:
        yield Deployment(engine, session_factory, slack)
    assert slack.errors == [], slack.errors


def test_spin_announce_posts_with_the_spins_workspaces_own_token(
    deployment: Deployment, session_factory: sessionmaker[Session]
) -> None:
    deployment.install(team_id="T_OTHER")
    deployment.install(team_id=TEAM)
    spin_id = drawn_but_unannounced(session_factory, wheel_went_out=True)

    code, output = deployment.run("spin", "announce", str(spin_id))

    assert code == 0, output
    assert f"Announced spin #{spin_id}." in output
    [post] = deployment.slack.posted_messages("C_AMER")
    assert post.args["text"] == "🎉 <@U_REP0> won Cowboy boots!"
    [token] = deployment.slack.tokens_of(TEAM)
    posts = deployment.slack.calls("chat.postMessage")
    assert posts and {call.headers.get("Authorization") for call in posts} == {f"Bearer {token}"}
    with session_factory.begin() as session:
        spin = session.get(Spin, spin_id)
        assert spin is not None and spin.announced_at is not None


def test_spin_announce_for_a_workspace_not_served_says_so_and_posts_nothing(
    deployment: Deployment, session_factory: sessionmaker[Session]
) -> None:
    deployment.install(team_id="T_OTHER")
    spin_id = drawn_but_unannounced(session_factory, wheel_went_out=True)

    code, output = deployment.run("spin", "announce", str(spin_id))

    assert code == 1 and f"Spin #{spin_id} can't be announced: workspace {TEAM} is not served" in output, output
    assert "SLACK_BOT_TOKEN" not in output
    assert deployment.slack.posted_messages() == []


def test_spin_announce_of_an_unknown_spin_says_so(deployment: Deployment) -> None:
    deployment.install(team_id=TEAM)
    code, output = deployment.run("spin", "announce", "999")
    assert code == 1 and "There's no spin #999." in output, output
