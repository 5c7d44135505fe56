"""Vendor webhooks with many workspaces (SLACK_CLIENT_ID), over real HTTP: an Aircall delivery's
email is matched with users.lookupByEmail in its source's workspace, asked with that workspace's
own token, by the web app's run right after the answer and by the clock's retry alike."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.devtools.slack_requests import HttpResult, SignedRequest
from bot.domain.secret_box import SecretBox
from bot.domain.webhook_sources import NewSource, add_source
from bot.scheduler.delivery_retries import retry_due_deliveries
from bot.scheduler.workspaces import clock_runtime
from models import Activity, Member
from tests.e2e.webhook_runs import delivery_states, wait_for_runs
from tests.support.clock import FakeClock
from tests.support.installs import SECRET_KEY, MultiBot, running_multi_bot
from tests.support.slack_stub import SlackStub

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "hooks" / "aircall" / "call_ended.json"
TOKEN = "cebcaac65XXXXXXXXXx"  # the documented sample's token, pasted with --secret
EMAIL = "madelaine.dupont@aircall.io"


@pytest.fixture
def bot(
    engine: Engine, session_factory: sessionmaker[Session], slack: SlackStub, clock: FakeClock
) -> Iterator[MultiBot]:
    with running_multi_bot(engine, session_factory, slack, clock) as running:
        yield running


def aircall_source(bot: MultiBot, team_id: str) -> NewSource:
    with bot.session_factory.begin() as session:
        return add_source(session, team_id, "aircall", "aircall", SecretBox(SECRET_KEY), secret=TOKEN)


def deliver(bot: MultiBot, source_id: str, **call: Any) -> HttpResult:
    body: dict[str, Any] = json.loads(FIXTURE.read_text())
    body["data"].update(call)
    raw = json.dumps(body).encode()
    return SignedRequest(raw, {"Content-Type": "application/json"}).send(bot.base_url, f"/hooks/aircall/{source_id}")


def stored(bot: MultiBot) -> list[tuple[str, str, str]]:
    with bot.session_factory() as session:
        rows = session.execute(
            select(Activity.team_id, Activity.type, Member.user_id)
            .join(Member, Member.id == Activity.member_id)
            .order_by(Activity.idempotency_key)
        )
        return [(row.team_id, row.type, row.user_id) for row in rows]


def lookup_tokens(bot: MultiBot) -> list[str | None]:
    return [call.headers.get("Authorization") for call in bot.slack.calls("users.lookupByEmail")]


def test_an_aircall_delivery_is_matched_with_its_sources_workspaces_own_token(bot: MultiBot) -> None:
    bot.install(team_id="T_ACME")
    bot.install(team_id="T_GLOBEX")
    bot.slack.users["U_MADE"] = {"profile": {"email": EMAIL}}
    source = aircall_source(bot, "T_GLOBEX")

    answer = deliver(bot, source.id)
    assert answer.status_code == 200 and answer.json() == {"status": "received"}, answer.text
    wait_for_runs(bot.session_factory)

    assert delivery_states(bot.session_factory) == ["done"]
    assert stored(bot) == [("T_GLOBEX", "call", "U_MADE"), ("T_GLOBEX", "connect", "U_MADE")]
    [globex_token] = bot.slack.tokens_of("T_GLOBEX")
    assert lookup_tokens(bot) == [f"Bearer {globex_token}"]


def test_the_clocks_retry_asks_with_the_sources_workspaces_own_token(bot: MultiBot) -> None:
    bot.install(team_id="T_ACME")
    bot.slack.users["U_MADE"] = {"profile": {"email": EMAIL}}
    source = aircall_source(bot, "T_ACME")
    bot.slack.fail("users.lookupByEmail", error="fatal_error", status=500, retry_after=None)

    assert deliver(bot, source.id).status_code == 200
    wait_for_runs(bot.session_factory)
    assert stored(bot) == []  # Slack failed: the item waits for the retry
    bot.clock.advance(timedelta(minutes=30))

    states = retry_due_deliveries(replace(clock_runtime(bot.settings, bot.session_factory), clock=bot.clock))

    assert states == ["done"]
    assert stored(bot) == [("T_ACME", "call", "U_MADE"), ("T_ACME", "connect", "U_MADE")]
    [acme_token] = bot.slack.tokens_of("T_ACME")
    assert set(lookup_tokens(bot)) == {f"Bearer {acme_token}"} and len(lookup_tokens(bot)) == 2
