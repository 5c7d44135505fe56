"""What messages about competitions and their days show, read from the rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.domain.competition_days import region_local_date
from bot.domain.competition_definitions import region_scope_names, weekday_name
from models import Competition, CompetitionDay, Region

LiveState = Literal["live", "ended", "final"]


@dataclass(frozen=True)
class CompetitionView:
    name: str
    weekday: str  # "Thursday"
    metric: str
    start: time
    end: time
    regions: list[str]  # empty = every region
    winners: int
    leaders_win: bool
    counts: str = "all"  # "all" activity or only "verified"


@dataclass(frozen=True)
class DayView:
    """What messages about one competition day show."""

    day_id: int
    competition: str
    region: str
    tz: str
    metric: str
    local_date: date
    start: time
    end: time
    # When the competition runs next in this region (None: it was removed since), so a
    # closed day can say when the next one is.
    next_date: date | None = None


@dataclass(frozen=True)
class WinnerView:
    place: int
    member_id: int
    user_id: str
    total: float
    prize: str | None  # what their spin won, once spun


def competition_view(session: Session, competition: Competition) -> CompetitionView:
    return CompetitionView(
        name=competition.name,
        weekday=weekday_name(competition.weekday),
        metric=competition.metric,
        start=competition.start_local,
        end=competition.end_local,
        regions=region_scope_names(session, competition),
        winners=competition.winners_per_region,
        leaders_win=competition.leaders_win,
        counts=competition.counts,
    )


def day_view(day: CompetitionDay) -> DayView:
    zone = ZoneInfo(day.region.tz)
    return DayView(
        day_id=day.id,
        competition=day.competition.name,
        region=day.region.name,
        tz=day.region.tz,
        metric=day.metric,
        local_date=day.local_date,
        start=day.window_start.astimezone(zone).time(),
        end=day.window_end.astimezone(zone).time(),
        next_date=next_competition_date(day.competition, day.local_date),
    )


def next_competition_date(competition: Competition, after: date) -> date | None:
    """The competition's first day after `after` (weekly, on its weekday); None once removed."""
    if not competition.active:
        return None
    return after + timedelta(days=(competition.weekday - after.weekday() - 1) % 7 + 1)


def today_view(competition: Competition, region: Region, now: datetime) -> DayView:
    """Today's window of a competition in a region, before any day row exists (id 0)."""
    return DayView(
        0,
        competition.name,
        region.name,
        region.tz,
        competition.metric,
        region_local_date(region, now),
        competition.start_local,
        competition.end_local,
    )


def winner_views(day: CompetitionDay, prizes_by_member: dict[int, str]) -> list[WinnerView]:
    return [
        WinnerView(w.place, w.member_id, w.member.user_id, w.total, prizes_by_member.get(w.member_id))
        for w in day.winners
    ]
