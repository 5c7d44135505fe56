"""`/pg plan` against the database: measured conversion rates, the rep's pace, then `planner.plan`.

Rates come from the trailing 90 days of logs. A region's own rates are used when its data
measures every stage of the funnel (its reps convert the way *they* convert); otherwise the
whole workspace's, and any stage still short of data falls back to the documented default
(the plan says which).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.activities import member_totals
from bot.domain.planner import Period, Plan, RateEstimate, StagePair, measured_rates, plan
from bot.domain.windows import Window
from models import Activity, Member, Region

TRAILING_DAYS = 90
# The rep's "current weekly pace" is their average over the last four weeks: one slow
# Monday shouldn't read as "behind on everything", one great week shouldn't hide a trend.
PACE_WEEKS = 4
MAX_PLAN_DEALS = 1_000
# Windows are half-open; a log stamped exactly "now" belongs in them.
_JUST_AFTER = timedelta(microseconds=1)


@dataclass(frozen=True)
class PlanResult:
    plan: Plan
    rates_from: str  # "AMER" (a region's own rates) or "the workspace"
    since: datetime
    until: datetime
    pace_weeks: int


def activity_totals(
    session: Session,
    team_id: str,
    start: datetime,
    end: datetime,
    region_id: int | None = None,
    types: tuple[str, ...] | None = None,
) -> dict[str, float]:
    """Totals per activity type in [start, end), for the workspace or the activity logged in one
    region; only `types` when given (which lets the (team, region, type, time) index seek each)."""
    query = (
        select(Activity.type, func.sum(Activity.quantity))
        .where(
            Activity.team_id == team_id,
            Activity.occurred_at >= start,
            Activity.occurred_at < end,
            Activity.deleted_at.is_(None),
        )
        .group_by(Activity.type)
    )
    if region_id is not None:
        query = query.where(Activity.region_id == region_id)
    if types is not None:
        query = query.where(Activity.type.in_(types))
    return {activity_type: float(total) for activity_type, total in session.execute(query)}


def choose_rates(
    session: Session, team_id: str, region: Region | None, start: datetime, end: datetime
) -> tuple[dict[StagePair, RateEstimate], str]:
    """The region's measured rates when they cover every stage, else the workspace's (defaults where short)."""
    if region is not None:
        regional = measured_rates(activity_totals(session, team_id, start, end, region.id))
        if all(estimate.source == "measured" for estimate in regional.values()):
            return regional, region.name
    return measured_rates(activity_totals(session, team_id, start, end)), "the workspace"


def weekly_pace(session: Session, member: Member, now: datetime) -> dict[str, float]:
    """The member's average activity per week over the last PACE_WEEKS weeks."""
    window = Window("pace", now - timedelta(weeks=PACE_WEEKS), now + _JUST_AFTER, now.date(), now.date())
    return {kind: total / PACE_WEEKS for kind, total in member_totals(session, member.id, window).items()}


def plan_for(
    session: Session, team_id: str, member: Member | None, deals: int, period: Period, now: datetime
) -> PlanResult:
    """The funnel needed for `deals` in `period`, compared with the member's pace (no comparison for strangers)."""
    since = now - timedelta(days=TRAILING_DAYS)
    region = member.region if member is not None else None
    rates, rates_from = choose_rates(session, team_id, region, since, now + _JUST_AFTER)
    pace = weekly_pace(session, member, now) if member is not None else None
    result = plan(deals, period, rates, current_weekly_pace=pace)
    return PlanResult(plan=result, rates_from=rates_from, since=since, until=now, pace_weeks=PACE_WEEKS)
