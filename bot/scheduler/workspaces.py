"""The clock's Slack side: one paced client for SLACK_BOT_TOKEN's workspace, or, with
SLACK_CLIENT_ID, each served workspace's own token and pacer plus the chores of many installs
that its tick keeps up: refreshing rotating tokens before they expire, purging workspaces
removed 30 days ago, and forgetting "Add to Slack" states nobody came back with."""

from __future__ import annotations

import logging
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.installs.clients import InstalledWorkspaceClients
from bot.installs.lifecycle import due_purges
from bot.installs.oauth import make_oauth_client, make_store
from bot.installs.purge import purge_workspace
from bot.installs.rotation import OAuthApp, refresh_expiring_tokens
from bot.installs.setup import engine_of
from bot.installs.store import SealedInstallationStore, forget_expired_states, make_state_store
from bot.scheduler.jobs import JobRuntime
from bot.scheduler.pacing import ChannelPacer, make_paced_client
from bot.settings import ConfigurationError, Settings
from bot.slack.clients import configure_web_client

logger = logging.getLogger(__name__)


def clock_runtime(settings: Settings, session_factory: sessionmaker[Session]) -> JobRuntime:
    """What `pipeday clock` and `pipeday jobs run` post with."""
    if not settings.multi_workspace:
        if not settings.bot_token:
            raise ConfigurationError("SLACK_BOT_TOKEN is not set: the clock needs it to post to Slack.")
        return JobRuntime(
            session_factory=session_factory,
            client=make_paced_client(settings, ChannelPacer()),
            secret_key=settings.secret_key,
        )
    settings.require_slack()
    assert settings.client_id is not None and settings.client_secret is not None
    engine = engine_of(session_factory)
    store = make_store(settings, engine)
    state_store = make_state_store(engine)
    oauth_app = OAuthApp(settings.client_id, settings.client_secret, make_oauth_client(settings))
    runtime = JobRuntime(
        session_factory=session_factory,
        # Token-less: every workspace's work asks runtime.client_for(team) for its own.
        client=configure_web_client(WebClient(), settings),
        secret_key=settings.secret_key,
        clients=InstalledWorkspaceClients(settings, session_factory, store, paced=True),
    )

    def refresh_tokens(now: datetime) -> None:
        refresh_expiring_tokens(store, session_factory, oauth_app, now)

    def purge_removed_workspaces(now: datetime) -> None:
        purge_due(store, session_factory, now)

    def forget_abandoned_installs(now: datetime) -> None:
        forget_expired_states(state_store, now)

    runtime.upkeep = [refresh_tokens, purge_removed_workspaces, forget_abandoned_installs]
    return runtime


def purge_due(store: SealedInstallationStore, session_factory: sessionmaker[Session], now: datetime) -> list[str]:
    """Purge every workspace removed RETENTION ago, each in its own transaction."""
    with session_factory.begin() as session:
        due = due_purges(session, now)
    for team_id in due:
        with session_factory.begin() as session:
            deleted = purge_workspace(session, team_id, now)
        logger.warning(
            "purged workspace %s, removed 30 days ago: %s",
            team_id,
            ", ".join(f"{count} {table}" for table, count in sorted(deleted.items())) or "it had no data",
        )
    return due
