"""A member's job (AE or SDR), region and name, as an admin or manager sets them.

The job decides which weekly goal defaults apply (bot.domain.goals.DEFAULT_GOALS) and
which job-level overrides (`pipeday goals set --job sdr`) reach the member.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from bot.domain.directory import JOBS, MAX_DISPLAY_NAME, audit, ensure_member, require_region
from bot.domain.errors import Conflict
from bot.domain.text_input import require_plain_text
from models import Member, Region

JOB_TITLES = {"ae": "AE", "sdr": "SDR"}


@dataclass(frozen=True)
class MemberChange:
    """What changed on one member (`before` and `after` per field), for the confirmation."""

    member: Member
    changes: dict[str, tuple[str | None, str | None]]


def require_job(job: str) -> str:
    """`ae` or `sdr` (any case); Conflict naming the jobs for anything else."""
    chosen = job.strip().lower()
    if chosen not in JOBS:
        raise Conflict(f"`{job}` isn't a job.", "Jobs: " + " or ".join(JOBS) + ".")
    return chosen


def set_job(session: Session, team_id: str, actor: str, user_id: str, job: str) -> MemberChange:
    """Make `user_id` an AE or an SDR (added as a rep if Pipeday hasn't met them yet)."""
    return update_member(session, team_id, actor, user_id, job=job)


def update_member(
    session: Session,
    team_id: str,
    actor: str,
    user_id: str,
    *,
    job: str | None = None,
    region_name: str | None = None,
    display_name: str | None = None,
    slack_name: bool = False,
) -> MemberChange:
    """Change any of a member's job, region and display name; everything is checked before
    anything changes, and the change is audited. A name set here stays (Slack's name no
    longer replaces it) until `slack_name` hands the name back to Slack."""
    if slack_name and display_name is not None:
        raise Conflict("Give a name, or go back to Slack's name, not both.", "Use --name or --slack-name.")
    new_job = require_job(job) if job is not None else None
    region = require_region(session, team_id, region_name) if region_name is not None else None
    new_name = _display_name(display_name) if display_name is not None else None
    member = ensure_member(session, team_id, user_id, user_id)
    changes: dict[str, tuple[str | None, str | None]] = {}
    if new_job is not None and new_job != member.job:
        changes["job"] = (member.job, new_job)
        member.job = new_job
    if region is not None and region.id != member.region_id:
        changes["region"] = (member.region.name if member.region else None, region.name)
        member.region_id, member.region = region.id, region
    if new_name is not None and (new_name != member.display_name or not member.name_pinned):
        changes["name"] = (member.display_name, new_name)
        member.display_name, member.name_pinned = new_name, True
    if slack_name and member.name_pinned:
        changes["name"] = (member.display_name, "(Slack's name)")
        # Read from Slack on their next command, as for someone new.
        member.name_pinned, member.name_refreshed_at = False, None
    session.flush()
    if changes:
        audit(session, team_id, actor, "member.update", user_id, {k: list(v) for k, v in changes.items()})
    return MemberChange(member, changes)


def _display_name(name: str) -> str:
    cleaned = require_plain_text(name, "Names")
    if not cleaned:
        raise Conflict("A display name can't be empty.", 'Give the name people know, e.g. --name "Jordan Brooks".')
    if len(cleaned) > MAX_DISPLAY_NAME:
        raise Conflict(f"Names are limited to {MAX_DISPLAY_NAME} characters; this one has {len(cleaned):,}.")
    return cleaned


def list_members(session: Session, team_id: str, region_name: str | None = None) -> list[Member]:
    """Members of a workspace (or of one region), by region then name."""
    query = select(Member).options(joinedload(Member.region)).where(Member.team_id == team_id)
    if region_name is not None:
        query = query.where(Member.region_id == require_region(session, team_id, region_name).id)
    query = query.outerjoin(Region, Region.id == Member.region_id).order_by(
        Region.name_key.is_(None), Region.name_key, func.lower(Member.display_name), Member.user_id
    )
    return list(session.scalars(query))
