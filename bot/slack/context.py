"""What every feature module needs: settings, the session factory, a clock, the wheel's seed
source, and hooks."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.wheel import SeedSource, new_seed
from bot.settings import Settings
from bot.slack.commands import CommandRouter
from models import utc_now

if TYPE_CHECKING:
    from bot.domain.activities import LogResult

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

    def note_log(self, session: Session, result: LogResult) -> FollowUp:
        """Tell features about a new log within its transaction, so that most logs need no
        second one; run what this returns after the ack."""
        if result.duplicate:
            return _nothing_to_do
        follow_ups = [follow_up for listener in self.log_listeners if (follow_up := listener(session, result))]
        return partial(_run_all, follow_ups) if follow_ups else _nothing_to_do


def _run_all(follow_ups: list[FollowUp]) -> None:
    for follow_up in follow_ups:
        follow_up()


def _nothing_to_do() -> None:
    return None
