"""Ingested activity that arrives after a competition day has closed, inside what the day counted.

A dialer reports a call after the hang-up (Aircall's `call.ended` comes ~30 s later), a vendor
redelivers, the delivery runner retries for up to a few hours (bot.domain.deliveries.BACKOFF),
and `pipeday member link` replays parked activity: all of it can land after the day's results
are out. Such activity counts in the closed day's window, so the day is recounted with the
correction a void makes (bot.domain.competition_closing.correct_closed_day, reason
`LateArrival`): the standings are republished and, before the spin, the winners picked again.

The limit: late activity corrects a closed day until the end of the region's local day after
it (`corrects_until`): the next day's midnight in the region, at least 24 hours after any close.
That covers the delivery runner's retries (about 2½ hours before a delivery is parked) and
vendors' own redeliveries (HubSpot retries for about a day), while results that people have
acted on (and maybe spun for) don't move days later. Older arrivals still count on boards,
goals, streaks and weeks; they just don't reopen a competition's results (a parked item linked
a week later, an import of last month's calls).

Typed logs are logged at the current time, so they can't arrive late: only ingestion comes here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from bot.domain.activity_sources import counts_source
from bot.domain.competition_closing import Correction, LateArrival, correct_closed_day, counting_until
from bot.domain.competition_days import LoggedFacts
from bot.domain.live_standings import mark_pending
from bot.domain.windows import local_midnight_utc
from models import CompetitionDay, Region
from models.competitions import DAY_CLOSED

# Late activity corrects a day's results until the end of this many local days after it.
CORRECTABLE_DAYS_AFTER = 1
# Whoever a late arrival's correction is audited as.
LATE_ACTOR = "ingestion"


def corrects_until(day: CompetitionDay, tz: str) -> datetime:
    """Until when (UTC) late activity corrects `day`'s results: the end of the region's next day."""
    return local_midnight_utc(day.local_date + timedelta(days=CORRECTABLE_DAYS_AFTER + 1), ZoneInfo(tz))


def closed_days_touched_by_batch(
    session: Session, activities: Collection[LoggedFacts], now: datetime
) -> dict[int, tuple[str, ...]]:
    """{closed day id: the sources (as stored) of the batch's activities it counts}: the closed
    competition days, still open to correction at `now`, that any of `activities` falls in
    (region, metric, counted window up to `counting_until`, and the day's `counts`).

    One read for the whole batch (none when no activity has a region): the closed days of the
    batch's regions and metrics whose windows overlap the batch's span; the rest is matched here."""
    placed = [activity for activity in activities if activity.region_id is not None]
    if not placed:
        return {}
    earliest = min(activity.occurred_at for activity in placed)
    latest = max(activity.occurred_at for activity in placed)
    days = _correctable(
        session,
        now,
        CompetitionDay.team_id.in_({activity.team_id for activity in placed}),
        CompetitionDay.region_id.in_({activity.region_id for activity in placed}),
        CompetitionDay.metric.in_({activity.type for activity in placed}),
        CompetitionDay.window_start <= latest,
        CompetitionDay.window_end > earliest,
    )
    if not days:
        return {}
    touched: dict[int, set[str]] = defaultdict(set)
    for day in days:
        until = counting_until(day)
        for activity in placed:
            if (
                activity.team_id == day.team_id
                and activity.region_id == day.region_id
                and activity.type == day.metric
                and day.window_start <= activity.occurred_at < until
                and counts_source(day.counts, activity.source)
            ):
                touched[day.id].add(activity.source)
    return {day_id: tuple(sorted(sources)) for day_id, sources in touched.items()}


def correct_late_arrivals(
    session: Session, touched: dict[int, tuple[str, ...]], now: datetime, actor: str = LATE_ACTOR
) -> list[Correction]:
    """Recount each closed day late activity fell in (`closed_days_touched_by_batch`), once per
    day however many activities it got; the corrected days' live messages are due for an edit
    (they show the final standings). A day's row is locked while it is recounted, so two
    batches arriving together correct it one after the other."""
    corrections = []
    for day_id, sources in sorted(touched.items()):
        day = session.scalars(
            select(CompetitionDay)
            .where(CompetitionDay.id == day_id)
            .with_for_update()
            .execution_options(populate_existing=True)  # as committed by whoever held the lock
        ).one_or_none()
        if day is None:
            continue
        correction = correct_closed_day(session, day, now, actor=actor, late=LateArrival(sources))
        if correction is not None:
            corrections.append(correction)
    mark_pending(session, [c.day_id for c in corrections])
    return corrections


def correct_after_import(session: Session, team_id: str, source: str, now: datetime) -> list[Correction]:
    """After `pipeday import` (which keeps no list of what it stored, so memory stays flat over a
    million rows): the team's closed days still open to correction are recounted, and those
    whose standings changed are corrected as late activity from the import's `source` (as
    stored: `api:<name>`; rows naming their own source are told as the file's)."""
    touched: dict[int, tuple[str, ...]] = {day_id: (source,) for day_id in correctable_days(session, team_id, now)}
    return correct_late_arrivals(session, touched, now) if touched else []


def correctable_days(session: Session, team_id: str, now: datetime) -> list[int]:
    """The ids of the team's closed days still open to correction at `now`."""
    return [day.id for day in _correctable(session, now, CompetitionDay.team_id == team_id)]


def _correctable(session: Session, now: datetime, *where: ColumnElement[bool]) -> list[CompetitionDay]:
    """Closed days matching `where` whose results late activity may still correct at `now`."""
    # A day still open to correction is at most this old wherever its region is (the filter
    # that keeps the read to a handful of recent days; `corrects_until` decides exactly).
    oldest = (now - timedelta(days=CORRECTABLE_DAYS_AFTER + 2)).date()
    rows = session.execute(
        select(CompetitionDay, Region.tz)
        .join(Region, Region.id == CompetitionDay.region_id)
        .where(CompetitionDay.status == DAY_CLOSED, CompetitionDay.local_date >= oldest, *where)
    ).all()
    return [day for day, tz in rows if now < corrects_until(day, tz)]
