"""End-to-end fixtures: the real WSGI app on loopback, talking to a stub Slack Web API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.devtools.background_work import BackgroundWork
from bot.devtools.live_app import serving_app
from bot.domain.directory import add_region, join_region, set_role
from bot.domain.wheel import SeedSource, new_seed
from bot.settings import Settings
from tests.support.clock import FakeClock
from tests.support.slack_requests import HttpResult, SlackRequestFactory
from tests.support.slack_stub import SlackStub, validate_message_payload

SIGNING_SECRET = "test-signing-secret"
SECRET_KEY = "c2VjcmV0LWtleS1mb3ItcGlwZWRheS10ZXN0cy0wMDE="  # a Fernet key (32 bytes, url-safe base64)
TEAM_ID = "T0001"
# A Tuesday morning in New York, so "today" and "this week" are unambiguous.
DEFAULT_NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


@dataclass
class LiveBot:
    base_url: str
    slack: SlackStub
    requests: SlackRequestFactory
    session_factory: sessionmaker[Session]
    clock: FakeClock
    settings: Settings
    background: BackgroundWork

    def settle(self) -> None:
        """Wait until the app has finished everything it started: its listeners and what they
        handed to the after-ack pool. After this, "nothing else happened" is a fact, not a guess."""
        self.background.wait_idle()

    def pg(self, text: str, user_id: str = "U_REP1", **kwargs: Any) -> HttpResult:
        """Send `/pg <text>` as Slack would and return the HTTP answer."""
        result = self.requests.slash_command(text, user_id=user_id, **kwargs).send(self.base_url)
        assert result.status_code == 200, result.text
        return result

    def pg_reply(self, text: str, user_id: str = "U_REP1", **kwargs: Any) -> dict[str, Any]:
        """The ephemeral reply in the HTTP body, validated against Slack's Block Kit rules."""
        body = self.pg(text, user_id=user_id, **kwargs).json()
        problems = validate_message_payload(body)
        assert problems == [], problems
        return dict(body)


@pytest.fixture
def slack() -> Iterator[SlackStub]:
    with SlackStub(team_id=TEAM_ID) as stub:
        yield stub
    assert stub.errors == [], f"the bot sent Slack something it would reject: {stub.errors}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(DEFAULT_NOW)


@pytest.fixture
def seed_source() -> SeedSource:
    """Where the app draws wheel seeds; a test injects its own with
    `@pytest.mark.parametrize("seed_source", [...])`."""
    return new_seed


@pytest.fixture
def public_url() -> str | None:
    """PIPEDAY_PUBLIC_URL for the app; a test module that needs one (vendors that sign the full
    URI) overrides this fixture."""
    return None


@pytest.fixture
def live_bot(
    engine: Engine,
    session_factory: sessionmaker[Session],
    slack: SlackStub,
    clock: FakeClock,
    seed_source: SeedSource,
    public_url: str | None,
) -> Iterator[LiveBot]:
    settings = Settings(
        bot_token="xoxb-test-token",
        signing_secret=SIGNING_SECRET,
        slack_api_url=slack.base_url,
        database_url=str(engine.url),
        admins=frozenset({"U_ADMIN"}),
        secret_key=SECRET_KEY,
        public_url=public_url,
    )
    with serving_app(settings, engine, session_factory, clock, seed_source=seed_source) as (base_url, background):
        factory = SlackRequestFactory(SIGNING_SECRET, response_url_for=slack.response_url, team_id=TEAM_ID)
        yield LiveBot(base_url, slack, factory, session_factory, clock, settings, background)


@pytest.fixture
def team(live_bot: LiveBot) -> LiveBot:
    """AMER (Ana, Ben and Mgr, a manager) and EMEA (Eve), for the trust and flag tests."""
    with live_bot.session_factory.begin() as session:
        add_region(session, TEAM_ID, "AMER", "America/New_York", "C_AMER", actor="test")
        add_region(session, TEAM_ID, "EMEA", "Europe/London", "C_EMEA", actor="test")
        for user_id, region in (("U_ANA", "AMER"), ("U_BEN", "AMER"), ("U_MGR", "AMER"), ("U_EVE", "EMEA")):
            join_region(session, TEAM_ID, user_id, user_id.removeprefix("U_").lower(), region)
        set_role(session, TEAM_ID, "test", "U_MGR", "manager")
    return live_bot
