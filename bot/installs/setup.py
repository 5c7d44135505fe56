"""What multi-workspace mode (SLACK_CLIENT_ID) adds to the web app: Bolt's OAuth flow and its
stores (bot/installs/oauth.py), and a client for any served workspace (bot/installs/clients.py).
Built once per process and shared by the Bolt app and the Flask routes around it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.api import slack_email_resolver
from bot.domain.ingestion import EmailLookupFailed, EmailResolver
from bot.installs.clients import InstalledWorkspaceClients, WorkspaceClients, WorkspaceNotServed
from bot.installs.oauth import Installs, build_installs
from bot.settings import Settings


@dataclass(frozen=True)
class MultiWorkspace:
    installs: Installs
    clients: InstalledWorkspaceClients


def multi_workspace(
    settings: Settings, engine: Engine, session_factory: sessionmaker[Session], clock: Callable[[], datetime]
) -> MultiWorkspace | None:
    """None with one workspace's SLACK_BOT_TOKEN."""
    if not settings.multi_workspace:
        return None
    installs = build_installs(settings, engine, session_factory, clock)
    return MultiWorkspace(installs, InstalledWorkspaceClients(settings, session_factory, installs.store))


def engine_of(session_factory: sessionmaker[Session]) -> Engine:
    bind = session_factory.kw.get("bind")
    if not isinstance(bind, Engine):
        raise TypeError("the session factory isn't bound to an engine")
    return bind


def email_resolver_for(clients: WorkspaceClients, team_id: str) -> EmailResolver:
    """users.lookupByEmail in `team_id`, with its own token. A workspace Pipeday doesn't serve
    can't be asked: the lookup fails (the item waits), it never answers "nobody"."""

    def resolve(email: str) -> str | None:
        try:
            client = clients.for_team(team_id)
        except WorkspaceNotServed as not_served:
            raise EmailLookupFailed(f"Slack can't be asked: {not_served.reason}") from None
        return slack_email_resolver(client)(email)

    return resolve
