"""The manager's CSV export: one row per member, local-time periods, zeros for the idle, safe cells."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from bot.domain.activities import log_activity, undo_last
from bot.domain.directory import add_region, ensure_member, join_region
from bot.domain.errors import Conflict
from bot.domain.export import export_csv, export_window
from bot.domain.grammar import LogCommand
from models import Member

TEAM = "T1"
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # Tuesday in New York


def local(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), NEW_YORK).astimezone(UTC)


def join(session: Session, user_id: str, name: str, region: str) -> Member:
    join_region(session, TEAM, user_id, name, region)
    return ensure_member(session, TEAM, user_id, name)


def log(session: Session, member: Member, command: LogCommand, at: datetime) -> None:
    log_activity(session, member, command, now=at, idempotency_key=None)


def read(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def test_last_week_for_a_region_in_its_own_time_zone(session: Session) -> None:
    amer = add_region(session, TEAM, "AMER", "America/New_York", None, actor="test")
    add_region(session, TEAM, "EMEA", "Europe/London", None, actor="test")
    ana = join(session, "U_ANA", "Ana", "AMER")
    join(session, "U_IDLE", "Idle Ivan", "AMER")
    hacker = join(session, "U_X", '=HYPERLINK("http://evil")', "AMER")
    eve = join(session, "U_EVE", "Eve", "EMEA")
    log(session, ana, LogCommand("call", 12), local(date(2026, 11, 16), 9))  # Monday of last week
    log(session, ana, LogCommand("connect", 3), local(date(2026, 11, 22), 23, 30))  # Sunday night: still last week
    log(session, ana, LogCommand("deal", 1, amount_cents=5_000_000), local(date(2026, 11, 18)))
    log(session, ana, LogCommand("hour", 1.5), local(date(2026, 11, 19)))
    log(session, ana, LogCommand("call", 99), local(date(2026, 11, 23), 0, 30))  # this week: not exported
    log(session, hacker, LogCommand("email", 4), local(date(2026, 11, 17)))
    log(session, eve, LogCommand("call", 7), local(date(2026, 11, 17)))  # other region
    log(session, hacker, LogCommand("email", 50), local(date(2026, 11, 17), 11))
    undo_last(session, hacker, now=local(date(2026, 11, 17), 12))  # undone logs don't count

    exported = export_csv(session, TEAM, "last_week", NOW, amer)

    assert exported.filename == "pipeday-amer-2026-11-16-to-2026-11-22.csv"
    assert exported.rows == 3
    rows = read(exported.content)
    assert [row["user_id"] for row in rows] == ["U_X", "U_ANA", "U_IDLE"]  # by name ("=" sorts before letters)
    ana_row = rows[1]
    assert (ana_row["calls"], ana_row["connects"], ana_row["deals"], ana_row["hours"]) == ("12", "3", "1", "1.5")
    assert ana_row["deal_amount_usd"] == "50000.00" and ana_row["region"] == "AMER"
    assert rows[0]["name"] == '\'=HYPERLINK("http://evil")'  # a spreadsheet won't run it
    assert rows[0]["emails"] == "4"
    assert all(
        value in ("0", "0.00")
        for key, value in rows[2].items()
        if key not in ("region", "user_id", "name", "role", "job", "sources")
    )
    assert list(rows[0])[:5] == ["region", "user_id", "name", "role", "job"]


def test_whole_workspace_export_covers_every_region(session: Session) -> None:
    add_region(session, TEAM, "AMER", "America/New_York", None, actor="test")
    add_region(session, TEAM, "EMEA", "Europe/London", None, actor="test")
    ana, eve = join(session, "U_ANA", "Ana", "AMER"), join(session, "U_EVE", "Eve", "EMEA")
    log(session, ana, LogCommand("call", 2), NOW)
    log(session, eve, LogCommand("call", 5), NOW)
    exported = export_csv(session, TEAM, "this_month", NOW, None)
    assert exported.filename == "pipeday-all-2026-11-01-to-2026-11-30.csv"
    assert {row["user_id"]: row["calls"] for row in read(exported.content)} == {"U_ANA": "2", "U_EVE": "5"}


@pytest.mark.parametrize(
    ("period", "first", "last"),
    [
        ("this_week", date(2026, 11, 23), date(2026, 11, 29)),
        ("last_week", date(2026, 11, 16), date(2026, 11, 22)),
        ("last_month", date(2026, 10, 1), date(2026, 10, 31)),
        ("this_quarter", date(2026, 10, 1), date(2026, 12, 31)),
        ("last_quarter", date(2026, 7, 1), date(2026, 9, 30)),
    ],
)
def test_export_periods(period: str, first: date, last: date) -> None:
    window = export_window(period, NOW, NEW_YORK)
    assert (window.first_day, window.last_day) == (first, last)


def test_last_quarter_in_january_is_the_previous_year() -> None:
    window = export_window("last_quarter", datetime(2027, 1, 2, 12, tzinfo=UTC), NEW_YORK)
    assert (window.first_day, window.last_day) == (date(2026, 10, 1), date(2026, 12, 31))
    with pytest.raises(Conflict):
        export_window("yesterday", NOW, NEW_YORK)
