"""Many workspaces over real HTTP: "Add to Slack" through Bolt's OAuth flow (state cookie,
redirect, oauth.v2.access in the stub), then each workspace's signed slash commands logging
under it with its own token; forged and replayed states refused; tokens sealed at rest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.directory import add_region
from bot.scheduler.clock import Clock, make_scheduler
from bot.scheduler.workspaces import clock_runtime
from models import Activity, WorkspaceInstall
from models.installations import slack_bots, slack_installations, slack_oauth_states
from tests.support.clock import FakeClock
from tests.support.installs import MultiBot, running_multi_bot
from tests.support.slack_stub import SlackStub


@pytest.fixture
def bot(
    engine: Engine, session_factory: sessionmaker[Session], slack: SlackStub, clock: FakeClock
) -> Iterator[MultiBot]:
    with running_multi_bot(engine, session_factory, slack, clock) as running:
        yield running


def activities(bot: MultiBot, team_id: str) -> int:
    with bot.session_factory.begin() as session:
        query = select(func.count()).select_from(Activity).where(Activity.team_id == team_id)
        return int(session.scalar(query) or 0)


def reply(answer: object) -> str:
    return json.dumps(answer.json(), ensure_ascii=False)  # type: ignore[attr-defined]


def test_a_full_install_then_a_slash_command_logs_under_that_workspace(bot: MultiBot) -> None:
    done = bot.install(team_id="T_ACME", team_name="Acme")
    assert "Thank you" in done.text or "installation" in done.text.lower()
    exchange = bot.slack.calls("oauth.v2.access")
    assert len(exchange) == 1 and exchange[0].args["code"]
    with bot.session_factory.begin() as session:
        install = session.get(WorkspaceInstall, "T_ACME")
        assert install is not None and install.state == "active" and install.team_name == "Acme"

    answer = bot.pg("3 connects", team_id="T_ACME", user_id="U_ANA")
    assert answer.status_code == 200 and "Logged 3 connects" in reply(answer)
    assert activities(bot, "T_ACME") == 1
    # The request was authorized with T_ACME's own token.
    token = bot.slack.tokens_of("T_ACME")[0]
    assert any(c.headers.get("Authorization") == f"Bearer {token}" for c in bot.slack.calls("auth.test"))


def test_a_workspace_without_an_install_is_not_served(bot: MultiBot) -> None:
    request = bot.requests.slash_command("3 connects", team_id="T_NOBODY")
    answer = request.send(bot.base_url)
    bot.settle()
    assert activities(bot, "T_NOBODY") == 0
    assert answer.status_code == 200 and "Logged" not in answer.text
    assert request.response_url is not None
    [told] = bot.slack.wait_for_responses(request.response_url.rsplit("/", 1)[-1])
    assert "Pipeday isn't installed in this workspace" in told.args["text"]


def test_a_second_workspaces_logs_never_show_on_the_firsts_boards(bot: MultiBot) -> None:
    bot.install(team_id="T_ACME")
    bot.install(team_id="T_GLOBEX")
    with bot.session_factory.begin() as session:
        add_region(session, "T_ACME", "AMER", "America/New_York", "C_ACME", actor="test")
        add_region(session, "T_GLOBEX", "AMER", "America/New_York", "C_GLOBEX", actor="test")
    bot.pg("join AMER", team_id="T_ACME", user_id="U_ANA")
    bot.pg("join AMER", team_id="T_GLOBEX", user_id="U_GUS")
    bot.pg("4 connects", team_id="T_ACME", user_id="U_ANA")
    bot.pg("9 connects", team_id="T_GLOBEX", user_id="U_GUS")

    acme_board = reply(bot.pg("board", team_id="T_ACME", user_id="U_ANA"))
    globex_board = reply(bot.pg("board", team_id="T_GLOBEX", user_id="U_GUS"))
    assert "U_ANA" in acme_board and "4 connects" in acme_board
    assert "U_GUS" not in acme_board and "9 connects" not in acme_board
    assert "U_GUS" in globex_board and "U_ANA" not in globex_board
    assert (activities(bot, "T_ACME"), activities(bot, "T_GLOBEX")) == (1, 1)


def test_a_forged_state_is_refused(bot: MultiBot) -> None:
    state, _cookie = bot.browser.open_install_page()
    code = bot.slack.grant(team_id="T_ACME")
    # A state nobody issued, in a cookie made to match it.
    forged = bot.browser.come_back(code, "forged-state", "slack-app-oauth-state=forged-state")
    # The real state without the cookie: another browser finishing someone else's install.
    stolen = bot.browser.come_back(code, state, None)
    assert forged.status_code == 401 and stolen.status_code == 400
    assert bot.slack.calls("oauth.v2.access") == []
    with bot.session_factory.begin() as session:
        assert session.get(WorkspaceInstall, "T_ACME") is None
        assert session.scalar(select(func.count()).select_from(slack_installations)) == 0


def test_a_replayed_state_is_refused(bot: MultiBot) -> None:
    state, cookie = bot.browser.open_install_page()
    first = bot.browser.come_back(bot.slack.grant(team_id="T_ACME"), state, cookie)
    assert first.status_code == 200
    again = bot.browser.come_back(bot.slack.grant(team_id="T_EVIL"), state, cookie)
    assert again.status_code == 401
    assert len(bot.slack.calls("oauth.v2.access")) == 1
    with bot.session_factory.begin() as session:
        assert session.get(WorkspaceInstall, "T_EVIL") is None
        assert session.scalar(select(func.count()).select_from(slack_oauth_states)) == 0  # used up


def test_tokens_are_encrypted_at_rest(bot: MultiBot) -> None:
    bot.install(team_id="T_ACME", rotating=True)
    token = bot.slack.tokens_of("T_ACME")[0]
    with bot.session_factory.begin() as session:
        stored = [
            *session.execute(select(slack_installations.c.bot_token, slack_installations.c.bot_refresh_token)),
            *session.execute(select(slack_bots.c.bot_token, slack_bots.c.bot_refresh_token)),
        ]
    assert len(stored) == 2
    for bot_token, refresh_token in stored:
        assert bot_token and refresh_token
        assert token not in bot_token and "xox" not in bot_token and "xox" not in refresh_token
    found = bot.multi.installs.store.find_bot(enterprise_id=None, team_id="T_ACME")
    assert found is not None and found.bot_token == token and found.bot_refresh_token.startswith("xoxe-1-")


# --- Enterprise Grid --------------------------------------------------------------------------


def test_an_org_wide_install_serves_each_granted_workspace_with_its_own_data(bot: MultiBot) -> None:
    bot.install(enterprise_id="E_ORG", enterprise_name="Initech", org_wide=True)
    org_token = bot.slack.tokens_of(enterprise_id="E_ORG")[0]
    granted = bot.event(
        {"type": "team_access_granted", "team_ids": ["T_EAST", "T_WEST"]},
        team_id=None,
        enterprise_id="E_ORG",
        org_wide=True,
    )
    assert granted.status_code == 200
    with bot.session_factory.begin() as session:
        for team_id in ("T_EAST", "T_WEST"):
            add_region(session, team_id, "AMER", "America/New_York", f"C_{team_id}", actor="test")
        installs = {row.team_id: row for row in session.scalars(select(WorkspaceInstall))}
    assert {t: (r.state, r.enterprise_id, r.org_install) for t, r in installs.items()} == {
        "T_EAST": ("active", "E_ORG", True),
        "T_WEST": ("active", "E_ORG", True),
    }

    for team_id, user_id, count in (("T_EAST", "U_EVA", 2), ("T_WEST", "U_WES", 7)):
        grid = {"team_id": team_id, "enterprise_id": "E_ORG", "org_wide": True, "user_id": user_id}
        bot.pg("join AMER", **grid)
        assert f"Logged {count} connects" in reply(bot.pg(f"{count} connects", **grid))
    east = reply(bot.pg("board", team_id="T_EAST", enterprise_id="E_ORG", org_wide=True, user_id="U_EVA"))
    assert "U_EVA" in east and "U_WES" not in east
    assert (activities(bot, "T_EAST"), activities(bot, "T_WEST")) == (1, 1)
    # Both workspaces were served with the org's one token.
    assert {c.headers.get("Authorization") for c in bot.slack.calls("auth.test")} == {f"Bearer {org_token}"}

    bot.event(
        {"type": "team_access_revoked", "team_ids": ["T_WEST"]}, team_id=None, enterprise_id="E_ORG", org_wide=True
    )
    with bot.session_factory.begin() as session:
        west, east_row = session.get(WorkspaceInstall, "T_WEST"), session.get(WorkspaceInstall, "T_EAST")
        assert west is not None and west.state == "access_revoked" and west.purge_after is not None
        assert east_row is not None and east_row.state == "active"


def test_a_request_from_an_org_workspace_nobody_granted_yet_is_served(bot: MultiBot) -> None:
    bot.install(enterprise_id="E_ORG", org_wide=True)
    answer = bot.pg("1 connect", team_id="T_NEW", enterprise_id="E_ORG", org_wide=True, user_id="U_NEW")
    assert "Logged 1 connect" in reply(answer)
    with bot.session_factory.begin() as session:
        row = session.get(WorkspaceInstall, "T_NEW")
        assert row is not None and (row.state, row.enterprise_id, row.org_install) == ("active", "E_ORG", True)


# --- uninstall and revocation ----------------------------------------------------------------


def token_rows(bot: MultiBot, team_id: str) -> int:
    with bot.session_factory.begin() as session:
        return sum(
            int(session.scalar(select(func.count()).select_from(table).where(table.c.team_id == team_id)) or 0)
            for table in (slack_installations, slack_bots)
        )


@pytest.mark.parametrize(
    ("event", "state"),
    [
        ({"type": "app_uninstalled"}, "uninstalled"),
        ({"type": "tokens_revoked", "tokens": {"bot": ["U_BOT_T_ACME"]}}, "revoked"),
    ],
)
def test_uninstall_or_revocation_deletes_the_workspaces_tokens_at_once(
    bot: MultiBot, event: dict[str, object], state: str
) -> None:
    bot.install(team_id="T_ACME")
    bot.install(team_id="T_GLOBEX")
    bot.pg("2 connects", team_id="T_ACME", user_id="U_ANA")
    assert token_rows(bot, "T_ACME") == 2
    bot.slack.uninstall("T_ACME")
    assert bot.event(event, team_id="T_ACME").status_code == 200

    assert token_rows(bot, "T_ACME") == 0 and token_rows(bot, "T_GLOBEX") == 2
    with bot.session_factory.begin() as session:
        row = session.get(WorkspaceInstall, "T_ACME")
        assert row is not None and row.state == state
        assert row.purge_after == bot.clock() + timedelta(days=30)
    assert activities(bot, "T_ACME") == 1  # kept until the purge
    # The removed workspace is no longer served; the other one is.
    assert "Logged" not in bot.pg("1 connect", team_id="T_ACME", user_id="U_ANA").text
    assert "Logged 1 connect" in reply(bot.pg("1 connect", team_id="T_GLOBEX", user_id="U_GUS"))


def test_revoking_only_user_tokens_keeps_the_bot(bot: MultiBot) -> None:
    bot.install(team_id="T_ACME")
    bot.event({"type": "tokens_revoked", "tokens": {"oauth": ["U_INSTALLER"]}}, team_id="T_ACME")
    assert token_rows(bot, "T_ACME") == 2
    assert "Logged 1 connect" in reply(bot.pg("1 connect", team_id="T_ACME", user_id="U_ANA"))


def test_reinstalling_within_the_30_days_cancels_the_purge(bot: MultiBot) -> None:
    bot.install(team_id="T_ACME")
    bot.event({"type": "app_uninstalled"}, team_id="T_ACME")
    bot.clock.advance(timedelta(days=3))
    bot.install(team_id="T_ACME")
    with bot.session_factory.begin() as session:
        row = session.get(WorkspaceInstall, "T_ACME")
        assert row is not None and (row.state, row.purge_after, row.removed_at) == ("active", None, None)


def test_uninstall_stops_the_workspaces_scheduled_posts(bot: MultiBot) -> None:
    bot.install(team_id="T_ACME")
    bot.install(team_id="T_GLOBEX")
    with bot.session_factory.begin() as session:
        for team_id, channel in (("T_ACME", "C_ACME"), ("T_GLOBEX", "C_GLOBEX")):
            region = add_region(session, team_id, "AMER", "America/New_York", channel, actor="test")
            region.created_at = datetime(2026, 1, 1, tzinfo=UTC)  # so this Friday's summary is due
    acme_tokens = set(bot.slack.tokens_of("T_ACME"))
    bot.slack.uninstall("T_ACME")
    bot.event({"type": "app_uninstalled"}, team_id="T_ACME")
    uninstalled_at = len(bot.slack.calls())

    bot.clock.set(datetime(2026, 11, 27, 21, 1, tzinfo=UTC))  # Friday 16:01 in New York
    clock = Clock(make_scheduler(blocking=False), clock_runtime(bot.settings, bot.session_factory), clock=bot.clock)
    report = clock.reconcile()
    assert clock.lanes is not None and clock.lanes.wait_idle(10)
    assert not any(job.startswith("pipeday:T_ACME:") for job in report.added)
    channels = {message.channel for message in bot.slack.posted_messages()}
    assert "C_GLOBEX" in channels and "C_ACME" not in channels
    later = bot.slack.calls()[uninstalled_at:]
    assert not [c for c in later if c.headers.get("Authorization", "").removeprefix("Bearer ") in acme_tokens]
