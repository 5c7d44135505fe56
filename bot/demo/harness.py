"""The running system the demo drives: a throwaway database, a fake Slack and the real app.

`DemoSystem` starts, on 127.0.0.1 only:
  * a SQLite database in a temporary directory, migrated with `models.db.upgrade`;
  * `SlackStub`, which answers the Web API calls the bot makes and records them;
  * the production WSGI app (`create_web_app(create_app(...))`) served by werkzeug
    (`bot.devtools.wsgi_server`), so every `/pg` command is a signed HTTP request through
    the same handler Slack would hit.
The app's clock is a `FakeClock` (bot.devtools.clock) the demo moves forward; request
signatures use the real time, because Bolt refuses requests signed more than five minutes ago.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.app import make_web_client
from bot.demo.feed import PostedButton
from bot.demo.world import Person
from bot.devtools.background_work import BackgroundWork
from bot.devtools.clock import FakeClock
from bot.devtools.live_app import serving_app
from bot.devtools.slack_requests import HttpResult, SlackRequestFactory
from bot.devtools.slack_stub import SlackStub
from bot.domain.wheel import SeedSource, new_seed
from bot.settings import Settings
from models.db import make_engine, make_session_factory, upgrade


@dataclass
class DemoSystem:
    session_factory: sessionmaker[Session]
    slack: SlackStub
    clock: FakeClock
    background: BackgroundWork
    base_url: str
    requests: SlackRequestFactory
    client: WebClient  # what scheduled jobs use, like the clock process
    seed_source: SeedSource  # the wheel seeds of days closed by /pg close and by scheduled jobs

    def command(self, user_id: str, user_name: str, text: str, channel_id: str, channel_name: str) -> HttpResult:
        """Type `/pg <text>` as Slack would deliver it; wait until the app is done with it."""
        signed = self.requests.slash_command(
            text, user_id=user_id, user_name=user_name, channel_id=channel_id, channel_name=channel_name
        )
        return self._send(signed.send(self.base_url))

    def click(
        self,
        action_id: str,
        value: str,
        *,
        user_id: str,
        user_name: str,
        channel_id: str,
        channel_name: str,
        message: dict[str, Any],
        block_id: str,
    ) -> HttpResult:
        """Press a button in a channel message, as a block_actions request."""
        signed = self.requests.block_action(
            action_id,
            value,
            user_id=user_id,
            user_name=user_name,
            channel_id=channel_id,
            channel_name=channel_name,
            message_ts=str(message["ts"]),
            message=message,
            block_id=block_id,
        )
        return self._send(signed.send(self.base_url))

    def open_home(self, user_id: str) -> dict[str, Any] | None:
        """Open the App Home tab (an `app_home_opened` event); the view the bot published."""
        event = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": f"D{user_id}",
            "tab": "home",
            "event_ts": f"{self.requests.now():.6f}",
        }
        self._send(self.requests.event_callback(event).send(self.base_url))
        return self.slack.home_view(user_id)

    def press(self, button: PostedButton, person: Person, channel_name: str) -> HttpResult:
        """`person` presses a button the bot posted in the channel `channel_name`."""
        return self.click(
            button.action_id,
            button.value,
            user_id=person.user_id,
            user_name=person.name,
            channel_id=button.channel_id,
            channel_name=channel_name,
            message=button.message,
            block_id=button.block_id,
        )

    def click_in_view(
        self, action_id: str, value: str, *, user_id: str, user_name: str, view: dict[str, Any], block_id: str
    ) -> HttpResult:
        """Press a button in a view: the App Home tab or an open modal (with what was typed in
        it as the view's `state`)."""
        signed = self.requests.block_action(
            action_id, value, user_id=user_id, user_name=user_name, view=view, block_id=block_id
        )
        return self._send(signed.send(self.base_url))

    def _send(self, result: HttpResult) -> HttpResult:
        if result.status_code != 200:
            raise RuntimeError(f"the app answered HTTP {result.status_code}: {result.text[:200]}")
        self.background.wait_idle()
        return result


@contextmanager
def running_system(
    start: datetime,
    *,
    team_id: str,
    team_name: str,
    team_domain: str,
    admins: frozenset[str],
    seed_source: SeedSource = new_seed,
) -> Iterator[DemoSystem]:
    """Start everything; stop it and delete the database on exit."""
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pipeday-demo-")))
        engine = make_engine(f"sqlite:///{workdir / 'demo.db'}")
        stack.callback(engine.dispose)
        upgrade(engine)
        slack = stack.enter_context(SlackStub(team_id=team_id, team_name=team_name, team_domain=team_domain))
        signing_secret = secrets.token_hex(16)
        settings = Settings(
            bot_token="xoxb-pipeday-demo",
            signing_secret=signing_secret,
            slack_api_url=slack.base_url,
            database_url=str(engine.url),
            admins=admins,
        )
        clock = FakeClock(start)
        session_factory = make_session_factory(engine)
        base_url, background = stack.enter_context(
            serving_app(settings, engine, session_factory, clock, seed_source=seed_source)
        )
        requests = SlackRequestFactory(
            signing_secret, response_url_for=slack.response_url, team_id=team_id, team_domain=team_domain
        )
        yield DemoSystem(
            session_factory, slack, clock, background, base_url, requests, make_web_client(settings), seed_source
        )
