"""bot/ingest/flag_checks.IngestedFlagger's own thread: a check that fails with a bug is logged
and the next batches are still checked (the thread used to die with `checking` left set, so
nothing ingested in that process was ever checked again)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.ingested_days import IngestedActivity
from bot.ingest.flag_checks import IngestedFlagger
from tests.support.waiting import wait_until

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def activity(activity_id: int) -> IngestedActivity:
    return IngestedActivity(activity_id, "T1", 1, None, None, None, "connect", 1.0, NOW, "zapier")


class FirstCheckFails(IngestedFlagger):
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        super().__init__(session_factory, lambda: NOW)
        self.checked: list[list[int]] = []

    def _check(self, batch: Sequence[IngestedActivity]) -> None:
        self.checked.append([a.activity_id for a in batch])
        if len(self.checked) == 1:
            raise RuntimeError("a bug in a rule")


def test_a_failing_check_leaves_the_checker_working(session_factory: sessionmaker[Session]) -> None:
    flagger = FirstCheckFails(session_factory)
    flagger.submit([activity(1)])
    wait_until(lambda: flagger.checked == [[1]], what="the first check")
    flagger.wait_idle()
    flagger.submit([activity(2)])
    wait_until(lambda: flagger.checked == [[1], [2]], what=lambda: f"the second check ({flagger.checked})")
    flagger.wait_idle()
