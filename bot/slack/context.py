"""What every feature module needs: settings, the session factory, a clock, the wheel's seed
source, and hooks."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.wheel import SeedSource, new_seed
from bot.settings import Settings
from bot.slack.commands import CommandRouter
from models import utc_now

if TYPE_CHECKING:
    from bot.domain.activities import LogResult

LogListener = Callable[[str, "LogResult"], None]


@dataclass
class AppContext:
    settings: Settings
    session_factory: sessionmaker[Session]
    clock: Callable[[], datetime] = utc_now
    seed_source: SeedSource = new_seed
    commands: CommandRouter = field(default_factory=CommandRouter)
    # Called after a log has been acknowledged (e.g. to refresh live standings).
    log_listeners: list[LogListener] = field(default_factory=list)

    def after_log(self, team_id: str, result: LogResult) -> None:
        if result.duplicate:
            return
        for listener in self.log_listeners:
            listener(team_id, result)
