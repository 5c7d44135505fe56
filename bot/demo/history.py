"""The twelve weeks before the demo week, so the lift report has something to say.

The same people log the same way as in the played week (bot.demo.activity decides what each
of them types on a day, and the real grammar reads it), but the history is stored at once,
as `pipeday import` would backfill it, rather than played through HTTP: twelve weeks of
commands would take minutes. Connect Day and Booking Day began nine weeks before the demo
week (their days are recorded as run and closed), so the three weeks before them give the
report its "same weekday without it" baseline.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from bot.demo.activity import person_day
from bot.demo.world import DEMO_WEEK_MONDAY, World
from bot.domain.competition_days import ensure_day
from bot.domain.competition_definitions import list_competitions
from bot.domain.directory import list_regions
from bot.domain.grammar import LogCommand, parse_command
from models import Activity, Member
from models.competitions import DAY_CLOSED

HISTORY_WEEKS = 12
COMPETITION_WEEKS = 9  # how long Connect Day and Booking Day have been running
HISTORY_SOURCE = "slash"  # typed in Slack over those weeks, like the played week's logs


@dataclass(frozen=True)
class History:
    logs: int
    competition_days: int
    first_day: date


def history_days() -> list[date]:
    first = DEMO_WEEK_MONDAY - timedelta(weeks=HISTORY_WEEKS)
    return [first + timedelta(days=n) for n in range((DEMO_WEEK_MONDAY - first).days)]


def seed_history(session_factory: sessionmaker[Session], world: World, rng: random.Random) -> History:
    """Store the history of everyone who plays (after they have joined and got their roles)."""
    started = DEMO_WEEK_MONDAY - timedelta(weeks=COMPETITION_WEEKS)
    with session_factory.begin() as session:
        members = {m.user_id: m for m in session.scalars(select(Member).where(Member.team_id == world.team_id))}
        regions = {r.name: r for r in list_regions(session, world.team_id)}
        competitions = {c.weekday: c for c in list_competitions(session, world.team_id)}
        rows: list[dict[str, Any]] = []
        ran = 0
        for day in history_days():
            competition = competitions.get(day.weekday()) if day >= started else None
            for region in world.regions:
                if competition is not None:
                    ensure_day(session, competition, regions[region.name], day).status = DAY_CLOSED
                    ran += 1
                for person in world.players():
                    if person.region != region.name:
                        continue
                    member = members[person.user_id]
                    zone = ZoneInfo(region.tz)
                    metric = competition.metric if competition is not None else None
                    for planned in person_day(person, day, zone, metric, rng):
                        rows.append(_row(member, planned.text, planned.at))
        session.execute(insert(Activity), rows)
    return History(len(rows), ran, history_days()[0])


def _row(member: Member, text: str, at: datetime) -> dict[str, Any]:
    command = parse_command(text)
    assert isinstance(command, LogCommand), text  # person_day only types logs
    return {
        "team_id": member.team_id,
        "member_id": member.id,
        "region_id": member.region_id,
        "type": command.type,
        "quantity": command.quantity,
        "note": command.note,
        "occurred_at": at,
        "logged_by": member.user_id,
        "source": HISTORY_SOURCE,
    }
