"""Multi-workspace test helpers: a browser going through "Add to Slack" against the real WSGI
app (with Slack's side played by the stub), and signed requests from a workspace of an
Enterprise Grid org."""

from __future__ import annotations

import html
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.devtools.background_work import BackgroundWork
from bot.devtools.live_app import serving_app
from bot.devtools.slack_requests import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    HttpResult,
    SignedRequest,
    SlackRequestFactory,
)
from bot.installs.setup import MultiWorkspace, multi_workspace
from bot.settings import Settings
from tests.support.clock import FakeClock
from tests.support.slack_stub import SlackStub

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "test-client-secret"
SIGNING_SECRET = "test-signing-secret"
SECRET_KEY = "c2VjcmV0LWtleS1mb3ItcGlwZWRheS10ZXN0cy0wMDE="  # a Fernet key (32 bytes, url-safe base64)
STATE_COOKIE = "slack-app-oauth-state"


def http_get(url: str, headers: dict[str, str] | None = None) -> HttpResult:
    request = urllib.request.Request(url, headers=headers or {}, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return HttpResult(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        with error:
            return HttpResult(error.code, dict(error.headers.items()), error.read())


class Browser:
    """What an installer's browser does: open the install page, follow Slack's redirect back."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def open_install_page(self) -> tuple[str, str]:
        """The state in the "Add to Slack" link, and the cookie that carries it."""
        page = http_get(f"{self.base_url}/slack/install")
        assert page.status_code == 200, page.text
        headers = {name.lower(): value for name, value in page.headers.items()}
        cookie = headers["set-cookie"].split(";")[0]
        assert cookie.startswith(f"{STATE_COOKIE}="), cookie
        link = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', page.text)
        assert link is not None, page.text
        query = parse_qs(urlsplit(html.unescape(link.group(1))).query)
        assert query["client_id"] == [CLIENT_ID]
        return query["state"][0], cookie

    def come_back(self, code: str, state: str, cookie: str | None) -> HttpResult:
        headers = {"Cookie": cookie} if cookie else {}
        query = urlencode({"code": code, "state": state})
        return http_get(f"{self.base_url}/slack/oauth_redirect?{query}", headers)

    def install(self, slack: SlackStub, **grant: Any) -> HttpResult:
        state, cookie = self.open_install_page()
        answer = self.come_back(slack.grant(**grant), state, cookie)
        assert answer.status_code == 200, answer.text
        return answer


def grid_slash_command(
    factory: SlackRequestFactory, text: str, *, team_id: str, enterprise_id: str, org_wide: bool, user_id: str
) -> SignedRequest:
    """`/pg` from a workspace of an Enterprise Grid org, as Slack sends it."""
    plain = factory.slash_command(text, team_id=team_id, user_id=user_id)
    fields = {
        **plain.form(),
        "enterprise_id": enterprise_id,
        "enterprise_name": f"Org {enterprise_id}",
        "is_enterprise_install": "true" if org_wide else "false",
    }
    return factory.sign(urlencode(fields).encode("utf-8"), FORM_CONTENT_TYPE, response_url=plain.response_url)


def event_request(
    factory: SlackRequestFactory,
    event: dict[str, Any],
    *,
    team_id: str | None,
    enterprise_id: str | None = None,
    org_wide: bool = False,
    event_id: str | None = None,
) -> SignedRequest:
    """An Events API delivery to a workspace install or (`org_wide`) an org-wide one."""
    envelope = {
        "token": factory.verification_token,
        "team_id": team_id,
        "enterprise_id": enterprise_id,
        "api_app_id": factory.api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{factory.new_trigger_id()[:12]}",
        "event_time": int(factory.now()),
        "authorizations": [
            {
                "enterprise_id": enterprise_id,
                "team_id": None if org_wide else team_id,
                "user_id": "U_BOT",
                "is_bot": True,
                "is_enterprise_install": org_wide,
            }
        ],
        "is_ext_shared_channel": False,
    }
    return factory.sign(json.dumps(envelope).encode("utf-8"), JSON_CONTENT_TYPE)


# --- the app in multi-workspace mode, on loopback --------------------------------------------


@dataclass
class MultiBot:
    """Pipeday with SLACK_CLIENT_ID: the real WSGI app over HTTP, Slack played by the stub."""

    base_url: str
    slack: SlackStub
    requests: SlackRequestFactory
    session_factory: sessionmaker[Session]
    clock: FakeClock
    settings: Settings
    background: BackgroundWork
    multi: MultiWorkspace

    @property
    def browser(self) -> Browser:
        return Browser(self.base_url)

    def settle(self) -> None:
        self.background.wait_idle()

    def install(self, **grant: Any) -> HttpResult:
        answer = self.browser.install(self.slack, **grant)
        self.settle()
        return answer

    def pg(
        self,
        text: str,
        *,
        team_id: str,
        user_id: str = "U_REP1",
        enterprise_id: str | None = None,
        org_wide: bool = False,
    ) -> HttpResult:
        if enterprise_id is None:
            request = self.requests.slash_command(text, team_id=team_id, user_id=user_id)
        else:
            request = grid_slash_command(
                self.requests, text, team_id=team_id, enterprise_id=enterprise_id, org_wide=org_wide, user_id=user_id
            )
        answer = request.send(self.base_url)
        self.settle()
        return answer

    def event(self, event: dict[str, Any], **where: Any) -> HttpResult:
        answer = event_request(self.requests, event, **where).send(self.base_url)
        self.settle()
        return answer


def multi_settings(slack: SlackStub, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "signing_secret": SIGNING_SECRET,
        "slack_api_url": slack.base_url,
        "database_url": database_url,
        "secret_key": SECRET_KEY,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "admins": frozenset({"U_ADMIN"}),
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def running_multi_bot(
    engine: Engine, session_factory: sessionmaker[Session], slack: SlackStub, clock: FakeClock
) -> Iterator[MultiBot]:
    slack.oauth_app(CLIENT_ID, CLIENT_SECRET)
    settings = multi_settings(slack, str(engine.url))
    multi = multi_workspace(settings, engine, session_factory, clock)
    assert multi is not None
    with serving_app(settings, engine, session_factory, clock, multi=multi) as (base_url, background):
        factory = SlackRequestFactory(SIGNING_SECRET, response_url_for=slack.response_url)
        yield MultiBot(base_url, slack, factory, session_factory, clock, settings, background, multi)


def install_with_flow(multi: MultiWorkspace, slack: SlackStub, **grant: Any) -> Installation:
    """An install without a browser: Slack's side (a code from the stub) and ours (Bolt's flow
    exchanging it with oauth.v2.access, saving it and recording the workspace)."""
    flow = multi.installs.flow
    installation = flow.run_installation(slack.grant(**grant))
    assert installation is not None, "oauth.v2.access refused the code"
    flow.store_installation(None, installation)  # type: ignore[arg-type] # the request isn't read
    return installation


def multi_env(slack: SlackStub, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a `pipeday` command in multi-workspace mode."""
    return {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "",
        "SLACK_APP_TOKEN": "",
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "PIPEDAY_SECRET_KEY": SECRET_KEY,
        "SLACK_API_URL": slack.base_url,
        **extra,
    }
