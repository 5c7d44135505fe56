"""The Monday goals kickoff: this week's goals per job at the ramp, and the ramp step it announces.

Shared by the scheduled post (bot.scheduler.jobs) and `pipeday jobs run goals_kickoff --preview`
(bot.scheduler.preview), which builds it in a transaction it rolls back.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.blocks.common import Message
from bot.blocks.summary import JobGoals, goals_kickoff_message
from bot.domain.directory import require_region_id
from bot.domain.goal_store import REP_ROLES, load_goal_layers, ramp_fraction
from bot.domain.goals import DEFAULT_GOALS, apply_ramp
from bot.domain.ramp_store import advance_ramp, ramp_changes_for_week
from bot.domain.windows import local_midnight_utc, week_start
from bot.posting.competition_posts import require_channel
from models import Member, Region


def goals_kickoff_content(session: Session, region_id: int, local_date: date, now: datetime) -> tuple[str, Message]:
    """The region's channel and its goals kickoff for the week of `local_date`.

    Steps the workspace's ramp first when the judged week is over everywhere (a write: the
    caller's transaction keeps it, or a preview rolls it back).
    """
    monday = week_start(local_date)
    region = require_region_id(session, region_id)
    channel = require_channel(region)
    # Once per workspace and week, and only when the judged week is over everywhere: APAC's
    # Monday morning is still Sunday in the Americas. Later regions' kickoffs announce it.
    if _week_over_in_every_region(session, region.team_id, monday, now):
        advance_ramp(session, region.team_id, monday, now)
    changes = ramp_changes_for_week(session, region.team_id, monday)
    fraction = ramp_fraction(session, region.team_id)
    by_job = _region_goals_by_job(session, region, fraction)
    return channel, goals_kickoff_message(region.name, f"{monday:%a %d %b}", by_job, fraction, changes)


def _week_over_in_every_region(session: Session, team_id: str, monday: date, now: datetime) -> bool:
    zones = session.scalars(select(Region.tz).where(Region.team_id == team_id)).all()
    return all(now >= local_midnight_utc(monday, ZoneInfo(tz)) for tz in zones)


def _region_goals_by_job(session: Session, region: Region, fraction: float) -> list[JobGoals]:
    """The region-wide goals per job (member-specific overrides aside), at this week's ramp."""
    layers = load_goal_layers(session, region.team_id)
    people = {job: 0 for job in DEFAULT_GOALS}
    jobs = session.scalars(select(Member.job).where(Member.region_id == region.id, Member.role.in_(REP_ROLES)))
    for job in jobs:
        people[job if job in people else "ae"] += 1
    groups = []
    for job, count in people.items():
        # A stand-in member: never added to the session, it only carries the job and region.
        full = layers.full_goals(Member(team_id=region.team_id, job=job, region_id=region.id))
        groups.append(JobGoals(job, apply_ramp(full, fraction), count))
    return groups
