"""A Web API client for the workspace a piece of work belongs to.

With SLACK_BOT_TOKEN there is one workspace and one client (`OneWorkspaceClient`). With
SLACK_CLIENT_ID every workspace has its own bot token, or its Enterprise Grid org's
(`InstalledWorkspaceClients`): the clock, the ingestion API and live-standings edits ask for
the client of the item's team. A workspace that isn't served (never installed, uninstalled,
revoked) raises WorkspaceNotServed, which callers treat as "skip it", never as a failure to
retry. Paced clients (the clock's) get a ChannelPacer per workspace: Slack's limits are per
workspace, so one workspace's queue of posts never delays another's.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Protocol

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.installs.lifecycle import ACTIVE, find_install, served_team_ids
from bot.installs.store import SealedInstallationStore
from bot.scheduler.pacing import ChannelPacer, paced_client
from bot.settings import Settings
from bot.slack.clients import configure_web_client

logger = logging.getLogger(__name__)


class WorkspaceNotServed(Exception):
    """Pipeday has no token for this workspace (any more): its work is skipped."""

    def __init__(self, team_id: str, reason: str) -> None:
        super().__init__(f"workspace {team_id} is not served: {reason}")
        self.team_id = team_id
        self.reason = reason


class WorkspaceClients(Protocol):
    """Where work for a workspace gets its Slack client."""

    @property
    def multi_workspace(self) -> bool: ...

    def for_team(self, team_id: str) -> WebClient:
        """The client for `team_id`; raises WorkspaceNotServed."""
        ...

    def served_teams(self, session: Session) -> set[str] | None:
        """The workspaces to serve; None: every workspace in the database (one token)."""
        ...


@dataclass(frozen=True)
class OneWorkspaceClient:
    """SLACK_BOT_TOKEN: the one client, whatever the team."""

    client: WebClient

    @property
    def multi_workspace(self) -> bool:
        return False

    def for_team(self, team_id: str) -> WebClient:
        return self.client

    def served_teams(self, session: Session) -> set[str] | None:
        return None


class InstalledWorkspaceClients:
    """SLACK_CLIENT_ID: each workspace's own token (or its org's), read from the installation
    store when asked for, so a rotated token is picked up and a removed one refused at once."""

    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        store: SealedInstallationStore,
        *,
        paced: bool = False,
    ) -> None:
        self._settings = settings
        self._session_factory = session_factory
        self._store = store
        self._paced = paced
        self._lock = threading.Lock()
        self._pacers: dict[str, ChannelPacer] = {}

    @property
    def multi_workspace(self) -> bool:
        return True

    def served_teams(self, session: Session) -> set[str] | None:
        return served_team_ids(session)

    def for_team(self, team_id: str) -> WebClient:
        with self._session_factory.begin() as session:
            install = find_install(session, team_id)
            if install is None:
                raise WorkspaceNotServed(team_id, "Pipeday isn't installed there")
            if install.state != ACTIVE:
                raise WorkspaceNotServed(team_id, f"it was {install.state.replace('_', ' ')}")
            enterprise_id, org_install = install.enterprise_id, install.org_install
        bot = self._store.find_bot(enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=org_install)
        if bot is None or not bot.bot_token:
            raise WorkspaceNotServed(team_id, "no bot token is stored for it")
        # An org-wide token serves many workspaces: Slack needs to know which one a call is for.
        call_team = team_id if org_install else None
        return self._client(team_id, bot.bot_token, call_team)

    def _client(self, team_id: str, token: str, call_team: str | None) -> WebClient:
        if not self._paced:
            return configure_web_client(WebClient(token=token, team_id=call_team), self._settings)
        return paced_client(self._settings, token, self._pacer(team_id), team_id=call_team)

    def _pacer(self, team_id: str) -> ChannelPacer:
        with self._lock:
            pacer = self._pacers.get(team_id)
            if pacer is None:
                pacer = self._pacers[team_id] = ChannelPacer()
            return pacer
