"""What the lift report reads: a region's reps, leaders, competition days and per-day figures.

A handful of aggregate queries per region, never one row per activity: the day of each log
is worked out in SQL (whole local days from epoch seconds and the zone's offset, so a DST day
is 23 or 25 hours long and a log at 23:30 local counts on that local day), per-rep sums are folded
into a histogram of values per day, and only that histogram comes back. Ten regions of two
hundred reps over a million activities stay well inside the report's two seconds
(bench/lift.py).

Who counts: the region's reps are its members with the `rep` role now, and all their counted
logs count (wherever they were logged), so "the same reps" means the same people. A rep's days
run from their first to their last counted log in the period (undone and voided ones never
count, here or anywhere: models.entities.counted_activities); quiet working days in between
are zeros, days before they started or after they stopped are not days of theirs at all.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, ColumnElement, case, func, literal, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from bot.domain.windows import local_date, local_midnight_utc
from models import Activity, Competition, CompetitionDay, Member, Region
from models.entities import counted_activities

FOLLOW_UP_TYPES = ("meeting", "qbm", "opp")
LEADER_HOUR_THRESHOLD = 1.0  # "a leader logged at least one prospecting hour"
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Period:
    """Local days first_day..last_day (inclusive) of one region, with their UTC bounds."""

    first_day: date
    last_day: date
    tz: ZoneInfo

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range((self.last_day - self.first_day).days + 1)]

    def index(self, day: date) -> int:
        return (day - self.first_day).days


@dataclass(frozen=True)
class ContestFacts:
    """What the report needs of a competition (plain values: the arithmetic runs on other
    threads, away from the session)."""

    id: int
    name: str
    metric: str
    weekday: int


@dataclass(frozen=True)
class RegionFacts:
    id: int
    name: str
    tz: str


@dataclass
class RegionDays:
    """A region's period, folded to days. Day indexes count from `period.first_day`."""

    region: RegionFacts
    period: Period
    rep_spans: list[tuple[int, int]]  # per rep: first and last day index with a log
    # type -> day index -> {per-rep total: how many reps had it}, for reps with a non-zero total
    histograms: dict[str, dict[int, dict[float, int]]] = field(default_factory=dict)
    leader_days: set[int] = field(default_factory=set)  # days a leader logged >= 1 hour
    leaders: int = 0
    competitions: list[ContestFacts] = field(default_factory=list)
    competition_days: dict[int, set[int]] = field(default_factory=dict)  # competition id -> day indexes

    def active_reps(self, day: int) -> int:
        return sum(1 for first, last in self.rep_spans if first <= day <= last)

    def total(self, activity_type: str, day: int) -> float:
        histogram = self.histograms.get(activity_type, {}).get(day, {})
        return sum(value * count for value, count in histogram.items())


def load_region_days(
    session: Session, region: Region, period: Period, metric_types: set[str], competitions: list[Competition]
) -> RegionDays:
    """Everything the report needs about `region` over `period`, in five small queries."""
    reps = _member_ids(session, region, "rep")
    leaders = _member_ids(session, region, "leader")
    facts = RegionFacts(region.id, region.name, region.tz)
    data = RegionDays(facts, period, _rep_spans(session, reps, period), leaders=len(leaders))
    types = sorted(metric_types | {"connect", *FOLLOW_UP_TYPES})
    if reps:
        data.histograms = _histograms(session, reps, types, period)
    if leaders:
        data.leader_days = _leader_days(session, leaders, period)
    data.competitions = [ContestFacts(c.id, c.name, c.metric, c.weekday) for c in competitions]
    data.competition_days = _competition_days(session, region, competitions, period)
    return data


def region_competitions(session: Session, region: Region, period: Period) -> list[Competition]:
    """Competitions running in the region now, and removed ones that had days in the period;
    in weekday order."""
    days = select(CompetitionDay.competition_id).where(
        CompetitionDay.region_id == region.id,
        CompetitionDay.local_date >= period.first_day,
        CompetitionDay.local_date <= period.last_day,
    )
    had_days = set(session.scalars(days.distinct()))
    candidates = session.scalars(
        select(Competition)
        .where(Competition.team_id == region.team_id)
        .order_by(Competition.weekday, Competition.start_local, Competition.name_key)
    )
    return [c for c in candidates if c.id in had_days or (c.active and _runs_in(c, region))]


def _runs_in(competition: Competition, region: Region) -> bool:
    return not competition.region_ids or region.id in competition.region_ids


def _member_ids(session: Session, region: Region, role: str) -> list[int]:
    return list(
        session.scalars(
            select(Member.id)
            .where(Member.team_id == region.team_id, Member.region_id == region.id, Member.role == role)
            .order_by(Member.id)
        )
    )


def _bounds(period: Period) -> tuple[datetime, datetime]:
    return local_midnight_utc(period.first_day, period.tz), local_midnight_utc(
        period.last_day + timedelta(days=1), period.tz
    )


def _rep_spans(session: Session, reps: list[int], period: Period) -> list[tuple[int, int]]:
    """Each rep's first and last counted log in the period (any type; undone and voided logs
    are no sign they were at work: a rep whose only log was voided has no days at all).

    Two index seeks per rep (ix_activities_member), rather than reading their logs."""
    if not reps:
        return []
    start, end = _bounds(period)

    def edge(aggregate: Any) -> Any:
        return (
            select(aggregate(Activity.occurred_at))
            .where(
                Activity.member_id == Member.id,
                Activity.occurred_at >= start,
                Activity.occurred_at < end,
                counted_activities(),
            )
            .scalar_subquery()
        )

    rows = session.execute(select(edge(func.min), edge(func.max)).where(Member.id.in_(reps)))
    return [
        (period.index(local_date(first, period.tz)), period.index(local_date(last, period.tz)))
        for first, last in rows
        if first is not None and last is not None
    ]


class _EpochSeconds(FunctionElement[int]):
    """Whole seconds since 1970-01-01 of a naive-UTC timestamp column, on either database."""

    type = BigInteger()
    inherit_cache = True


# unixepoch() (SQLite 3.38+) reads the text timestamp straight to an integer: a fifth of the
# histogram query's time, against formatting it with strftime('%s') and parsing that back.
_SQLITE_UNIXEPOCH = (3, 38)


@compiles(_EpochSeconds, "sqlite")
def _epoch_seconds_sqlite(element: _EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    moment = compiler.process(element.clauses, **kw)
    if tuple(getattr(compiler.dialect, "server_version_info", None) or ()) >= _SQLITE_UNIXEPOCH:
        return f"unixepoch({moment})"
    return f"CAST(strftime('%s', {moment}) AS INTEGER)"


@compiles(_EpochSeconds, "postgresql")
def _epoch_seconds_postgresql(element: _EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    # date_part() is a double (exact to well under a microsecond at these magnitudes, so its
    # floor is the whole second); EXTRACT(EPOCH …) is a numeric since PostgreSQL 14, and its
    # arithmetic took half of the histogram query's time.
    return f"CAST(FLOOR(date_part('epoch', {compiler.process(element.clauses, **kw)})) AS BIGINT)"


def local_day_index(
    moment: ColumnElement[datetime] | InstrumentedAttribute[datetime], period: Period
) -> ColumnElement[int]:
    """The local day (index from `period.first_day`) of a UTC timestamp column, in SQL.

    Integer arithmetic on epoch seconds: the zone's UTC offset (a CASE over the period's DST
    changes, usually none or one) turns a moment into local wall-clock seconds, and whole days
    since the period's first local midnight are its index. Exact to the second, unlike
    fractional julian days, and a third cheaper than comparing with every local midnight."""
    offset: ColumnElement[int]
    segments = _offset_segments(period)
    if len(segments) == 1:
        offset = _bound_integer(segments[0][1])
    else:
        offset = case(
            *[(moment < until, _bound_integer(seconds)) for until, seconds in segments[:-1]],
            else_=_bound_integer(segments[-1][1]),
        )
    first_midnight = int(datetime.combine(period.first_day, time(0), tzinfo=UTC).timestamp())
    local_seconds = _EpochSeconds(moment) + offset - _bound_integer(first_midnight)
    # Never negative (the period starts at its first local midnight): integer division floors.
    return local_seconds // _integer(SECONDS_PER_DAY)


def _integer(value: int) -> ColumnElement[int]:
    """An integer written into the SQL text: with integers on both sides, `//` is the
    databases' own integer division."""
    return literal_column(str(value), BigInteger())


def _bound_integer(value: int) -> ColumnElement[int]:
    """An integer parameter, typed BIGINT (so arithmetic with it stays integer arithmetic):
    what differs from one region to the next (its offsets, its first midnight) is bound rather
    than written into the SQL, so one compiled statement serves every region. Compiling the
    histogram query once per region cost ~10 ms each on a cold `pipeday lift`."""
    return literal(value, BigInteger())


def _offset_segments(period: Period) -> list[tuple[datetime, int]]:
    """(until, UTC offset in seconds) over the period; the last one's `until` is its end."""
    start, end = _bounds(period)
    segments: list[tuple[datetime, int]] = []
    current = _offset_at(start, period.tz)
    for day in period.days:
        midnight = local_midnight_utc(day + timedelta(days=1), period.tz)
        after = _offset_at(midnight, period.tz)
        if after != current:  # a change during `day`: find its second (one change a day at most)
            low, high = int(local_midnight_utc(day, period.tz).timestamp()), int(midnight.timestamp())
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if _offset_at(_utc(middle), period.tz) == current else (low, middle)
            segments.append((_utc(high), current))
            current = after
    segments.append((end, current))
    return segments


def _offset_at(moment: datetime, tz: ZoneInfo) -> int:
    offset = moment.astimezone(tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _histograms(
    session: Session, reps: list[int], types: list[str], period: Period
) -> dict[str, dict[int, dict[float, int]]]:
    """type -> day -> {a rep's total that day: how many reps}: per-rep sums, folded in SQL."""
    start, end = _bounds(period)
    # The (member, type, occurred_at, quantity) index covers this: one seek per rep and type.
    logs = (
        select(
            Activity.type.label("type"),
            Activity.member_id.label("member_id"),
            local_day_index(Activity.occurred_at, period).label("day"),
            Activity.quantity.label("quantity"),
        )
        .where(
            Activity.member_id.in_(reps),
            Activity.type.in_(types),
            Activity.occurred_at >= start,
            Activity.occurred_at < end,
            counted_activities(),
        )
        .subquery()
    )
    # Grouped in outer queries: PostgreSQL doesn't match a CASE with bound parameters in
    # GROUP BY to the same CASE in the select list.
    per_rep = (
        select(logs.c.type, logs.c.day, func.sum(logs.c.quantity).label("total"))
        .group_by(logs.c.type, logs.c.member_id, logs.c.day)
        .subquery()
    )
    rows = session.execute(
        select(per_rep.c.type, per_rep.c.day, per_rep.c.total, func.count()).group_by(
            per_rep.c.type, per_rep.c.day, per_rep.c.total
        )
    )
    histograms: dict[str, dict[int, dict[float, int]]] = defaultdict(lambda: defaultdict(dict))
    for activity_type, day, total, reps_with_it in rows:
        if total:
            histograms[activity_type][int(day)][float(total)] = int(reps_with_it)
    return {t: dict(days) for t, days in histograms.items()}


def _leader_days(session: Session, leaders: list[int], period: Period) -> set[int]:
    start, end = _bounds(period)
    logs = (
        select(
            Activity.member_id.label("member_id"),
            local_day_index(Activity.occurred_at, period).label("day"),
            Activity.quantity.label("quantity"),
        )
        .where(
            Activity.member_id.in_(leaders),
            Activity.type == "hour",
            Activity.occurred_at >= start,
            Activity.occurred_at < end,
            counted_activities(),
        )
        .subquery()
    )
    per_leader = (
        select(logs.c.day, func.sum(logs.c.quantity).label("hours")).group_by(logs.c.member_id, logs.c.day).subquery()
    )
    rows = session.execute(select(per_leader.c.day).where(per_leader.c.hours >= LEADER_HOUR_THRESHOLD).distinct())
    return {int(day) for (day,) in rows}


def _competition_days(
    session: Session, region: Region, competitions: list[Competition], period: Period
) -> dict[int, set[int]]:
    """The days each competition ran in the region: its competition-day rows (a day that
    never opened — no kickoff, no log, no results — didn't run)."""
    ids = [c.id for c in competitions]
    days: dict[int, set[int]] = {competition_id: set() for competition_id in ids}
    if not ids:
        return days
    rows = session.execute(
        select(CompetitionDay.competition_id, CompetitionDay.local_date).where(
            CompetitionDay.region_id == region.id,
            CompetitionDay.competition_id.in_(ids),
            CompetitionDay.local_date >= period.first_day,
            CompetitionDay.local_date <= period.last_day,
        )
    )
    for competition_id, day in rows:
        days[competition_id].add(period.index(day))
    return days
