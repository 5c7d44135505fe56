"""Workspaces, regions, members and roles."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session, joinedload

from bot.domain.errors import Conflict, NotFound, PermissionDenied
from bot.domain.member_roles import JOBS as JOBS
from bot.domain.member_roles import ROLES
from bot.domain.text_input import clean_name, require_plain_text
from models import AuditLog, Member, Region, Workspace
from models.claims import updated_rows

_REGION_NAME = re.compile(r"^[A-Za-z0-9][\w-]{0,31}$")
MAX_DISPLAY_NAME = 200  # members.display_name
# A member's name is read from Slack again once it is this old (user_change events keep it
# current in between when the app is subscribed to them).
NAME_MAX_AGE = timedelta(days=1)
# After a failed read, the next try comes this much later instead of on every command.
NAME_RETRY_DELAY = timedelta(minutes=15)


def ensure_workspace(session: Session, team_id: str) -> Workspace:
    workspace = session.get(Workspace, team_id)
    if workspace is None:
        workspace = Workspace(team_id=team_id, settings={})
        session.add(workspace)
        session.flush()
    return workspace


def validate_time_zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise NotFound(
            f"`{tz}` isn't a time zone I know.", "Use an IANA name such as America/New_York or Europe/London."
        ) from None


def add_region(session: Session, team_id: str, name: str, tz: str, channel_id: str | None, actor: str) -> Region:
    if not _REGION_NAME.match(name) or name.lower() == "all":
        raise Conflict(f"`{name}` can't be a region name.", "Use letters, digits, - or _ (up to 32), e.g. AMER.")
    validate_time_zone(tz)
    ensure_workspace(session, team_id)
    if find_region(session, team_id, name) is not None:
        raise Conflict(f"Region {name} already exists.")
    region = Region(team_id=team_id, name=name, name_key=name.lower(), tz=tz, channel_id=channel_id)
    session.add(region)
    session.flush()
    audit(session, team_id, actor, "region.add", name, {"tz": tz, "channel_id": channel_id})
    return region


def update_region(
    session: Session, team_id: str, name: str, *, tz: str | None, channel_id: str | None, actor: str
) -> Region:
    """Change a region's time zone and/or announcement channel."""
    region = require_region(session, team_id, name)
    changes: dict[str, object] = {}
    if tz is not None:
        validate_time_zone(tz)
        changes["tz"], region.tz = tz, tz
    if channel_id is not None:
        changes["channel_id"], region.channel_id = channel_id, channel_id
    session.flush()
    audit(session, team_id, actor, "region.update", region.name, changes)
    return region


def find_region(session: Session, team_id: str, name: str) -> Region | None:
    # No region name holds a control character; PostgreSQL would refuse the query outright.
    require_plain_text(name, "Region names")
    return session.scalars(
        select(Region).where(Region.team_id == team_id, Region.name_key == name.lower())
    ).one_or_none()


def require_region(session: Session, team_id: str, name: str) -> Region:
    region = find_region(session, team_id, name)
    if region is None:
        known = ", ".join(r.name for r in list_regions(session, team_id)) or "none yet — an admin adds them"
        raise NotFound(f"There's no region called `{name}`.", f"Regions: {known}.")
    return region


def named_or_own_region(session: Session, team_id: str, user_id: str, region_name: str | None, verb: str) -> Region:
    """The region a manager means by `/pg <verb> [region]`: the one named, else their own."""
    if region_name:
        return require_region(session, team_id, region_name)
    member = get_member(session, team_id, user_id)
    if member is None or member.region is None:
        raise Conflict(f"Which region? Name it, e.g. `/pg {verb} AMER`.")
    return member.region


def list_regions(session: Session, team_id: str) -> list[Region]:
    return list(session.scalars(select(Region).where(Region.team_id == team_id).order_by(Region.name_key)))


def require_region_id(session: Session, region_id: int) -> Region:
    """The region a scheduled job names by id (it may have been removed since)."""
    region = session.get(Region, region_id)
    if region is None:
        raise LookupError(f"region {region_id} no longer exists")
    return region


def get_member(session: Session, team_id: str, user_id: str) -> Member | None:
    # The region comes along in the same query: every caller shows or uses it.
    return session.scalars(
        select(Member).options(joinedload(Member.region)).where(Member.team_id == team_id, Member.user_id == user_id)
    ).one_or_none()


def ensure_member(session: Session, team_id: str, user_id: str, display_name: str) -> Member:
    """The member, created on first use with `display_name` as a placeholder (the slash
    command's user_name or the user id) until their name is read from Slack."""
    require_plain_text(user_id, "User ids")  # the CLI takes them as typed
    member = get_member(session, team_id, user_id)
    if member is None:
        ensure_workspace(session, team_id)
        name = clean_name(display_name, user_id, MAX_DISPLAY_NAME)
        member = Member(team_id=team_id, user_id=user_id, display_name=name, role="rep", job="ae")
        session.add(member)
        session.flush()
    return member


@dataclass(frozen=True)
class MemberRef:
    """What logging needs to know about a member: read in one query, no ORM identity map.

    `/pg 1 connect` is the hottest path in the app; building ORM objects for it cost more
    CPU than the database work itself (bench/README.md).
    """

    id: int
    team_id: str
    user_id: str
    region_id: int | None
    region_name: str | None
    tz: str | None
    name_refreshed_at: datetime | None
    name_pinned: bool

    @classmethod
    def of(cls, member: Member) -> MemberRef:
        region = member.region
        return cls(
            member.id,
            member.team_id,
            member.user_id,
            member.region_id,
            region.name if region else None,
            region.tz if region else None,
            member.name_refreshed_at,
            member.name_pinned,
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz or "UTC")


def find_member_ref(session: Session, team_id: str, user_id: str) -> MemberRef | None:
    row = session.execute(_member_ref_statement(), {"team_id": team_id, "user_id": user_id}).one_or_none()
    return None if row is None else MemberRef(*row)


def ensure_member_ref(session: Session, team_id: str, user_id: str, display_name: str) -> MemberRef:
    """`ensure_member` for the logging path: one Core query when the member exists (nearly always)."""
    found = find_member_ref(session, team_id, user_id)
    return found if found is not None else MemberRef.of(ensure_member(session, team_id, user_id, display_name))


def find_member_refs(session: Session, team_id: str, user_ids: set[str]) -> dict[str, MemberRef]:
    """`find_member_ref` for many Slack user ids in one query: those that exist, by user id."""
    if not user_ids:
        return {}
    rows = session.execute(_member_refs_statement(), {"team_id": team_id, "user_ids": sorted(user_ids)})
    return {ref.user_id: ref for ref in (MemberRef(*row) for row in rows)}


def _member_ref_columns() -> Select[Any]:
    """MemberRef's columns, in its order, with the member's region."""
    members, regions = Member.__table__, Region.__table__
    return select(
        members.c.id,
        members.c.team_id,
        members.c.user_id,
        members.c.region_id,
        regions.c.name,
        regions.c.tz,
        # so the log path needs no query of its own to see a stale name
        members.c.name_refreshed_at,
        members.c.name_pinned,
    ).select_from(members.outerjoin(regions, regions.c.id == members.c.region_id))


# Built once, so each log (or ingested chunk) skips rebuilding the statement and its cache key.
@cache
def _member_ref_statement() -> Select[Any]:
    members = Member.__table__
    return _member_ref_columns().where(
        members.c.team_id == bindparam("team_id"), members.c.user_id == bindparam("user_id")
    )


@cache
def _member_refs_statement() -> Select[Any]:
    members = Member.__table__
    return _member_ref_columns().where(
        members.c.team_id == bindparam("team_id"), members.c.user_id.in_(bindparam("user_ids", expanding=True))
    )


@dataclass(frozen=True)
class JoinResult:
    region: Region
    previous_region: str | None
    member: Member


def join_region(session: Session, team_id: str, user_id: str, display_name: str, region_name: str) -> JoinResult:
    region = require_region(session, team_id, region_name)
    member = ensure_member(session, team_id, user_id, display_name)
    previous = member.region.name if member.region else None
    member.region_id = region.id
    member.region = region
    # `display_name` only names a new member until Slack's name is read: it must not
    # overwrite a name that came from Slack.
    session.flush()
    return JoinResult(region=region, previous_region=previous, member=member)


# --- names from Slack ---------------------------------------------------------------------------


class NamedMember(Protocol):
    """What says whether a member's name is due: a Member, or the log path's MemberRef."""

    @property
    def id(self) -> int: ...
    @property
    def name_refreshed_at(self) -> datetime | None: ...
    @property
    def name_pinned(self) -> bool: ...


def name_is_stale(member: NamedMember, now: datetime) -> bool:
    """Whether a member's name is due to be read from Slack again (never, once set by hand)."""
    if member.name_pinned:
        return False
    return member.name_refreshed_at is None or now - member.name_refreshed_at >= NAME_MAX_AGE


def claim_name_refresh(session: Session, member_id: int, now: datetime) -> bool:
    """Take the member's name refresh for this caller; False when it isn't due any more
    (another request took it, or a user_change event brought the name up to date).

    One compare-and-set UPDATE, so commands racing each other read Slack once between them."""
    due = and_(
        Member.name_pinned.is_(False),
        or_(Member.name_refreshed_at.is_(None), Member.name_refreshed_at <= now - NAME_MAX_AGE),
    )
    claim = (
        update(Member)
        .where(Member.id == member_id, due)
        .values(name_refreshed_at=now)
        .execution_options(synchronize_session=False)
    )
    return updated_rows(session, claim) == 1


def store_slack_name(session: Session, team_id: str, user_id: str, name: str | None, now: datetime) -> Member | None:
    """Store the name Slack shows for a member (from users.info or a user_change event).

    None or nothing printable keeps the name they have. Not a member, or a name set by hand:
    nothing is stored."""
    member = session.scalars(select(Member).where(Member.team_id == team_id, Member.user_id == user_id)).one_or_none()
    if member is None or member.name_pinned:
        return None
    member.display_name = clean_name(name, member.display_name, MAX_DISPLAY_NAME)
    member.name_refreshed_at = now
    session.flush()
    return member


def postpone_name_refresh(session: Session, member_id: int, now: datetime) -> None:
    """Slack didn't answer: keep the name, and try again NAME_RETRY_DELAY from now."""
    session.execute(
        update(Member)
        .where(Member.id == member_id)
        .values(name_refreshed_at=now - NAME_MAX_AGE + NAME_RETRY_DELAY)
        .execution_options(synchronize_session=False)
    )


def set_role(session: Session, team_id: str, actor: str, user_id: str, role: str) -> Member:
    if role not in ROLES:
        raise Conflict(f"`{role}` isn't a role.", "Roles: " + ", ".join(ROLES))
    member = ensure_member(session, team_id, user_id, user_id)
    old = member.role
    member.role = role
    session.flush()
    audit(session, team_id, actor, "member.role", user_id, {"from": old, "to": role})
    return member


def is_admin(member: Member | None, user_id: str, configured_admins: Iterable[str]) -> bool:
    return user_id in set(configured_admins) or (member is not None and member.role == "admin")


def is_manager(member: Member | None, user_id: str, configured_admins: Iterable[str]) -> bool:
    if is_admin(member, user_id, configured_admins):
        return True
    return member is not None and member.role == "manager"


def require_admin(allowed: bool, what: str) -> None:
    if not allowed:
        raise PermissionDenied(f"Only admins can {what}.", "Ask a Pipeday admin (see `pipeday role set`).")


def audit(
    session: Session,
    team_id: str,
    actor: str,
    action: str,
    target: str | None,
    details: dict[str, object],
    at: datetime | None = None,
) -> None:
    """Record who did what; `at` is the caller's clock where it has one (an injected `now`)."""
    entry = AuditLog(team_id=team_id, actor=actor, action=action, target=target, details=details)
    if at is not None:
        entry.created_at = at
    session.add(entry)


def workspace_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Workspace.team_id).order_by(Workspace.team_id)))


def region_member_count(session: Session, region_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Member).where(Member.region_id == region_id)) or 0
