"""Caps on single logs during a competition (`pipeday competition set NAME --max-per-log N`).

During a competition's window, in its regions, one log of its metric may hold at most N; a
bigger one is refused with the reason and nothing is stored. Checked before the insert, so
only for logs that could be over a cap: a cap is at least 1, so `/pg 1 connect` (most logs)
never reads anything for it; a bigger log reads one small indexed row set.

Ingested activity (the batch API, webhooks, `pipeday import`) is capped the same way, by
when it occurred, but only on competition days that ran or are running since the cap was set:
the window is running now, or the competition has a day in the item's region on that local date
(open or closed) whose window hadn't ended when the cap was set.
An import of last year's history is not refused on every past occurrence of the weekday, from
before the competition existed. `IngestedCaps` reads a workspace's caps once for a whole chunk
of items, and the days they could fall on in one more read; an item over a cap is rejected
with the reason.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from bot.domain import windows
from bot.domain.activity_sources import COUNT_VERIFIED, is_verified
from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.errors import Conflict
from bot.domain.schedule_times import local_to_utc
from models import Competition, CompetitionDay

MIN_CAP, MAX_CAP = 1, 500


def refuse_over_cap(
    session: Session,
    *,
    team_id: str,
    region_id: int | None,
    tz: str | None,
    activity_type: str,
    quantity: float,
    source: str,
    now: datetime,
) -> None:
    """Raise Conflict when a competition running now in the region caps single logs of this
    type below `quantity`."""
    if quantity <= MIN_CAP or region_id is None or tz is None:
        return
    local_date = windows.local_date(now, ZoneInfo(tz))
    facts = {"team_id": team_id, "weekday": local_date.weekday(), "metric": activity_type, "quantity": quantity}
    for row in session.execute(_capped_statement(), facts):
        cap = _cap(row)
        if cap.applies(region_id, tz, activity_type, quantity, source, now):
            kind = ACTIVITY_TYPES[activity_type]
            raise Conflict(
                f"During {cap.name} (until {cap.end_local:%H:%M}) one log can hold at most "
                f"{cap.max_per_log} {kind.label(cap.max_per_log)}; {quantity:g} is over that, so nothing was saved.",
                f"Log them as they happen, up to {cap.max_per_log} at a time.",
            )


@dataclass(frozen=True)
class Cap:
    """One competition's cap on single logs."""

    competition_id: int
    name: str
    weekday: int
    metric: str
    region_ids: tuple[int, ...]  # empty: every region
    start_local: time
    end_local: time
    counts: str
    max_per_log: int
    since: datetime | None = None  # when the cap was set (None: unknown)

    def applies(self, region_id: int, tz: str, activity_type: str, quantity: float, source: str, at: datetime) -> bool:
        """Whether this cap refuses a log of `quantity` that happened `at` (UTC) in the region:
        the competition's metric, its regions, its window on its weekday, and activity it
        counts (a typed log on a verified-only competition changes nothing there)."""
        return self.window_day(region_id, tz, activity_type, quantity, source, at) is not None

    def window_day(
        self, region_id: int, tz: str, activity_type: str, quantity: float, source: str, at: datetime
    ) -> tuple[date, tuple[datetime, datetime]] | None:
        """The local date and its window (UTC) that `at` falls in when this cap would refuse the
        log, else None."""
        if quantity <= self.max_per_log or activity_type != self.metric:
            return None
        if self.region_ids and region_id not in self.region_ids:
            return None
        if self.counts == COUNT_VERIFIED and not is_verified(source):
            return None
        local_date = windows.local_date(at, ZoneInfo(tz))
        if local_date.weekday() != self.weekday:
            return None
        inside = self.window(local_date, tz)
        return (local_date, inside) if inside[0] <= at < inside[1] else None

    def window(self, local_date: date, tz: str) -> tuple[datetime, datetime]:
        return local_to_utc(local_date, self.start_local, tz), local_to_utc(local_date, self.end_local, tz)


@dataclass(frozen=True)
class CappedItem:
    """What a cap needs to know of an ingested item (`at`: when it occurred, UTC)."""

    region_id: int | None
    tz: str | None
    activity_type: str
    quantity: float
    source: str
    at: datetime


@dataclass(frozen=True)
class IngestedCaps:
    """A workspace's caps on the types a chunk of ingested items holds, read once."""

    caps: tuple[Cap, ...]

    @classmethod
    def read(cls, session: Session, team_id: str, activity_types: Collection[str]) -> IngestedCaps:
        if not activity_types:
            return cls(())
        rows = session.execute(_caps_statement(), {"team_id": team_id, "metrics": sorted(activity_types)})
        return cls(tuple(_cap(row) for row in rows))

    def refusals(self, session: Session, items: Sequence[CappedItem], now: datetime | None) -> list[str | None]:
        """Why each ingested item is rejected (over a cap in a competition window it occurred
        in, on a day the competition ran or runs: `now` is inside that window, or the
        competition has a day in the item's region on that date; and a window that hadn't
        ended when the cap was set), or None. One read of the
        competition days the candidates could fall on, none when no item is in a window."""
        candidates: list[list[tuple[Cap, date, tuple[datetime, datetime]]]] = []
        for item in items:
            found: list[tuple[Cap, date, tuple[datetime, datetime]]] = []
            if item.quantity > MIN_CAP and item.region_id is not None and item.tz is not None:
                for cap in self.caps:
                    in_window = cap.window_day(
                        item.region_id, item.tz, item.activity_type, item.quantity, item.source, item.at
                    )
                    if in_window is not None:
                        found.append((cap, *in_window))
            candidates.append(found)
        wanted = {
            (cap.competition_id, item.region_id, day)
            for item, found in zip(items, candidates, strict=True)
            for cap, day, _ in found
        }
        ran = _days_that_ran(session, wanted) if wanted else set()
        refusals: list[str | None] = []
        for item, found in zip(items, candidates, strict=True):
            refusal = None
            for cap, day, (start, end) in found:
                if cap.since is not None and end <= cap.since:
                    continue  # that day was over before the cap was set
                running = now is not None and start <= now < end
                if running or (cap.competition_id, item.region_id, day) in ran:
                    refusal = _refusal(cap, item)
                    break
            refusals.append(refusal)
        return refusals


def _refusal(cap: Cap, item: CappedItem) -> str:
    kind = ACTIVITY_TYPES[item.activity_type]
    return (
        f"during {cap.name} (until {cap.end_local:%H:%M}) one log can hold at most {cap.max_per_log} "
        f"{kind.label(cap.max_per_log)}; {item.quantity:g} is over that, so it wasn't stored: "
        f"send them as they happen, up to {cap.max_per_log} at a time"
    )


def _days_that_ran(session: Session, wanted: set[tuple[int, int | None, date]]) -> set[tuple[int, int, date]]:
    """Of (competition, region, local date), those the competition has a day for (open or closed)."""
    days = CompetitionDay.__table__
    rows = session.execute(
        select(days.c.competition_id, days.c.region_id, days.c.local_date).where(
            days.c.competition_id.in_(sorted({c for c, _, _ in wanted})),
            days.c.region_id.in_(sorted({r for _, r, _ in wanted if r is not None})),
            days.c.local_date.in_(sorted({d for _, _, d in wanted})),
        )
    )
    return {(int(c), int(r), d) for c, r, d in rows}


def _cap(row: Any) -> Cap:
    return Cap(
        row.id,
        row.name,
        row.weekday,
        row.metric,
        tuple(row.region_ids or ()),
        row.start_local,
        row.end_local,
        row.counts,
        row.max_per_log,
        row.max_per_log_since,
    )


@cache
def _capped_statement() -> Select[Any]:
    competitions = Competition.__table__
    return select(*_cap_columns()).where(
        competitions.c.team_id == bindparam("team_id"),
        competitions.c.active.is_(True),
        competitions.c.weekday == bindparam("weekday"),
        competitions.c.metric == bindparam("metric"),
        competitions.c.max_per_log < bindparam("quantity"),
    )


@cache
def _caps_statement() -> Select[Any]:
    competitions = Competition.__table__
    return select(*_cap_columns()).where(
        competitions.c.team_id == bindparam("team_id"),
        competitions.c.active.is_(True),
        competitions.c.metric.in_(bindparam("metrics", expanding=True)),
        competitions.c.max_per_log.is_not(None),
    )


def _cap_columns() -> tuple[Any, ...]:
    competitions = Competition.__table__
    return (
        competitions.c.id,
        competitions.c.name,
        competitions.c.weekday,
        competitions.c.metric,
        competitions.c.region_ids,
        competitions.c.start_local,
        competitions.c.end_local,
        competitions.c.counts,
        competitions.c.max_per_log,
        competitions.c.max_per_log_since,
    )
