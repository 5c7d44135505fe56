"""What a usual day looks like: percentiles of daily totals over the last weeks, for the flag rules.

A "day" is a local calendar day in the region's zone (DST days are 23 or 25 hours long, as
people there live them), and only days with some activity of the type count: a percentile of
"days you logged connects", not diluted by days off. The history ends at the start of the
log's local day, so a day's own logs never move its baseline, and a baseline read once stays
right all day: `BaselineCache` keeps it per member (or region), type and local day.

Each baseline is one aggregate query on a covering index: the activities are bucketed into
local days in SQL (a balanced CASE over the local midnights, ~6 comparisons a row) and summed
there; Python sees at most one row per day (per member-day for a region), never the activities.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Select,
    SQLColumnExpression,
    bindparam,
    case,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from bot.domain.windows import local_midnight_utc
from models import Activity
from models.entities import counted_activities

MAX_CACHED = 4096


@dataclass(frozen=True)
class Distribution:
    """Percentiles of daily totals: `days` is how many (member-)days they were read from."""

    days: int
    percentiles: dict[float, float]

    def at(self, percentile: float) -> float:
        return self.percentiles[percentile]


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def distribution(totals: Sequence[float], percentiles: Sequence[float]) -> Distribution:
    present = [t for t in totals if t > 0]
    return Distribution(len(present), {p: percentile(present, p) for p in percentiles} if present else {})


def history_midnights(today: date, tz: ZoneInfo, weeks: int) -> list[datetime]:
    """The local midnights from `weeks` weeks before `today` to `today`'s own, as UTC: the
    boundaries of the history's days (the last is where today starts)."""
    first = today - timedelta(days=7 * weeks)
    return [local_midnight_utc(first + timedelta(days=n), tz) for n in range(7 * weeks + 1)]


def local_day_index(column: SQLColumnExpression[datetime], days: int, dialect: str) -> ColumnElement[int]:
    """Which history day `column` falls in, for values within [:d0, :d{days}).

    PostgreSQL: width_bucket over the local midnights, one array parameter (:bounds). SQLite has
    no such function: a balanced CASE over bound parameters d0..d{days} (~6 comparisons a row).
    Either way the statement is built once and only the midnights change."""
    if dialect == "postgresql":
        bounds = bindparam("bounds", type_=postgresql.ARRAY(DateTime()))
        return func.width_bucket(column, bounds, type_=Integer)

    def between(low: int, high: int) -> ColumnElement[int]:
        # Days low..high: day n starts at :d{n}.
        if low == high:
            return literal_column(str(low))
        middle = (low + high + 1) // 2
        return case((column < bindparam(f"d{middle}"), between(low, middle - 1)), else_=between(middle, high))

    return between(0, days - 1)


def _boundaries(session: Session, midnights: Sequence[datetime]) -> dict[str, Any]:
    bounds: dict[str, Any] = {"d0": midnights[0], f"d{len(midnights) - 1}": midnights[-1]}
    if _dialect(session) == "postgresql":
        # Naive UTC, as activities.occurred_at stores it (models.base.UTCDateTime).
        bounds["bounds"] = [moment.astimezone(UTC).replace(tzinfo=None) for moment in midnights]
    else:
        bounds |= {f"d{n}": moment for n, moment in enumerate(midnights)}
    return bounds


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def member_day_totals(
    session: Session, member_id: int, activity_type: str, midnights: Sequence[datetime]
) -> list[float]:
    """The member's total of the type on each history day they logged any (ix_activities_member_type)."""
    values = {"member_id": member_id, "type": activity_type, **_boundaries(session, midnights)}
    rows = session.execute(_member_statement(len(midnights) - 1, _dialect(session)), values)
    return [float(total) for (total,) in rows]


def region_day_totals(
    session: Session, team_id: str, region_id: int, activity_type: str, midnights: Sequence[datetime]
) -> list[float]:
    """Every member's total of the type on each history day they logged any in the region
    (ix_activities_board): one number per member-day."""
    values = {"team_id": team_id, "region_id": region_id, "type": activity_type, **_boundaries(session, midnights)}
    rows = session.execute(_region_statement(len(midnights) - 1, _dialect(session)), values)
    return [float(total) for (total,) in rows]


# Built once per history length and database: a statement made per call (a CASE of ~110
# nodes) cost more CPU than the read itself (~4 ms against ~1 ms); on PostgreSQL that CASE's
# 57 parameters still cost more than an array of them.
@cache
def _member_statement(days: int, dialect: str) -> Select[Any]:
    table = Activity.__table__
    per_log = (
        select(local_day_index(table.c.occurred_at, days, dialect).label("day"), table.c.quantity)
        .where(
            table.c.member_id == bindparam("member_id"),
            table.c.type == bindparam("type"),
            table.c.occurred_at >= bindparam("d0"),
            table.c.occurred_at < bindparam(f"d{days}"),
            counted_activities(table.c),
        )
        .subquery()
    )
    return select(func.sum(per_log.c.quantity)).group_by(per_log.c.day)


@cache
def _region_statement(days: int, dialect: str) -> Select[Any]:
    table = Activity.__table__
    per_log = (
        select(table.c.member_id, local_day_index(table.c.occurred_at, days, dialect).label("day"), table.c.quantity)
        .where(
            table.c.team_id == bindparam("team_id"),
            table.c.region_id == bindparam("region_id"),
            table.c.type == bindparam("type"),
            table.c.occurred_at >= bindparam("d0"),
            table.c.occurred_at < bindparam(f"d{days}"),
            counted_activities(table.c),
        )
        .subquery()
    )
    return select(func.sum(per_log.c.quantity)).group_by(per_log.c.member_id, per_log.c.day)


@dataclass(frozen=True)
class BaselineKey:
    scope: str  # "member" or "region"
    owner_id: int
    activity_type: str
    today: date
    weeks: int
    percentiles: tuple[float, ...]


def region_key(
    region_id: int, activity_type: str, today: date, weeks: int, percentiles: tuple[float, ...]
) -> BaselineKey:
    return BaselineKey("region", region_id, activity_type, today, weeks, percentiles)


class BaselineCache:
    """Distributions by (member or region, type, local day, weeks, percentiles), least recently
    used dropped past `max_entries`. Thread-safe; two threads missing the same key at once
    both compute it (the same answer), which is cheaper than making one wait on the other."""

    def __init__(self, max_entries: int = MAX_CACHED) -> None:
        self._max = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[BaselineKey, Distribution] = OrderedDict()
        self.misses = 0

    def peek(self, key: BaselineKey) -> Distribution | None:
        """The distribution if it's cached, without reading anything."""
        with self._lock:
            return self._entries.get(key)

    def get(self, key: BaselineKey, compute: Callable[[], Distribution]) -> Distribution:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
            self.misses += 1
        value = compute()
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return value


@dataclass(frozen=True)
class BaselineReader:
    """Reads (through `cache`) the distributions the rules compare with, for one local day."""

    session: Session
    cache: BaselineCache
    today: date
    tz: ZoneInfo
    weeks: int

    def member(self, member_id: int, activity_type: str, percentiles: tuple[float, ...]) -> Distribution:
        key = BaselineKey("member", member_id, activity_type, self.today, self.weeks, percentiles)
        return self.cache.get(key, lambda: distribution(self._member_totals(member_id, activity_type), percentiles))

    def region(self, team_id: str, region_id: int, activity_type: str, percentiles: tuple[float, ...]) -> Distribution:
        key = region_key(region_id, activity_type, self.today, self.weeks, percentiles)
        return self.cache.get(
            key, lambda: distribution(self._region_totals(team_id, region_id, activity_type), percentiles)
        )

    def _member_totals(self, member_id: int, activity_type: str) -> list[float]:
        return member_day_totals(self.session, member_id, activity_type, self._midnights())

    def _region_totals(self, team_id: str, region_id: int, activity_type: str) -> list[float]:
        return region_day_totals(self.session, team_id, region_id, activity_type, self._midnights())

    def _midnights(self) -> list[datetime]:
        return history_midnights(self.today, self.tz, self.weeks)
