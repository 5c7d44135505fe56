"""What a batch of ingested activities created, for what follows it: the open competition days
it changes (the batch API, `pipeday import`), found with as few reads as the batch allows (its
live standings are then refreshed once per day, not once per activity), and each created
activity as the flag rules see it (`IngestedActivity`, bot.domain.trust_ingested)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.domain import windows
from bot.domain.competition_days import LoggedFacts, day_window_of, days_touched_by, may_touch_a_day
from models import CompetitionDay, Region


@dataclass(frozen=True)
class IngestedFacts:
    """What a created activity tells about itself (bot.domain.competition_days.LoggedFacts)."""

    team_id: str
    region_id: int | None
    type: str
    occurred_at: datetime
    source: str


class IngestedActivity(NamedTuple):
    """One created activity, whose it is and where: what the flag rules check after the batch
    has committed and been answered (bot.domain.trust_ingested). A tuple: a batch makes a
    thousand of them, and a frozen dataclass costs several times as much to build."""

    activity_id: int
    team_id: str
    member_id: int
    region_id: int | None
    region_name: str | None
    tz: str | None  # the member's region's zone
    type: str
    quantity: float
    occurred_at: datetime  # UTC
    source: str


def days_touched_by_batch(session: Session, activities: Iterable[LoggedFacts]) -> list[int]:
    """Ids of the open competition days any of `activities` changes.

    An activity inside a day already found costs nothing; a (region, type, local weekday) on
    which no competition runs is ruled out by one cheap read (`may_touch_a_day`) for the
    whole batch; only the rest get the full check (`days_touched_by`)."""
    found: dict[int, CompetitionDay] = {}
    zones: dict[int, str | None] = {}
    ruled_out: set[tuple[int, str, int]] = set()
    for activity in sorted(activities, key=lambda activity: activity.occurred_at):
        region_id = activity.region_id
        if region_id is None or _inside_a_found_day(found.values(), activity):
            continue
        if region_id not in zones:
            region = session.get(Region, region_id)
            zones[region_id] = region.tz if region is not None else None
        tz = zones[region_id]
        if tz is None:
            continue
        weekday = windows.local_date(activity.occurred_at, ZoneInfo(tz)).weekday()
        candidate = (region_id, activity.type, weekday)
        if candidate in ruled_out:
            continue
        if not may_touch_a_day(session, activity, tz):
            ruled_out.add(candidate)
            continue
        for day in days_touched_by(session, activity):
            found[day.id] = day
    return sorted(found)


def _inside_a_found_day(days: Iterable[CompetitionDay], activity: LoggedFacts) -> bool:
    return any(
        day.region_id == activity.region_id
        and day.metric == activity.type
        and day_window_of(day).contains(activity.occurred_at)
        for day in days
    )
