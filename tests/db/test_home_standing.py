"""The App Home's standing line counts everyone and finds the viewer wherever they rank,
not only among the 25 people a board message shows."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from bot.domain.activities import log_activity
from bot.domain.boards import ROWS_SHOWN
from bot.domain.directory import add_region, ensure_member, join_region
from bot.domain.grammar import LogCommand
from bot.features.home import home_data

TEAM = "T1"
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # Tuesday 10:00 in New York
PEOPLE = ROWS_SHOWN + 15


def test_the_last_of_forty_sees_their_rank_and_the_whole_count(session: Session) -> None:
    add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
    for n in range(PEOPLE):  # U00 logs the most connects, U39 the fewest
        user = f"U{n:02d}"
        join_region(session, TEAM, user, user, "AMER")
        log_activity(
            session,
            ensure_member(session, TEAM, user, user),
            LogCommand(type="connect", quantity=PEOPLE - n),
            now=NOW,
            idempotency_key=None,
        )

    last = home_data(session, TEAM, f"U{PEOPLE - 1:02d}", NOW, manager=False, page=0)
    assert last.standing is not None
    assert (last.standing.rank, last.standing.people, last.standing.total) == (PEOPLE, PEOPLE, 1.0)
    first = home_data(session, TEAM, "U00", NOW, manager=False, page=0)
    assert first.standing is not None and (first.standing.rank, first.standing.people) == (1, PEOPLE)
