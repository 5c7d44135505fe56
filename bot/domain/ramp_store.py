"""The weekly goal ramp against the database: its policy, the Monday step and its history.

The ramp scales every full target by one workspace-wide fraction (read by
`bot.domain.goal_store.ramp_fraction`). The stepping rule itself lives in the pure module
`bot.domain.goals` (`next_ramp`); this module judges the team's week, stores the new fraction
and records every change so the weekly goals message can announce it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.directory import audit, ensure_workspace
from bot.domain.goal_store import REP_ROLES, GoalLayers, load_goal_layers, team_members, weeks_of
from bot.domain.goals import RampPolicy, RampState, attainment, next_ramp, percent_text
from bot.domain.windows import week_start as monday_of
from bot.domain.windows import week_window
from models import GoalRamp, GoalRampChange


def get_ramp(session: Session, team_id: str) -> GoalRamp | None:
    return session.get(GoalRamp, team_id)


def ramp_policy(ramp: GoalRamp) -> RampPolicy:
    return RampPolicy(
        start_fraction=ramp.start_fraction,
        step=ramp.step,
        weeks_to_step=ramp.weeks_to_step,
        team_hit_threshold=ramp.team_hit_threshold,
        max_fraction=ramp.max_fraction,
    )


def configure_ramp(
    session: Session, team_id: str, policy: RampPolicy, *, actor: str, now: datetime, restart: bool = False
) -> GoalRamp:
    """Turn the ramp on or change its policy.

    A new ramp (or `restart`) starts at `start_fraction`. Otherwise the team keeps its place,
    moved into [start, max] if the new bounds exclude it — never lowered below a raised start,
    never left above a lowered maximum. Any change of the fraction is recorded.
    """
    ensure_workspace(session, team_id)
    ramp = session.get(GoalRamp, team_id)
    old = ramp.fraction if ramp is not None else 1.0
    if ramp is None:
        start = policy.initial_state()
        ramp = GoalRamp(team_id=team_id, fraction=start.fraction, streak_weeks=start.streak_weeks)
        session.add(ramp)
    elif restart:
        start = policy.initial_state()
        ramp.fraction, ramp.streak_weeks = start.fraction, start.streak_weeks
    else:
        ramp.fraction = min(max(ramp.fraction, policy.start_fraction), policy.max_fraction)
    ramp.start_fraction, ramp.step, ramp.weeks_to_step = policy.start_fraction, policy.step, policy.weeks_to_step
    ramp.team_hit_threshold, ramp.max_fraction = policy.team_hit_threshold, policy.max_fraction
    ramp.updated_at = now
    session.flush()
    if not math.isclose(old, ramp.fraction):
        reason = f"Goal ramp set: weekly goals are now {percent_text(ramp.fraction)} of the full targets (were {percent_text(old)})."
        _record_change(session, team_id, monday_of(now.date()), old, ramp.fraction, reason, None, actor, now)
    audit(session, team_id, actor, "ramp.set", None, _policy_details(policy))
    return ramp


def disable_ramp(session: Session, team_id: str, *, actor: str, now: datetime) -> bool:
    """Turn the ramp off: goals go back to their full targets."""
    ramp = session.get(GoalRamp, team_id)
    if ramp is None:
        return False
    old = ramp.fraction
    session.delete(ramp)
    session.flush()
    if not math.isclose(old, 1.0):
        reason = f"Goal ramp turned off: weekly goals are back to the full targets (were {percent_text(old)})."
        _record_change(session, team_id, monday_of(now.date()), old, 1.0, reason, None, actor, now)
    audit(session, team_id, actor, "ramp.off", None, {})
    return True


def team_attainment(session: Session, team_id: str, monday: date, fraction: float) -> float | None:
    """How well the reps together met their goals in the week starting `monday` (each region's local week).

    Team goals are the sum of every rep's goals at `fraction`; team totals the sum of their logs.
    Each type is capped at 100% before averaging, like a single member's attainment. None when
    no rep has a goal (nothing to hit or miss).
    """
    goals, totals = _team_sums(session, team_id, monday, load_goal_layers(session, team_id), fraction)
    return attainment(goals, totals) if goals else None


def _team_sums(
    session: Session, team_id: str, monday: date, layers: GoalLayers, fraction: float
) -> tuple[dict[str, float], dict[str, float]]:
    goals: dict[str, float] = defaultdict(float)
    totals: dict[str, float] = defaultdict(float)
    reps = [m for m in team_members(session, team_id, None, REP_ROLES) if m.region_id is not None]
    for week in weeks_of(session, team_id, reps, layers, fraction, lambda tz: week_window(monday, tz)):
        for activity_type, target in week.goals.items():
            goals[activity_type] += target
            totals[activity_type] += week.totals.get(activity_type, 0.0)
    return dict(goals), dict(totals)


def advance_ramp(session: Session, team_id: str, week_start: date, now: datetime) -> GoalRampChange | None:
    """The weekly step, for the scheduler's Monday job.

    `week_start` is the Monday of the week that is starting; the week before it is judged.
    Runs at most once per week (re-runs return None), never lowers goals after a miss, and
    records every change of the fraction. Returns the recorded change (its `reason` is the
    sentence for the weekly goals message) or None when the fraction stayed put or there is
    no ramp.
    """
    if week_start.weekday() != 0:
        raise ValueError(f"week_start must be a Monday, got {week_start} ({week_start:%A})")
    ramp = session.get(GoalRamp, team_id, with_for_update=True)
    if ramp is None or (ramp.last_week_start is not None and week_start <= ramp.last_week_start):
        return None
    judged = week_start - timedelta(days=7)
    team_hit = team_attainment(session, team_id, judged, ramp.fraction)
    state, change = next_ramp(ramp_policy(ramp), RampState(ramp.fraction, ramp.streak_weeks), team_hit)
    ramp.fraction, ramp.streak_weeks = state.fraction, state.streak_weeks
    ramp.last_week_start, ramp.updated_at = week_start, now
    session.flush()
    if change is None:
        return None
    return _record_change(
        session,
        team_id,
        week_start,
        change.old_fraction,
        change.new_fraction,
        change.reason,
        team_hit,
        "scheduler",
        now,
    )


def ramp_history(session: Session, team_id: str, limit: int = 20) -> list[GoalRampChange]:
    return list(
        session.scalars(
            select(GoalRampChange)
            .where(GoalRampChange.team_id == team_id)
            .order_by(GoalRampChange.created_at.desc(), GoalRampChange.id.desc())
            .limit(limit)
        )
    )


def ramp_changes_for_week(session: Session, team_id: str, week_start: date) -> list[GoalRampChange]:
    """Changes to announce in the weekly goals message of the week starting `week_start`."""
    return list(
        session.scalars(
            select(GoalRampChange)
            .where(GoalRampChange.team_id == team_id, GoalRampChange.week_start == week_start)
            .order_by(GoalRampChange.id)
        )
    )


def _record_change(
    session: Session,
    team_id: str,
    monday: date,
    old: float,
    new: float,
    reason: str,
    team_hit: float | None,
    actor: str,
    now: datetime,
) -> GoalRampChange:
    change = GoalRampChange(
        team_id=team_id,
        week_start=monday,
        old_fraction=old,
        new_fraction=new,
        reason=reason[:500],
        team_attainment=team_hit,
        actor=actor,
        created_at=now,
    )
    session.add(change)
    session.flush()
    return change


def _policy_details(policy: RampPolicy) -> dict[str, object]:
    return {
        "start": policy.start_fraction,
        "step": policy.step,
        "weeks": policy.weeks_to_step,
        "threshold": policy.team_hit_threshold,
        "max": policy.max_fraction,
    }
