"""Goals against the database: overrides, effective goals and weekly progress.

The rules themselves live in the pure module `bot.domain.goals`; this module loads what they
need and stores what they decide. Working days, holidays and streaks live in
`bot.domain.calendar_store`; the weekly goal ramp in `bot.domain.ramp_store`; the goal board
(ranking by percent of goal) in `bot.domain.goal_board`.

Override precedence, most specific first: member › region › job › team (everyone) › job default.
Overrides hold *full* targets; the workspace's ramp fraction scales every target, so a manager
sets the goal the team grows into, and the ramp decides how much of it applies this week.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.activities import member_totals, member_zone
from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.directory import JOBS, audit, ensure_workspace
from bot.domain.errors import Conflict
from bot.domain.goals import (
    DEFAULT_GOALS,
    GoalProgress,
    apply_ramp,
    attainment,
    progress,
    resolve_goals,
)
from bot.domain.windows import Window, period_window
from models import Activity, GoalOverride, GoalRamp, Member, Region
from models.entities import counted_activities
from models.goals import GOAL_SCOPES

# A weekly target above this is a typo (500 is the most one log may hold).
MAX_GOAL_TARGET = 10_000
# People whose attainment decides the team ramp and fills the manager's table.
REP_ROLES = ("rep",)


# --- scopes and overrides ---------------------------------------------------


@dataclass(frozen=True)
class GoalScope:
    """Who an override applies to: everyone, one job, one region or one member."""

    kind: str  # "team" | "job" | "region" | "member"
    job: str | None = None
    region: Region | None = None
    member: Member | None = None

    @property
    def key(self) -> str:
        if self.kind == "job":
            return f"job:{self.job}"
        if self.kind == "region":
            assert self.region is not None
            return f"region:{self.region.id}"
        if self.kind == "member":
            assert self.member is not None
            return f"member:{self.member.id}"
        return "team"

    def describe(self) -> str:
        if self.kind == "job":
            return f"every {str(self.job).upper()}"
        if self.kind == "region":
            assert self.region is not None
            return f"region {self.region.name}"
        if self.kind == "member":
            assert self.member is not None
            return self.member.display_name
        return "everyone"


def team_scope() -> GoalScope:
    return GoalScope("team")


def job_scope(job: str) -> GoalScope:
    if job not in JOBS:
        raise Conflict(f"`{job}` isn't a job.", "Jobs: " + ", ".join(JOBS))
    return GoalScope("job", job=job)


def region_scope(region: Region) -> GoalScope:
    return GoalScope("region", region=region)


def member_scope(member: Member) -> GoalScope:
    return GoalScope("member", member=member)


def parse_target(activity_type: str, text: str) -> float:
    """A weekly target as typed: whole numbers (hours in halves) from 0 to MAX_GOAL_TARGET."""
    kind = ACTIVITY_TYPES[activity_type]
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise Conflict(f"`{text}` isn't a number.", f"For example: {kind.plural} 20") from None
    step = Decimal("0.5") if kind.allows_halves else Decimal(1)
    # The range first: `%` on 1e999999 raises instead of answering.
    if not value.is_finite() or not 0 <= value <= MAX_GOAL_TARGET or value % step != 0:
        unit = "in halves" if kind.allows_halves else "whole numbers"
        raise Conflict(
            f"Weekly {kind.plural} goals go from 0 to {MAX_GOAL_TARGET:,}, {unit}; `{text}` isn't one.",
            "0 removes the goal.",
        )
    return float(value)


def set_goal(
    session: Session, team_id: str, scope: GoalScope, activity_type: str, target: float, *, actor: str, now: datetime
) -> GoalOverride:
    """Create or replace the override for (scope, type). A target of 0 removes that goal for the scope."""
    if activity_type not in ACTIVITY_TYPES:
        raise Conflict(f"`{activity_type}` isn't an activity type.")
    parse_target(activity_type, f"{target:g}")
    ensure_workspace(session, team_id)
    override = _find_override(session, team_id, scope, activity_type)
    if override is None:
        override = GoalOverride(
            team_id=team_id,
            scope=scope.kind,
            scope_key=scope.key,
            job=scope.job,
            region_id=scope.region.id if scope.region else None,
            member_id=scope.member.id if scope.member else None,
            activity_type=activity_type,
        )
        session.add(override)
    override.target = target
    override.updated_by = actor
    override.updated_at = now
    session.flush()
    audit(session, team_id, actor, "goal.set", scope.key, {"type": activity_type, "target": target})
    return override


def clear_goal(session: Session, team_id: str, scope: GoalScope, activity_type: str, *, actor: str) -> bool:
    """Remove the override so the next level (or the default) applies again. False if there was none."""
    override = _find_override(session, team_id, scope, activity_type)
    if override is None:
        return False
    session.delete(override)
    session.flush()
    audit(session, team_id, actor, "goal.clear", scope.key, {"type": activity_type})
    return True


def _find_override(session: Session, team_id: str, scope: GoalScope, activity_type: str) -> GoalOverride | None:
    return session.scalars(
        select(GoalOverride).where(
            GoalOverride.team_id == team_id,
            GoalOverride.scope_key == scope.key,
            GoalOverride.activity_type == activity_type,
        )
    ).one_or_none()


def list_overrides(session: Session, team_id: str) -> list[GoalOverride]:
    order = {kind: n for n, kind in enumerate(GOAL_SCOPES)}
    rows = session.scalars(select(GoalOverride).where(GoalOverride.team_id == team_id))
    return sorted(rows, key=lambda o: (order.get(o.scope, 9), o.scope_key, o.activity_type))


@dataclass(frozen=True)
class GoalLayers:
    """Every override of a workspace, loaded once and resolved per member in memory."""

    team: dict[str, float]
    by_job: dict[str, dict[str, float]]
    by_region: dict[int, dict[str, float]]
    by_member: dict[int, dict[str, float]]

    def full_goals(self, member: Member) -> dict[str, float]:
        """Full (un-ramped) weekly targets for one member."""
        job = member.job if member.job in DEFAULT_GOALS else "ae"
        shared = {
            **self.team,
            **self.by_job.get(job, {}),
            **(self.by_region.get(member.region_id, {}) if member.region_id is not None else {}),
        }
        return resolve_goals(job, shared, self.by_member.get(member.id, {}))


def load_goal_layers(session: Session, team_id: str) -> GoalLayers:
    team: dict[str, float] = {}
    by_job: dict[str, dict[str, float]] = defaultdict(dict)
    by_region: dict[int, dict[str, float]] = defaultdict(dict)
    by_member: dict[int, dict[str, float]] = defaultdict(dict)
    for override in session.scalars(select(GoalOverride).where(GoalOverride.team_id == team_id)):
        if override.scope == "member" and override.member_id is not None:
            by_member[override.member_id][override.activity_type] = override.target
        elif override.scope == "region" and override.region_id is not None:
            by_region[override.region_id][override.activity_type] = override.target
        elif override.scope == "job" and override.job:
            by_job[override.job][override.activity_type] = override.target
        elif override.scope == "team":
            team[override.activity_type] = override.target
    return GoalLayers(team, dict(by_job), dict(by_region), dict(by_member))


def ramp_fraction(session: Session, team_id: str) -> float:
    """The share of the full targets that applies this week (1.0 without a ramp)."""
    ramp = session.get(GoalRamp, team_id)
    return ramp.fraction if ramp is not None else 1.0


def effective_goals(session: Session, member: Member) -> dict[str, float]:
    """This week's targets for one member: overrides resolved, then scaled by the ramp."""
    full = load_goal_layers(session, member.team_id).full_goals(member)
    return apply_ramp(full, ramp_fraction(session, member.team_id))


# --- weekly progress --------------------------------------------------------


@dataclass(frozen=True)
class MemberWeek:
    """One member's goals and totals for one week, and how far along they are."""

    member: Member
    goals: dict[str, float]
    totals: dict[str, float]
    progress: list[GoalProgress]
    attainment: float | None
    window: Window

    @property
    def goals_met(self) -> int:
        return sum(1 for item in self.progress if item.met)


def member_week(
    session: Session, member: Member, now: datetime, *, layers: GoalLayers | None = None, fraction: float | None = None
) -> MemberWeek:
    """This week's goals and progress for one member, in their region's time zone.

    `layers` and `fraction`, when the caller has them already, save reading them again."""
    window = period_window("week", now, member_zone(member))
    layers = load_goal_layers(session, member.team_id) if layers is None else layers
    fraction = ramp_fraction(session, member.team_id) if fraction is None else fraction
    goals = apply_ramp(layers.full_goals(member), fraction)
    totals = member_totals(session, member.id, window)
    return _member_week(member, goals, totals, window)


def _member_week(member: Member, goals: dict[str, float], totals: dict[str, float], window: Window) -> MemberWeek:
    return MemberWeek(member, goals, totals, progress(goals, totals), attainment(goals, totals), window)


def team_week(
    session: Session,
    team_id: str,
    now: datetime,
    *,
    region_id: int | None = None,
    roles: Sequence[str] | None = None,
    layers: GoalLayers | None = None,
    fraction: float | None = None,
) -> list[MemberWeek]:
    """This week's goals and progress for every member (of one region, with one of `roles`), by name.

    Each region's own local week; one totals query per region, so a 300-person team costs a
    handful of queries.
    """
    members = team_members(session, team_id, region_id, roles)
    layers = load_goal_layers(session, team_id) if layers is None else layers
    fraction = ramp_fraction(session, team_id) if fraction is None else fraction
    weeks = weeks_of(session, team_id, members, layers, fraction, lambda tz: period_window("week", now, tz))
    return sorted(weeks, key=lambda week: (week.member.display_name.lower(), week.member.id))


def weeks_of(
    session: Session,
    team_id: str,
    members: Iterable[Member],
    layers: GoalLayers,
    fraction: float,
    window_of: Callable[[ZoneInfo], Window],
) -> list[MemberWeek]:
    """Goals and totals of `members` for the week `window_of` gives in each one's region's
    zone: one totals query per region."""
    weeks: list[MemberWeek] = []
    for region_key, group in _group_by_region(members).items():
        window = window_of(member_zone(group[0]))
        totals = _totals_by_member(session, team_id, region_key, window)
        for member in group:
            goals = apply_ramp(layers.full_goals(member), fraction)
            weeks.append(_member_week(member, goals, totals.get(member.id, {}), window))
    return weeks


def by_attainment(weeks: Iterable[MemberWeek]) -> list[MemberWeek]:
    """Best attainment first, people without goals last; ties keep their order (team_week's:
    by name)."""
    return sorted(weeks, key=lambda week: (week.attainment is None, -(week.attainment or 0.0)))


def team_members(session: Session, team_id: str, region_id: int | None, roles: Sequence[str] | None) -> list[Member]:
    query = select(Member).where(Member.team_id == team_id)
    if region_id is not None:
        query = query.where(Member.region_id == region_id)
    if roles is not None:
        query = query.where(Member.role.in_(list(roles)))
    return list(session.scalars(query.order_by(Member.id)))


def _group_by_region(members: Iterable[Member]) -> dict[int | None, list[Member]]:
    groups: dict[int | None, list[Member]] = defaultdict(list)
    for member in members:
        groups[member.region_id].append(member)
    return groups


def _totals_by_member(
    session: Session, team_id: str, region_id: int | None, window: Window
) -> dict[int, dict[str, float]]:
    """Totals per member and type for the members *currently* in `region_id` (None: in no region)."""
    region_match = Member.region_id.is_(None) if region_id is None else Member.region_id == region_id
    rows = session.execute(
        select(Activity.member_id, Activity.type, func.sum(Activity.quantity))
        .join(Member, Member.id == Activity.member_id)
        .where(
            Member.team_id == team_id,
            region_match,
            Activity.occurred_at >= window.start,
            Activity.occurred_at < window.end,
            counted_activities(),
        )
        .group_by(Activity.member_id, Activity.type)
    )
    totals: dict[int, dict[str, float]] = defaultdict(dict)
    for member_id, activity_type, total in rows:
        totals[member_id][activity_type] = float(total)
    return totals
