"""Finding the closed competition days a batch of ingested activity arrived late for: one read
for the whole batch (none without regions), only the day's metric, region, counted window and
`counts`, and only until the end of the region's next day (bot.domain.late_arrivals)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.domain.competition_closing import close_day
from bot.domain.competition_days import ensure_day
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import PRESETS
from bot.domain.directory import add_region
from bot.domain.ingested_days import IngestedFacts
from bot.domain.late_arrivals import closed_days_touched_by_batch, corrects_until
from models import CompetitionDay, Region
from tests.support.statements import SentStatement, sent_statements

TEAM = "T1"
NEW_YORK = ZoneInfo("America/New_York")
THURSDAY = datetime(2026, 11, 26).date()


def ny(hour: int, minute: int = 0, *, day: int = 26) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


@pytest.fixture
def closed_day(session: Session) -> CompetitionDay:
    """A verified Connect Day in New York (08:00–17:30), closed early at 17:00."""
    region = add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
    competition = add_competition(session, TEAM, replace(PRESETS["connect-day"], counts="verified"), actor="test")
    day = ensure_day(session, competition, region, THURSDAY)
    close_day(session, day, ny(17), closed_by="test")
    session.flush()
    return day


def facts(
    region: Region | int | None, at: datetime, *, type: str = "connect", source: str = "aircall"
) -> IngestedFacts:
    region_id = region.id if isinstance(region, Region) else region
    return IngestedFacts(TEAM, region_id, type, at, source)


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[SentStatement]]:
    with sent_statements(engine) as seen:
        yield seen


def test_a_late_call_inside_the_counted_window_finds_the_day_with_its_sources(
    session: Session, closed_day: CompetitionDay
) -> None:
    batch = [facts(closed_day.region_id, ny(16, 59)), facts(closed_day.region_id, ny(12), source="api:crm")]
    assert closed_days_touched_by_batch(session, batch, ny(18)) == {closed_day.id: ("aircall", "api:crm")}


@pytest.mark.parametrize(
    "late",
    [
        facts(None, ny(12)),  # no region
        facts(0, ny(17, 10)),  # after the close (the window ran to 17:30, but the day closed at 17:00)
        facts(0, ny(7, 59)),  # before the window
        facts(0, ny(12), type="call"),  # not the day's metric
        facts(0, ny(12), source="slash"),  # typed: a verified day doesn't count it
        facts(-1, ny(12)),  # another region
    ],
)
def test_what_the_day_didnt_count_finds_nothing(
    session: Session, closed_day: CompetitionDay, late: IngestedFacts
) -> None:
    region_id = late.region_id
    if region_id is not None:
        region_id = closed_day.region_id if region_id == 0 else closed_day.region_id + 1000
    assert closed_days_touched_by_batch(session, [replace(late, region_id=region_id)], ny(18)) == {}


def test_late_activity_corrects_until_the_end_of_the_regions_next_day(
    session: Session, closed_day: CompetitionDay
) -> None:
    limit = corrects_until(closed_day, "America/New_York")
    assert limit == ny(0, 0, day=28)  # Saturday 00:00 in New York: the end of Friday
    batch = [facts(closed_day.region_id, ny(12))]
    assert closed_days_touched_by_batch(session, batch, limit - timedelta(microseconds=1)) == {
        closed_day.id: ("aircall",)
    }
    assert closed_days_touched_by_batch(session, batch, limit) == {}


def test_a_batch_costs_one_read_at_most_and_none_without_regions(
    session: Session, closed_day: CompetitionDay, statements: list[SentStatement]
) -> None:
    # A thousand calls on the day's own afternoon but of another type, and a thousand the next morning.
    batch = [facts(closed_day.region_id, ny(12) + timedelta(seconds=n), type="call") for n in range(1000)]
    batch += [facts(closed_day.region_id, ny(9, day=27) + timedelta(seconds=n)) for n in range(1000)]
    statements.clear()
    assert closed_days_touched_by_batch(session, batch, ny(10, day=27)) == {}
    assert len(statements) == 1
    statements.clear()
    assert closed_days_touched_by_batch(session, [facts(None, ny(12)) for _ in range(1000)], ny(18)) == {}
    assert statements == []
