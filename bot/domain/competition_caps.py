"""Caps on single logs during a competition (`pipeday competition set NAME --max-per-log N`).

During a competition's window, in its regions, one log of its metric may hold at most N; a
bigger one is refused with the reason and nothing is stored. Checked before the insert, so
only for logs that could be over a cap: a cap is at least 1, so `/pg 1 connect` (most logs)
never reads anything for it; a bigger log reads one small indexed row set.

Ingested activity (the batch API, webhooks, `pipeday import`) is capped the same way, by
when it occurred: `IngestedCaps` reads a workspace's caps once for a whole chunk of items and
answers each item without reading again; an item over a cap is rejected with the reason.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, time
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
from models import Competition

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

    name: str
    weekday: int
    metric: str
    region_ids: tuple[int, ...]  # empty: every region
    start_local: time
    end_local: time
    counts: str
    max_per_log: int

    def applies(self, region_id: int, tz: str, activity_type: str, quantity: float, source: str, at: datetime) -> bool:
        """Whether this cap refuses a log of `quantity` that happened `at` (UTC) in the region:
        the competition's metric, its regions, its window on its weekday, and activity it
        counts (a typed log on a verified-only competition changes nothing there)."""
        if quantity <= self.max_per_log or activity_type != self.metric:
            return False
        if self.region_ids and region_id not in self.region_ids:
            return False
        if self.counts == COUNT_VERIFIED and not is_verified(source):
            return False
        local_date = windows.local_date(at, ZoneInfo(tz))
        if local_date.weekday() != self.weekday:
            return False
        return local_to_utc(local_date, self.start_local, tz) <= at < local_to_utc(local_date, self.end_local, tz)


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

    def refusal(
        self, region_id: int | None, tz: str | None, activity_type: str, quantity: float, source: str, at: datetime
    ) -> str | None:
        """Why an ingested item is rejected (over a cap in the window it occurred in), or None."""
        if quantity <= MIN_CAP or region_id is None or tz is None:
            return None
        for cap in self.caps:
            if cap.applies(region_id, tz, activity_type, quantity, source, at):
                kind = ACTIVITY_TYPES[activity_type]
                return (
                    f"during {cap.name} (until {cap.end_local:%H:%M}) one log can hold at most {cap.max_per_log} "
                    f"{kind.label(cap.max_per_log)}; {quantity:g} is over that, so it wasn't stored: "
                    f"send them as they happen, up to {cap.max_per_log} at a time"
                )
        return None


def _cap(row: Any) -> Cap:
    return Cap(
        row.name,
        row.weekday,
        row.metric,
        tuple(row.region_ids or ()),
        row.start_local,
        row.end_local,
        row.counts,
        row.max_per_log,
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
        competitions.c.name,
        competitions.c.weekday,
        competitions.c.metric,
        competitions.c.region_ids,
        competitions.c.start_local,
        competitions.c.end_local,
        competitions.c.counts,
        competitions.c.max_per_log,
    )
