"""The goal board (`/pg board by goal`): everyone ranked by percent of this week's goal, so a
ramping rep and a veteran compete evenly. Goals and weekly progress: bot.domain.goal_store."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.boards import Board
from bot.domain.errors import Conflict
from bot.domain.goal_store import MemberWeek, team_week
from bot.domain.goals import floor_percent
from bot.domain.ranking import Standing, rank_standings
from bot.domain.windows import Window, period_window
from models import Activity, Region
from models.entities import counted_activities


def goal_board(
    session: Session,
    team_id: str,
    regions: Sequence[Region] | None,
    activity_type: str | None,
    period: str | None,
    now: datetime,
    tz_name: str,
) -> Board:
    """Rank by percent of this week's goal, so a ramping rep and a veteran compete evenly.

    With a type: that type's raw percent (over-delivery counts). Without one: overall
    attainment, each goal capped at 100%, so piling up emails cannot hide a missed meeting
    goal. Percentages are whole (rounded down, as the progress bars show them), so people who
    see the same number share a rank. Only people with some progress are listed; a region means
    the people in it now (goals belong to people, not to where a log was made).
    """
    if period not in (None, "week"):
        raise Conflict("Goals are weekly, so `by goal` ranks this week only.", "Try `/pg board by goal`.")
    region_ids = None if regions is None else [r.id for r in regions]
    scopes: list[int | None] = list(region_ids) if region_ids is not None else [None]
    weeks = [week for rid in scopes for week in team_week(session, team_id, now, region_id=rid)]
    last_logs = _last_log_times(session, team_id, weeks)
    standings = [
        Standing(
            week.member.id,
            week.member.display_name,
            percent,
            last_logs[week.member.id],
            week.member.role == "leader",
            week.member.user_id,
        )
        for week in weeks
        if (percent := _goal_percent(week, activity_type)) > 0 and week.member.id in last_logs
    ]
    scope = "All regions" if regions is None else ", ".join(r.name for r in regions)
    window = period_window("week", now, ZoneInfo(tz_name))
    return Board(scope, activity_type or "goal", window, tz_name, rank_standings(standings), by_goal=True)


def _goal_percent(week: MemberWeek, activity_type: str | None) -> float:
    if activity_type is None:
        return float(floor_percent(week.attainment or 0.0))
    target = week.goals.get(activity_type)
    if not target:
        return 0.0
    return float(floor_percent(week.totals.get(activity_type, 0.0) / target))


def _last_log_times(session: Session, team_id: str, weeks: list[MemberWeek]) -> dict[int, datetime]:
    """When each member last logged within their week: the tie-break (earlier finisher first)."""
    result: dict[int, datetime] = {}
    for window, ids in _ids_by_window(weeks).items():
        rows = session.execute(
            select(Activity.member_id, func.max(Activity.occurred_at))
            .where(
                Activity.team_id == team_id,
                Activity.member_id.in_(ids),
                Activity.occurred_at >= window.start,
                Activity.occurred_at < window.end,
                counted_activities(),
            )
            .group_by(Activity.member_id)
        )
        result.update({member_id: last for member_id, last in rows})
    return result


def _ids_by_window(weeks: list[MemberWeek]) -> dict[Window, list[int]]:
    groups: dict[Window, list[int]] = defaultdict(list)
    for week in weeks:
        if week.totals:
            groups[week.window].append(week.member.id)
    return groups
