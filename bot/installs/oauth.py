"""Bolt's OAuth flow for many workspaces: `GET /slack/install` (the "Add to Slack" page) and
`GET /slack/oauth_redirect`, the authorize step every request goes through, and the events
that end or extend an install (app_uninstalled, tokens_revoked, team_access_granted,
team_access_revoked).

The flow is Bolt's own (state issued to the browser as a cookie and stored once in
`slack_oauth_states`, checked and consumed on the way back, so a forged or replayed state is
refused; the code exchanged with `oauth.v2.access`), with two additions: the install is
recorded in `workspace_installs` as it is saved, and the install page is Pipeday's. Its
Web API client follows SLACK_API_URL, so tests run the whole flow against the stub.
"""

from __future__ import annotations

import html
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.diagnostics import REQUIRED_SCOPES
from bot.domain.secret_box import SecretBox
from bot.installs.lifecycle import (
    ACCESS_REVOKED,
    ACTIVE,
    REVOKED,
    UNINSTALLED,
    mark_removed,
    note_org_member,
    org_team_ids,
    record_install,
    teams_of_install,
)
from bot.installs.rotation import WEB_REFRESH_MINUTES, OAuthApp
from bot.installs.store import SealedInstallationStore, make_state_store
from bot.settings import Settings
from bot.slack.clients import configure_web_client

logger = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# The bot scopes the install asks for: manifest.yml's (tests/cli/test_manifest_installs.py checks).
BOT_SCOPES = tuple(REQUIRED_SCOPES)
# auth.test answers remembered per token (a few KB each); a rotated token is a new entry.
AUTH_CACHE_SIZE = 4096

Clock = Callable[[], datetime]
RecordInstall = Callable[[Installation], None]


@dataclass(frozen=True)
class Installs:
    """Everything multi-workspace mode adds to the Bolt app."""

    store: SealedInstallationStore
    state_store: SQLAlchemyOAuthStateStore
    flow: OAuthFlow
    authorize: InstallationStoreAuthorize
    oauth_app: OAuthApp


def make_oauth_client(settings: Settings) -> WebClient:
    """A token-less client for oauth.v2.access and auth.test (SLACK_API_URL applies)."""
    return configure_web_client(WebClient(), settings)


def make_store(settings: Settings, engine: Engine) -> SealedInstallationStore:
    assert settings.client_id is not None, "multi-workspace mode needs SLACK_CLIENT_ID"
    return SealedInstallationStore(settings.client_id, engine, SecretBox(settings.secret_key))


def build_installs(
    settings: Settings, engine: Engine, session_factory: sessionmaker[Session], clock: Clock
) -> Installs:
    settings.require_slack()
    assert settings.client_id is not None and settings.client_secret is not None
    store = make_store(settings, engine)
    state_store = make_state_store(engine)
    oauth_client = make_oauth_client(settings)
    redirect_uri = f"{settings.public_url}{REDIRECT_PATH}" if settings.public_url else None
    oauth_settings = OAuthSettings(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        redirect_uri=redirect_uri,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        installation_store=store,
        state_store=state_store,
        state_expiration_seconds=state_store.expiration_seconds,
        token_rotation_expiration_minutes=WEB_REFRESH_MINUTES,
        installation_store_bot_only=True,
        logger=logger,
    )
    # Bot tokens only (Pipeday asks for no user scopes): one `find_bot` per request, never a
    # second lookup for the installing user's token. Every reader of tokens reads slack_bots.
    authorize = CachingAuthorize(
        logger=logger,
        installation_store=store,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        token_rotation_expiration_minutes=WEB_REFRESH_MINUTES,
        bot_only=True,
        cache_enabled=True,
        client=oauth_client,
    )
    oauth_settings.authorize = authorize
    flow = PipedayOAuthFlow(
        client=oauth_client,
        logger=logger,
        settings=oauth_settings,
        record=lambda installation: record_installation(session_factory, installation, clock()),
    )
    oauth_app = OAuthApp(settings.client_id, settings.client_secret, oauth_client)
    return Installs(store, state_store, flow, authorize, oauth_app)


class PipedayOAuthFlow(OAuthFlow):
    """Bolt's flow; saving an install also records the workspace it serves (`record`), and
    the install page is Pipeday's own (no image from a CDN)."""

    def __init__(
        self, *, client: WebClient, logger: logging.Logger, settings: OAuthSettings, record: RecordInstall
    ) -> None:
        super().__init__(client=client, logger=logger, settings=settings)
        self._record = record

    def store_installation(self, request: BoltRequest, installation: Installation) -> None:
        super().store_installation(request, installation)
        self._record(installation)

    def build_install_page_html(self, url: str, request: BoltRequest) -> str:
        return install_page(url)


def record_installation(session_factory: sessionmaker[Session], installation: Installation, now: datetime) -> None:
    """A workspace install serves its workspace; an org-wide install serves the workspaces its
    admin grants it (team_access_granted), and again those it served before an uninstall."""
    with session_factory.begin() as session:
        if installation.is_enterprise_install:
            enterprise_id = installation.enterprise_id
            assert enterprise_id is not None, "an org-wide install names its org"
            for member in org_team_ids(session, enterprise_id, states=(ACTIVE, UNINSTALLED, REVOKED)):
                record_install(session, member, now, enterprise_id=enterprise_id, org_install=True)
            logger.info("installed org-wide in %s (%s)", enterprise_id, installation.enterprise_name)
            return
        team_id = installation.team_id
        assert team_id is not None, "a workspace install names its workspace"
        record_install(
            session, team_id, now, enterprise_id=installation.enterprise_id, team_name=installation.team_name
        )
    logger.info("installed in %s (%s)", installation.team_id, installation.team_name)


class BoundedCache(OrderedDict[str, AuthorizeResult]):
    """Bolt's authorize keeps an auth.test answer per token in a plain dict; a rotated token
    is a new key every 12 hours, so a long-running worker keeps the newest few thousand."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self._size = size
        self._lock = threading.Lock()

    def __setitem__(self, key: str, value: AuthorizeResult) -> None:
        with self._lock:
            super().__setitem__(key, value)
            while len(self) > self._size:
                self.popitem(last=False)


class CachingAuthorize(InstallationStoreAuthorize):
    """Bolt's authorize, reading the store on every request (an uninstall is seen at once)
    but calling auth.test once per token, not once per request."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.authorize_result_cache = BoundedCache(AUTH_CACHE_SIZE)


def install_page(url: str) -> str:
    link = html.escape(url, quote=True)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Add Pipeday to Slack</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; text-align: center; padding: 3em 1em;
  color: #1d3557; }}
a.add {{ display: inline-block; padding: .8em 1.6em; border-radius: 6px; background: #4a154b; color: #fff;
  font-weight: 600; text-decoration: none; }}
p {{ max-width: 34em; margin: 1em auto; }}
</style>
</head>
<body>
<h1>Pipeday</h1>
<p>Prospecting days, live leaderboards and a prize wheel for your sales team.</p>
<p><a class="add" href="{link}">Add to Slack</a></p>
<p>On Enterprise Grid, an org admin can install it for the whole org, then add it to each workspace.</p>
</body>
</html>
"""


# --- events that end or extend an install ---------------------------------------------------


def register_install_events(app: App, installs: Installs, session_factory: sessionmaker[Session], clock: Clock) -> None:
    store = installs.store
    known_org_members: set[str] = set()

    @app.event("app_uninstalled")
    def on_app_uninstalled(context: BoltContext) -> None:
        _remove(store, session_factory, context, UNINSTALLED, clock())

    @app.event("tokens_revoked")
    def on_tokens_revoked(event: dict[str, Any], context: BoltContext) -> None:
        tokens = event.get("tokens") or {}
        users = [str(user) for user in tokens.get("oauth") or []]
        if users:
            store.forget_user_tokens(enterprise_id=context.enterprise_id, team_id=context.team_id, user_ids=users)
        if tokens.get("bot"):
            _remove(store, session_factory, context, REVOKED, clock())

    @app.event("team_access_granted")
    def on_team_access_granted(event: dict[str, Any], context: BoltContext) -> None:
        enterprise_id = context.enterprise_id
        if not enterprise_id:
            logger.warning("team_access_granted without an org id; ignored")
            return
        now = clock()
        with session_factory.begin() as session:
            for team_id in event.get("team_ids") or []:
                record_install(session, str(team_id), now, enterprise_id=enterprise_id, org_install=True)
        logger.info("org %s granted Pipeday to %s", enterprise_id, ", ".join(map(str, event.get("team_ids") or [])))

    @app.event("team_access_revoked")
    def on_team_access_revoked(event: dict[str, Any], context: BoltContext) -> None:
        team_ids = [str(team_id) for team_id in event.get("team_ids") or []]
        with session_factory.begin() as session:
            removed = mark_removed(session, team_ids, ACCESS_REVOKED, clock())
        logger.info(
            "org %s took Pipeday away from %s", context.enterprise_id, ", ".join(removed) or "no served workspace"
        )

    @app.middleware
    def serve_org_members(context: BoltContext, next: Callable[[], Any]) -> Any:
        """A request from a workspace of an org-wide install that nothing recorded yet (its
        team_access_granted came before this deployment, or not yet): serve it from now on."""
        team_id, enterprise_id = context.team_id, context.enterprise_id
        if context.is_enterprise_install and team_id and enterprise_id and team_id not in known_org_members:
            with session_factory.begin() as session:
                if note_org_member(session, team_id, enterprise_id, clock()):
                    logger.info("serving %s through the org-wide install of %s", team_id, enterprise_id)
            known_org_members.add(team_id)
        return next()


def _remove(
    store: SealedInstallationStore,
    session_factory: sessionmaker[Session],
    context: BoltContext,
    state: str,
    now: datetime,
) -> None:
    """Delete the install's tokens at once and stop serving its workspaces (data purged later)."""
    enterprise_id, team_id = context.enterprise_id, context.team_id
    org_wide = bool(context.is_enterprise_install)
    store.delete_all(enterprise_id=enterprise_id, team_id=None if org_wide else team_id)
    with session_factory.begin() as session:
        teams = teams_of_install(session, enterprise_id, team_id, org_wide)
        removed = mark_removed(session, teams, state, now)
    where = f"org {enterprise_id}" if org_wide else f"workspace {team_id}"
    logger.warning(
        "%s: %s; its tokens are deleted, its posts stopped, its data purged in 30 days (%s)",
        where,
        state,
        ", ".join(removed) or "nothing was being served",
    )
