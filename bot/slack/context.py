"""What every feature module needs: settings, the session factory, a clock, the wheel's seed
source, and hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.wheel import SeedSource, new_seed
from bot.settings import Settings
from bot.slack.after_ack import AfterAck, after_ack_pool
from bot.slack.commands import CommandRouter
from models import utc_now

if TYPE_CHECKING:
    from bot.domain.activities import LogResult
    from bot.installs.clients import WorkspaceClients

# Called inside the log's transaction (keep it to cheap reads); returns work to do once the
# log is acknowledged, which opens its own transaction if it needs one.
FollowUp = Callable[[], None]
LogListener = Callable[[Session, "LogResult"], FollowUp | None]


@dataclass
class AppContext:
    settings: Settings
    session_factory: sessionmaker[Session]
    clock: Callable[[], datetime] = utc_now
    seed_source: SeedSource = new_seed
    commands: CommandRouter = field(default_factory=CommandRouter)
    # Features that react to a new log (e.g. live standings).
    log_listeners: list[LogListener] = field(default_factory=list)
    # Where listeners send what they do after answering (bot.slack.after_ack).
    after_ack: AfterAck = field(default_factory=lambda: AfterAck(after_ack_pool()))
    # Many workspaces (SLACK_CLIENT_ID): the client for any workspace's work done outside a
    # request (live standings). None: one workspace, whose client is the Bolt app's.
    clients: WorkspaceClients | None = None

    def note_log(self, session: Session, result: LogResult) -> FollowUp | None:
        """Tell features about a new log within its transaction, so that most logs need no
        second one. What this returns is to run after the ack; None (most logs) when there
        is nothing to run, so the log's answer needs no hand-off to another thread."""
        if result.duplicate:
            return None
        follow_ups = [follow_up for listener in self.log_listeners if (follow_up := listener(session, result))]
        return partial(_run_all, follow_ups) if follow_ups else None


def _run_all(follow_ups: list[FollowUp]) -> None:
    for follow_up in follow_ups:
        follow_up()


def actor_of(body: dict[str, Any]) -> tuple[str, str]:
    """(team, user) of a click or submission. An org-wide (Enterprise Grid) payload's `team` is
    null: the user's own team_id then says which workspace."""
    user = body.get("user") or {}
    team = (body.get("team") or {}).get("id") or user.get("team_id", "")
    return str(team), str(user.get("id", ""))
