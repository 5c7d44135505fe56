"""Caps on single logs during a competition (`pipeday competition set NAME --max-per-log N`).

During a competition's window, in its regions, one log of its metric may hold at most N; a
bigger one is refused with the reason and nothing is stored. Checked before the insert, so
only for logs that could be over a cap: a cap is at least 1, so `/pg 1 connect` (most logs)
never reads anything for it; a bigger log reads one small indexed row set.
"""

from __future__ import annotations

from datetime import datetime
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
        if row.region_ids and region_id not in row.region_ids:
            continue
        if row.counts == COUNT_VERIFIED and not is_verified(source):
            continue  # a typed log doesn't count there: its size changes nothing
        start, end = local_to_utc(local_date, row.start_local, tz), local_to_utc(local_date, row.end_local, tz)
        if start <= now < end:
            kind = ACTIVITY_TYPES[activity_type]
            raise Conflict(
                f"During {row.name} (until {row.end_local:%H:%M}) one log can hold at most "
                f"{row.max_per_log} {kind.label(row.max_per_log)}; {quantity:g} is over that, so nothing was saved.",
                f"Log them as they happen, up to {row.max_per_log} at a time.",
            )


@cache
def _capped_statement() -> Select[Any]:
    competitions = Competition.__table__
    return select(
        competitions.c.name,
        competitions.c.region_ids,
        competitions.c.start_local,
        competitions.c.end_local,
        competitions.c.counts,
        competitions.c.max_per_log,
    ).where(
        competitions.c.team_id == bindparam("team_id"),
        competitions.c.active.is_(True),
        competitions.c.weekday == bindparam("weekday"),
        competitions.c.metric == bindparam("metric"),
        competitions.c.max_per_log < bindparam("quantity"),
    )
