"""Competition days: one competition on one local date in one region.

A day counts the competition's metric logged in that region between the local start and end
times (half-open [start, end), converted to UTC with the region's IANA zone, so DST days are
as long as the people there live them). Its row is created on first use and keeps the window
and rules it started with; this module finds and creates days and says which open days a log
changes. Closing a day is in bot.domain.competition_closing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Select, bindparam, or_, select
from sqlalchemy.orm import Session

from bot.domain import windows
from bot.domain.activity_sources import COUNT_ALL, counts_source, is_verified
from bot.domain.competition_definitions import runs_in
from bot.domain.errors import Conflict, NotFound
from bot.domain.schedule_times import local_to_utc
from bot.domain.windows import Window
from models import Competition, CompetitionDay, Region
from models.claims import insert_once
from models.competitions import DAY_OPEN


@dataclass(frozen=True)
class DayKey:
    """Names one competition day the way the scheduler knows it."""

    team_id: str
    region_id: int
    competition_id: int
    local_date: date


def region_local_date(region: Region, moment: datetime) -> date:
    return windows.local_date(moment, ZoneInfo(region.tz))


def day_window(competition: Competition, region: Region, local_date: date) -> Window:
    """[start, end) of the competition on `local_date` in the region's zone, as aware UTC."""
    start = local_to_utc(local_date, competition.start_local, region.tz)
    end = local_to_utc(local_date, competition.end_local, region.tz)
    return Window(period="today", start=start, end=end, first_day=local_date, last_day=local_date)


def competitions_on(session: Session, region: Region, local_date: date) -> list[Competition]:
    """Active competitions that run in `region` on that local date."""
    candidates = session.scalars(
        select(Competition)
        .where(
            Competition.team_id == region.team_id,
            Competition.active.is_(True),
            Competition.weekday == local_date.weekday(),
        )
        .order_by(Competition.start_local, Competition.id)
    )
    return [c for c in candidates if runs_in(c, region)]


def competitions_today(session: Session, region: Region, now: datetime) -> list[Competition]:
    return competitions_on(session, region, region_local_date(region, now))


def ensure_day(session: Session, competition: Competition, region: Region, local_date: date) -> CompetitionDay:
    """The day's row, created on first use; concurrent creators end up with the same row."""
    day = _find_day(session, competition.id, region.id, local_date)
    if day is not None:
        return day
    if local_date.weekday() != competition.weekday or not runs_in(competition, region):
        raise Conflict(f"{competition.name} doesn't run in {region.name} on {local_date:%A %d %b}.")
    window = day_window(competition, region, local_date)
    day = CompetitionDay(
        team_id=competition.team_id,
        competition_id=competition.id,
        region_id=region.id,
        local_date=local_date,
        metric=competition.metric,
        window_start=window.start,
        window_end=window.end,
        winners_count=competition.winners_per_region,
        leaders_win=competition.leaders_win,
        counts=competition.counts,
        status=DAY_OPEN,
        live_pending=False,
    )
    if insert_once(session, day):
        return day
    winner = _find_day(session, competition.id, region.id, local_date)
    if winner is None:  # the row that beat ours went again (its competition removed meanwhile)
        raise Conflict(f"{competition.name} in {region.name} changed just now. Please try again.")
    return winner


def day_for_key(session: Session, key: DayKey) -> CompetitionDay:
    competition = session.get(Competition, key.competition_id)
    region = session.get(Region, key.region_id)
    if competition is None or region is None or competition.team_id != key.team_id or region.team_id != key.team_id:
        raise NotFound("That competition or region no longer exists.")
    return ensure_day(session, competition, region, key.local_date)


def _find_day(session: Session, competition_id: int, region_id: int, local_date: date) -> CompetitionDay | None:
    return session.scalars(
        select(CompetitionDay).where(
            CompetitionDay.competition_id == competition_id,
            CompetitionDay.region_id == region_id,
            CompetitionDay.local_date == local_date,
        )
    ).one_or_none()


def day_window_of(day: CompetitionDay) -> Window:
    """The window as stored on the day (later rule changes never rewrite a past day)."""
    return Window("today", day.window_start, day.window_end, day.local_date, day.local_date)


class LoggedFacts(Protocol):
    """What a log must tell about itself to find the competition days it changes."""

    @property
    def team_id(self) -> str: ...
    @property
    def region_id(self) -> int | None: ...
    @property
    def type(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def source(self) -> str: ...


def days_touched_by(session: Session, activity: LoggedFacts) -> list[CompetitionDay]:
    """Open competition days whose standings this log changes (same region, metric and window).

    Callers that want to skip most logs cheaply ask `may_touch_a_day` first, in the log's own
    transaction; this is the full check."""
    if activity.region_id is None:
        return []
    region = session.get(Region, activity.region_id)
    if region is None:
        return []
    local_date = region_local_date(region, activity.occurred_at)
    touched = []
    for competition in competitions_on(session, region, local_date):
        if competition.metric != activity.type or not counts_source(competition.counts, activity.source):
            continue
        if not day_window(competition, region, local_date).contains(activity.occurred_at):
            continue
        day = ensure_day(session, competition, region, local_date)
        if (
            day.status == DAY_OPEN
            and day_window_of(day).contains(activity.occurred_at)
            and counts_source(day.counts, activity.source)
        ):
            touched.append(day)
    return touched


def may_touch_a_day(session: Session, activity: LoggedFacts, tz: str | None) -> bool:
    """False when no competition of the log's metric runs in the workspace on the log's local
    weekday (`tz`: the log's region's zone): one small Core read that spares most logs the
    full check (`days_touched_by`). A typed log never touches a verified-only day."""
    if activity.region_id is None or tz is None:
        return False
    weekday = windows.local_date(activity.occurred_at, ZoneInfo(tz)).weekday()
    facts = {
        "team_id": activity.team_id,
        "weekday": weekday,
        "metric": activity.type,
        "verified": is_verified(activity.source),
    }
    candidate = session.execute(_competition_candidate_statement(), facts).first()
    return candidate is not None


@cache
def _competition_candidate_statement() -> Select[Any]:
    competitions = Competition.__table__
    return (
        select(competitions.c.id)
        .where(
            competitions.c.team_id == bindparam("team_id"),
            competitions.c.active.is_(True),
            competitions.c.weekday == bindparam("weekday"),
            competitions.c.metric == bindparam("metric"),
            or_(competitions.c.counts == COUNT_ALL, bindparam("verified", type_=Boolean)),
        )
        .limit(1)
    )


def get_day(session: Session, team_id: str, day_id: int) -> CompetitionDay:
    day = session.get(CompetitionDay, day_id)
    if day is None or day.team_id != team_id:
        raise NotFound("That competition day doesn't exist any more.")
    return day
