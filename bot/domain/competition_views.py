"""What messages about competitions and their days show, read from the rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from bot.domain import windows
from bot.domain.activity_sources import COUNT_ALL, COUNT_VERIFIED, is_verified
from bot.domain.competition_days import LoggedFacts, competitions_today, region_local_date
from bot.domain.competition_definitions import region_scope_names, weekday_name
from bot.domain.schedule_times import local_to_utc
from models import Competition, CompetitionDay, Region
from models.competitions import DAY_OPEN

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
    counts: str = COUNT_ALL  # "all" activity or only "verified"

    @property
    def verified_only(self) -> bool:
        return self.counts == COUNT_VERIFIED


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
    # "all" activity or only "verified", as the day keeps it (a later change to the
    # competition never rewrites a day that has begun).
    counts: str = COUNT_ALL
    # Whether leaders (👑) can win the day's wheel, as the day keeps it: when they can't, a
    # running day's posts speak about the race among those who can (ranking.race).
    leaders_win: bool = False

    @property
    def verified_only(self) -> bool:
        return self.counts == COUNT_VERIFIED


@dataclass(frozen=True)
class WinnerView:
    place: int
    member_id: int
    user_id: str
    total: float
    prize: str | None  # what their spin won, once spun


@dataclass(frozen=True)
class CorrectionView:
    """A change to a closed day's published results (bot.domain.competition_closing.correct_closed_day):
    after a void, or after activity arrived late (`late_sources` set, `voided` 0)."""

    at: datetime  # in the region's zone
    voided: float
    metric: str
    before: list[str]  # winners' user ids
    after: list[str]
    spun: bool
    late_sources: tuple[str, ...] = ()  # as stored: aircall, api:crm, …
    late_quantity: float = 0.0  # how much the late activity added to the day

    @property
    def winners_changed(self) -> bool:
        return self.before != self.after


def correction_views(day: CompetitionDay) -> list[CorrectionView]:
    zone = ZoneInfo(day.region.tz)
    return [
        CorrectionView(
            at=datetime.fromisoformat(str(entry["at"])).astimezone(zone),
            voided=float(entry.get("voided", 0.0)),
            metric=day.metric,
            before=[str(u) for u in entry.get("before", [])],
            after=[str(u) for u in entry.get("after", [])],
            spun=bool(entry.get("spun")),
            late_sources=_late_sources(entry),
            late_quantity=float((entry.get("late") or {}).get("quantity", 0.0)),
        )
        for entry in day.corrections or []
    ]


def _late_sources(entry: dict[str, Any]) -> tuple[str, ...]:
    late = entry.get("late")
    if not late:
        return ()
    return (str(late["source"]), *(str(source) for source in late.get("also", [])))


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
        counts=day.counts,
        leaders_win=day.leaders_win,
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
        counts=competition.counts,
        leaders_win=competition.leaders_win,
    )


def today_views(session: Session, region: Region, now: datetime) -> list[DayView]:
    """The competitions running in `region` on its local date at `now`, as views."""
    return [today_view(competition, region, now) for competition in competitions_today(session, region, now)]


def winner_views(day: CompetitionDay, prizes_by_member: dict[int, str]) -> list[WinnerView]:
    return [
        WinnerView(w.place, w.member_id, w.member.user_id, w.total, prizes_by_member.get(w.member_id))
        for w in day.winners
    ]


def verified_only_day_missed(session: Session, activity: LoggedFacts, tz: str | None) -> str | None:
    """The name of the open verified-only competition day that this typed log falls in but
    doesn't count for (same region, metric and window), so the reply can say so; None for
    a verified log, a log outside every such window, and most logs.

    One indexed read (competitions by team, each joined to its day in the log's region by
    the day's unique key): the log's answer waits for it. `tz`: the log's region's zone.
    A day that has begun keeps its own `counts`, so the day's row decides once it exists."""
    if activity.region_id is None or tz is None or is_verified(activity.source):
        return None
    local_date = windows.local_date(activity.occurred_at, ZoneInfo(tz))
    facts = {
        "team_id": activity.team_id,
        "region_id": activity.region_id,
        "local_date": local_date,
        "weekday": local_date.weekday(),
        "metric": activity.type,
    }
    for row in session.execute(_verified_only_statement(), facts):
        if row.region_ids and activity.region_id not in row.region_ids:
            continue  # runs in other regions only
        if row.day_counts is None:  # no day row yet: the competition's rules and window
            verified = row.counts == COUNT_VERIFIED
            start, end = local_to_utc(local_date, row.start_local, tz), local_to_utc(local_date, row.end_local, tz)
        else:
            verified = row.day_counts == COUNT_VERIFIED and row.status == DAY_OPEN
            start, end = row.window_start, row.window_end
        if verified and start <= activity.occurred_at < end:
            return str(row.name)
    return None


@cache
def _verified_only_statement() -> Select[Any]:
    # Built once: the log path is benchmarked, and a statement made per call costs more CPU
    # on its cache key than the read itself.
    competitions, days = Competition.__table__, CompetitionDay.__table__
    return (
        select(
            competitions.c.name,
            competitions.c.region_ids,
            competitions.c.start_local,
            competitions.c.end_local,
            competitions.c.counts,
            days.c.counts.label("day_counts"),
            days.c.status,
            days.c.window_start,
            days.c.window_end,
        )
        .select_from(
            competitions.outerjoin(
                days,
                and_(
                    days.c.competition_id == competitions.c.id,
                    days.c.region_id == bindparam("region_id"),
                    days.c.local_date == bindparam("local_date"),
                ),
            )
        )
        .where(
            competitions.c.team_id == bindparam("team_id"),
            competitions.c.active.is_(True),
            competitions.c.weekday == bindparam("weekday"),
            competitions.c.metric == bindparam("metric"),
            or_(competitions.c.counts == COUNT_VERIFIED, days.c.counts == COUNT_VERIFIED),
        )
        .order_by(competitions.c.start_local, competitions.c.id)
    )
