"""Weekly goals: defaults, override precedence, progress, text bars and the ramp.

Pure functions over plain data — no database, no Slack. Activity types are the
built-in strings ("account", "email", "call", "referral", "connect", "meeting",
"qbm", "opp", "pov", "deal", "hour"); jobs are "ae" and "sdr".

Typical flow for the weekly goals announcement::

    goals = resolve_goals(member.job, region_overrides, member_overrides)
    state, change = next_ramp(policy, state, attainment(team_goals, team_totals_last_week))
    this_week = apply_ramp(goals, state.fraction)
    lines = [f"{p.activity_type}: {progress_bar(p.fraction)}" for p in progress(this_week, totals)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

# Weekly targets per job. Returned by resolve_goals as copies, never mutated.
DEFAULT_GOALS: dict[str, dict[str, float]] = {
    # Straight from the playbook in the product spec: 10 target accounts,
    # 5 meetings, 5 referral/intro calls, 100 emails, 20 new calls a week.
    "ae": {"account": 10, "meeting": 5, "referral": 5, "email": 100, "call": 20},
    # SDRs live at the top of the funnel full time, so their volume goals are
    # roughly 2–3x an AE's (AEs also run deals): more accounts sequenced, twice
    # the emails and three times the dials. Connects get an explicit goal because
    # live conversations are what an SDR is measured on; the meeting goal matches
    # the AE one because booking meetings *for* AEs is the SDR's output.
    "sdr": {"account": 25, "email": 200, "call": 60, "connect": 15, "meeting": 5},
}

# Hours are logged in halves (see the spec), so hour targets round to halves.
_HOUR_TYPE = "hour"
# Ramp fractions and scaled targets are rounded to this many decimals before
# comparing or taking ceilings: 0.7 + 0.1 is 0.7999999999999999 in floats and
# 100 * 1.1 is 110.00000000000001, which must stay 0.8 and 110 (not 111).
_FLOAT_DIGITS = 9


@dataclass(frozen=True)
class GoalProgress:
    """Progress toward one weekly goal.

    ``fraction`` is raw (1.5 means 150 %); ``capped_fraction`` stops at 1.0 and
    is what bars and attainment use, so over-delivering on emails cannot hide a
    missed meeting goal.
    """

    activity_type: str
    target: float
    done: float
    fraction: float

    @property
    def capped_fraction(self) -> float:
        return min(self.fraction, 1.0)

    @property
    def met(self) -> bool:
        return self.fraction >= 1.0


@dataclass(frozen=True)
class RampPolicy:
    """How weekly goals start low and rise as the team hits them.

    Goals start at ``start_fraction`` of the full targets. Each week in which
    team attainment is at least ``team_hit_threshold`` is a "hit" week; after
    ``weeks_to_step`` hit weeks in a row the fraction rises by ``step`` up to
    ``max_fraction``. A ``max_fraction`` above 1.0 is allowed for teams that
    want stretch goals beyond the configured targets.
    """

    start_fraction: float = 0.6
    step: float = 0.1
    weeks_to_step: int = 2
    team_hit_threshold: float = 1.0
    max_fraction: float = 1.0

    def __post_init__(self) -> None:
        if self.max_fraction <= 0:
            raise ValueError(f"max_fraction must be positive, got {self.max_fraction}")
        if not 0 < self.start_fraction <= self.max_fraction:
            raise ValueError(
                f"start_fraction must be in (0, max_fraction={self.max_fraction}], got {self.start_fraction}"
            )
        if self.step <= 0:
            raise ValueError(f"step must be positive, got {self.step}")
        if self.weeks_to_step < 1:
            raise ValueError(f"weeks_to_step must be at least 1, got {self.weeks_to_step}")
        if self.team_hit_threshold <= 0:
            raise ValueError(f"team_hit_threshold must be positive, got {self.team_hit_threshold}")

    def initial_state(self) -> RampState:
        """The state a new team starts in: ``start_fraction``, no hit weeks yet."""
        return RampState(fraction=self.start_fraction, streak_weeks=0)


@dataclass(frozen=True)
class RampState:
    """Where a team is on the ramp: the current goal fraction and how many
    consecutive weeks it has hit its goals since the last step."""

    fraction: float
    streak_weeks: int


@dataclass(frozen=True)
class RampChange:
    """A change of the goal fraction, with a sentence for the weekly announcement."""

    old_fraction: float
    new_fraction: float
    reason: str


def resolve_goals(
    job: str,
    region_overrides: Mapping[str, float],
    member_overrides: Mapping[str, float],
) -> dict[str, float]:
    """Effective weekly goals for one member.

    Precedence per activity type: member override, then region override, then
    the job default. An override of 0 removes that goal (a manager saying
    "no call goal for this person"); overrides may also add types that have no
    default (e.g. a region-wide ``qbm`` goal). Negative overrides are refused.
    Keys keep the job default order, with added types after it.
    """
    if job not in DEFAULT_GOALS:
        raise ValueError(f"unknown job {job!r}; expected one of {sorted(DEFAULT_GOALS)}")
    _check_not_negative(region_overrides, "region override")
    _check_not_negative(member_overrides, "member override")
    merged: dict[str, float] = {**DEFAULT_GOALS[job], **region_overrides, **member_overrides}
    return {activity: target for activity, target in merged.items() if target != 0}


def _check_not_negative(values: Mapping[str, float], what: str) -> None:
    for activity, value in values.items():
        if value < 0:
            raise ValueError(f"{what} for {activity!r} must not be negative, got {value}")


def progress(goals: Mapping[str, float], totals: Mapping[str, float]) -> list[GoalProgress]:
    """Progress for every goal, in the goals' order.

    ``totals`` are the activity counts for the same week; a type with no
    activity counts as 0 and activity without a goal is ignored. Targets must
    be positive (resolve_goals and apply_ramp never produce anything else).
    """
    result: list[GoalProgress] = []
    for activity, target in goals.items():
        if target <= 0:
            raise ValueError(f"goal for {activity!r} must be positive, got {target}")
        done = totals.get(activity, 0)
        result.append(GoalProgress(activity_type=activity, target=target, done=done, fraction=done / target))
    return result


def attainment(goals: Mapping[str, float], totals: Mapping[str, float]) -> float | None:
    """Mean of the per-goal fractions, each capped at 1.0 (so 1.0 = every goal met).

    Returns None when there are no goals: "no goals" is not "0 % attained".
    """
    items = progress(goals, totals)
    if not items:
        return None
    return sum(item.capped_fraction for item in items) / len(items)


def progress_bar(fraction: float, width: int = 10) -> str:
    """A text progress bar such as ``"▓▓▓▓▓░░░░░ 50%"`` (Block Kit has no bar widget).

    Both the filled cells and the percentage round *down*, so nobody sees a full
    bar or "100%" before the goal is actually met. The bar stops at full but the
    percentage does not, so over-delivery shows (``"▓▓▓▓▓▓▓▓▓▓ 150%"``).
    """
    if width < 1:
        raise ValueError(f"width must be at least 1, got {width}")
    if fraction < 0:
        raise ValueError(f"fraction must not be negative, got {fraction}")
    filled = math.floor(round(min(fraction, 1.0) * width, _FLOAT_DIGITS))
    return "▓" * filled + "░" * (width - filled) + f" {floor_percent(fraction)}%"


def floor_percent(fraction: float) -> int:
    """Whole percent, rounded down (99.9% is not yet 100%), float noise aside."""
    return math.floor(round(fraction * 100, _FLOAT_DIGITS))


def next_ramp(
    policy: RampPolicy,
    state: RampState,
    team_attainment_last_week: float | None,
) -> tuple[RampState, RampChange | None]:
    """Advance the ramp by one finished week.

    - Attainment >= ``policy.team_hit_threshold`` is a hit week and extends the
      streak; after ``weeks_to_step`` consecutive hits the fraction rises by
      ``step`` (capped at ``max_fraction``) and the streak restarts at 0.
    - A missed week resets the streak but never lowers the fraction: goals that
      drop after one bad week teach the team that missing pays off. Managers
      can still lower goals explicitly.
    - ``None`` (the team had no goals, see ``attainment``) leaves the state
      untouched: there was nothing to hit or miss.
    - If the policy's ``max_fraction`` was lowered below the current fraction,
      the fraction is brought down to the new maximum and reported as a change.

    Returns the new state and a RampChange when the fraction changed, else None.
    """
    if state.fraction > policy.max_fraction:
        capped = RampState(fraction=policy.max_fraction, streak_weeks=0)
        reason = (
            f"Weekly goals are now {percent_text(policy.max_fraction)} of the full targets "
            f"(was {percent_text(state.fraction)}) because the maximum was lowered."
        )
        return capped, RampChange(state.fraction, policy.max_fraction, reason)
    if team_attainment_last_week is None:
        return state, None
    if team_attainment_last_week < policy.team_hit_threshold:
        return RampState(fraction=state.fraction, streak_weeks=0), None

    streak = state.streak_weeks + 1
    if streak < policy.weeks_to_step:
        return RampState(fraction=state.fraction, streak_weeks=streak), None
    raised = round(min(state.fraction + policy.step, policy.max_fraction), _FLOAT_DIGITS)
    new_state = RampState(fraction=raised, streak_weeks=0)
    if raised <= state.fraction:
        # Already at the maximum: the streak is spent, nothing to announce.
        return new_state, None
    return new_state, RampChange(
        old_fraction=state.fraction,
        new_fraction=raised,
        reason=_raise_reason(policy, streak, team_attainment_last_week, state.fraction, raised),
    )


def _raise_reason(policy: RampPolicy, streak: int, last_attainment: float, old: float, new: float) -> str:
    if streak == 1:
        hit = f"The team hit its goals last week ({percent_text(last_attainment)})"
    else:
        hit = f"The team hit its goals {streak} weeks in a row (last week {percent_text(last_attainment)})"
    sentence = f"{hit}, so weekly goals rise from {percent_text(old)} to {percent_text(new)} of the full targets"
    if new >= policy.max_fraction:
        return sentence + " — the top of the ramp."
    return sentence + "."


def percent_text(fraction: float) -> str:
    """0.6 -> '60%'."""
    return f"{round(fraction * 100)}%"


def apply_ramp(goals: Mapping[str, float], fraction: float) -> dict[str, float]:
    """Scale full targets by the ramp fraction.

    Targets round *up* (a goal of 7.2 calls becomes 8) because a goal you can
    meet with a fraction of an activity is meaningless; hour targets round up
    to the next half hour, since hours are logged in halves. Every target is at
    least 1 so a small fraction never silently removes a goal.
    """
    if fraction <= 0:
        raise ValueError(f"fraction must be positive, got {fraction}")
    return {
        activity: max(1.0, _round_up(target * fraction, halves=activity == _HOUR_TYPE))
        for activity, target in goals.items()
    }


def _round_up(value: float, halves: bool) -> float:
    # Round away float noise first: 100 * 1.1 == 110.00000000000001 must give 110.
    if halves:
        return math.ceil(round(value * 2, _FLOAT_DIGITS)) / 2
    return float(math.ceil(round(value, _FLOAT_DIGITS)))
