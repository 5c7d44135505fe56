"""Live-standings edits in many workspaces: each day's message is posted and edited with the
client of the day's own workspace.

A LiveStandingsRefresher holds one client; this one asks for the day's workspace's client
on every flush (a rotated token is picked up, a removed workspace skipped) and otherwise
works like it: the same marking of touched days, the same throttle claimed in the database,
the same coalesced deferred flushes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.installs.clients import WorkspaceClients, WorkspaceNotServed
from bot.posting.live_standings import (
    DEFERRED_TRIES,
    LiveRefresh,
    LiveStandingsRefresher,
    TimerStarter,
    refresh_live_standings,
    start_daemon_timer,
)
from models import CompetitionDay

logger = logging.getLogger(__name__)


class WorkspaceLiveStandings(LiveStandingsRefresher):
    def __init__(
        self,
        clients: WorkspaceClients,
        session_factory: sessionmaker[Session],
        clock: Callable[[], datetime],
        start_timer: TimerStarter = start_daemon_timer,
    ) -> None:
        # The base class's own client is never used: every flush asks for the day's.
        super().__init__(WebClient(), session_factory, clock, start_timer)
        self._clients = clients

    def flush(self, day_id: int, now: datetime | None = None, *, tries_left: int = DEFERRED_TRIES) -> LiveRefresh:
        try:
            client = self._client_for_day(day_id)
        except WorkspaceNotServed as not_served:
            logger.info("live standings for day %s not refreshed: %s", day_id, not_served)
            return LiveRefresh(False, None)
        outcome = refresh_live_standings(client, self._session_factory, day_id, now or self._clock())
        if outcome.retry_at is not None:
            self.defer(day_id, outcome.retry_at, tries_left=tries_left)
        return outcome

    def client_for_day(self, day_id: int) -> WebClient | None:
        try:
            return self._client_for_day(day_id)
        except WorkspaceNotServed as not_served:
            logger.info("results of day %s not corrected: %s", day_id, not_served)
            return None

    def _client_for_day(self, day_id: int) -> WebClient:
        with self._session_factory.begin() as session:
            team_id = session.scalar(select(CompetitionDay.team_id).where(CompetitionDay.id == day_id))
        if team_id is None:
            raise WorkspaceNotServed("?", f"competition day {day_id} no longer exists")
        return self._clients.for_team(team_id)


def live_standings_refresher(
    client: WebClient,
    clients: WorkspaceClients | None,
    session_factory: sessionmaker[Session],
    clock: Callable[[], datetime],
    start_timer: TimerStarter = start_daemon_timer,
) -> LiveStandingsRefresher:
    """One workspace: a refresher with its client. Many: the day's workspace's client each time."""
    if clients is None or not clients.multi_workspace:
        return LiveStandingsRefresher(client, session_factory, clock, start_timer)
    return WorkspaceLiveStandings(clients, session_factory, clock, start_timer)
