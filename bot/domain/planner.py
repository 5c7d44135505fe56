"""The funnel planner behind ``/pg plan <deals> [quarter|month]``.

Works backwards from a deal target through the funnel

    outreach (calls + emails) → connect → meeting → qbm → opp → pov → deal

using conversion rates measured from the team's own logs where there is enough
data, and documented defaults where there is not. Pure functions over plain
data — no database, no Slack.

Typical use::

    rates = measured_rates(team_totals_last_two_quarters)
    result = plan(5, "quarter", rates, current_weekly_pace=my_weekly_pace)
    for target in result.stages: ...
    if result.fallbacks: ...  # say which rates are defaults, not measured
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from bot.domain.activity_types import FUNNEL_STAGES, OUTREACH_TYPES

StagePair = tuple[str, str]
Period = Literal["quarter", "month"]
RateSource = Literal["measured", "default"]
PaceStatus = Literal["ahead", "on pace", "behind"]

# Funnel stages, top to bottom. "outreach" is calls + emails combined.
FUNNEL: tuple[str, ...] = FUNNEL_STAGES
# Adjacent (upper, lower) stage pairs, top to bottom; the keys of DEFAULT_RATES.
STAGE_PAIRS: tuple[StagePair, ...] = (
    ("outreach", "connect"),
    ("connect", "meeting"),
    ("meeting", "qbm"),
    ("qbm", "opp"),
    ("opp", "pov"),
    ("pov", "deal"),
)

# Default conversion rates, used until a team has logged enough to measure its
# own. They are common rules of thumb for B2B outbound, deliberately middle of
# the road, and meant to be replaced by measured rates as soon as possible:
DEFAULT_RATES: dict[StagePair, float] = {
    # Cold-call connect rates are usually quoted at 5–10 % of dials and emails
    # turn into live conversations less often; 8 % blended across both.
    ("outreach", "connect"): 0.08,
    # Roughly one live conversation in four books a discovery meeting.
    ("connect", "meeting"): 0.25,
    # About half of discovery meetings surface both a pain and a champion (QBM).
    ("meeting", "qbm"): 0.5,
    # Half of qualified meetings become a winnable opportunity...
    ("qbm", "opp"): 0.5,
    # ...half of those commit to a proof of value...
    ("opp", "pov"): 0.5,
    # ...and 40 % of POVs close, i.e. 20 % opportunity-to-win, in line with the
    # commonly quoted ~20 % average B2B win rate.
    ("pov", "deal"): 0.4,
}

# Weeks per planning period. 52 / 12 ≈ 4.33 weeks in an average month.
WEEKS_IN_PERIOD: dict[str, float] = {"quarter": 13.0, "month": 52 / 12}

# Rounded away before ceilings so 21 / 0.7 (= 30.000000000000004) needs 30, not 31.
_FLOAT_DIGITS = 9


@dataclass(frozen=True)
class RateEstimate:
    """A conversion rate between two adjacent stages and where it came from.

    ``sample`` is the number of activities in the upper stage (the denominator)
    that the measurement was based on; ``note`` says why a default was used.
    """

    rate: float
    source: RateSource
    sample: float
    note: str = ""


@dataclass(frozen=True)
class StageTarget:
    """How much of one stage the plan needs: per period and per week (both rounded up)."""

    stage: str
    per_period: int
    per_week: int


@dataclass(frozen=True)
class StageGap:
    """Current weekly pace against the weekly number the plan needs.

    ``weekly_needed`` is the rounded-up weekly number the member is shown, so
    "needed 8, doing 8" reads as on pace. ``difference`` is pace minus needed:
    positive is ahead, negative behind.
    """

    stage: str
    weekly_pace: float
    weekly_needed: int
    difference: float
    status: PaceStatus


@dataclass(frozen=True)
class Plan:
    """The result of ``plan``.

    ``stages`` runs top of the funnel first (outreach … deal). ``fallbacks``
    lists the stage pairs whose rate is a default rather than measured, in
    funnel order. ``gaps`` is empty unless a current weekly pace was given.
    """

    deals: int
    period: Period
    weeks_in_period: float
    stages: tuple[StageTarget, ...]
    rates: dict[StagePair, RateEstimate]
    fallbacks: tuple[StagePair, ...]
    gaps: tuple[StageGap, ...] = ()

    def target(self, stage: str) -> StageTarget:
        """The target for one stage by name, e.g. ``plan.target("qbm").per_week``."""
        for item in self.stages:
            if item.stage == stage:
                return item
        raise KeyError(stage)


def default_rate(pair: StagePair, note: str) -> RateEstimate:
    """The documented default for ``pair``, labelled with why it was used."""
    return RateEstimate(rate=DEFAULT_RATES[pair], source="default", sample=0, note=note)


def stage_totals_from_activity(totals: Mapping[str, float]) -> dict[str, float]:
    """Map activity-type totals to funnel stages (calls + emails become "outreach").

    A precomputed ``"outreach"`` key is accepted instead of calls and emails,
    but not together with them, since it would be ambiguous which one is right.
    Totals must not be negative.
    """
    for activity, value in totals.items():
        if value < 0:
            raise ValueError(f"total for {activity!r} must not be negative, got {value}")
    has_parts = any(activity in totals for activity in OUTREACH_TYPES)
    if "outreach" in totals and has_parts:
        raise ValueError("give either 'outreach' or 'call'/'email' totals, not both")
    outreach = totals.get("outreach", sum(totals.get(a, 0) for a in OUTREACH_TYPES))
    stages = {stage: totals.get(stage, 0) for stage in FUNNEL[1:]}
    return {"outreach": outreach, **stages}


def measured_rates(stage_totals: Mapping[str, float], min_sample: int = 20) -> dict[StagePair, RateEstimate]:
    """Conversion rates measured from activity totals over one window.

    ``stage_totals`` maps activity types (or "outreach") to counts over the same
    window, e.g. the team's last two quarters. The rate for ``a → b`` is
    ``totals[b] / totals[a]`` — a cohort approximation, since logs are counts,
    not individual prospects moving through the funnel.

    A pair falls back to its default (and the estimate's note says why) when the
    upper stage has fewer than ``min_sample`` activities, when nothing reached
    the lower stage (a rate of 0 would make the plan impossible), or when the
    lower stage outnumbers the upper one (a rate above 1 means the stages are not
    logged consistently, e.g. meetings that came from referrals, not connects).
    """
    if min_sample < 1:
        raise ValueError(f"min_sample must be at least 1, got {min_sample}")
    totals = stage_totals_from_activity(stage_totals)
    return {pair: _estimate(pair, totals[pair[0]], totals[pair[1]], min_sample) for pair in STAGE_PAIRS}


def _estimate(pair: StagePair, upper: float, lower: float, min_sample: int) -> RateEstimate:
    upper_stage, lower_stage = pair
    if upper < min_sample:
        note = f"only {_count(upper)} {upper_stage} logged (need {min_sample})"
        return default_rate(pair, note)
    rate = lower / upper
    if rate == 0:
        return default_rate(pair, f"no {lower_stage} logged after {_count(upper)} {upper_stage}")
    if rate > 1:
        note = f"more {lower_stage} ({_count(lower)}) than {upper_stage} ({_count(upper)}) logged"
        return default_rate(pair, note)
    return RateEstimate(rate=rate, source="measured", sample=upper)


def _count(value: float) -> str:
    return f"{value:g}"


def plan(
    deals: int,
    period: Period = "quarter",
    rates: Mapping[StagePair, RateEstimate] | None = None,
    weeks_in_period: float | None = None,
    current_weekly_pace: Mapping[str, float] | None = None,
) -> Plan:
    """Reverse-engineer the activity needed to close ``deals`` in ``period``.

    Works from the bottom of the funnel up: povs = ceil(deals / rate(pov→deal)),
    opps = ceil(povs / rate(opp→pov)), … up to outreach (calls + emails).
    Rounding up happens at every stage, because you cannot book 12.5 meetings
    and rounding down would plan to fall short.

    - ``rates``: usually the output of ``measured_rates``; a missing pair uses
      its default. None uses the defaults for everything.
    - ``weeks_in_period``: defaults to 13 for a quarter and 52 / 12 (≈ 4.33) for
      a month. Weekly numbers are per_period / weeks, rounded up.
    - ``current_weekly_pace``: activity per week so far (activity types or
      "outreach", like ``measured_rates``); when given, ``Plan.gaps`` compares
      it with the weekly numbers needed. Missing stages count as 0 a week.
    """
    _check_plan_inputs(deals, period, weeks_in_period)
    weeks = weeks_in_period if weeks_in_period is not None else WEEKS_IN_PERIOD[period]
    resolved = _resolve_rates(rates)
    per_period = _work_backwards(deals, resolved)
    stages = tuple(_stage_target(stage, per_period[stage], weeks) for stage in FUNNEL)
    gaps = _gaps(stages, current_weekly_pace) if current_weekly_pace is not None else ()
    fallbacks = tuple(pair for pair in STAGE_PAIRS if resolved[pair].source == "default")
    return Plan(
        deals=deals,
        period=period,
        weeks_in_period=weeks,
        stages=stages,
        rates=resolved,
        fallbacks=fallbacks,
        gaps=gaps,
    )


def _check_plan_inputs(deals: int, period: str, weeks_in_period: float | None) -> None:
    # bool is an int subclass; "plan True deals" is a bug, not a request.
    if isinstance(deals, bool) or not isinstance(deals, int):
        raise ValueError(f"deals must be a whole number, got {deals!r}")
    if deals <= 0:
        raise ValueError(f"deals must be at least 1, got {deals}")
    if period not in WEEKS_IN_PERIOD:
        raise ValueError(f"period must be one of {sorted(WEEKS_IN_PERIOD)}, got {period!r}")
    if weeks_in_period is not None and weeks_in_period <= 0:
        raise ValueError(f"weeks_in_period must be positive, got {weeks_in_period}")


def _resolve_rates(
    rates: Mapping[StagePair, RateEstimate] | None,
) -> dict[StagePair, RateEstimate]:
    given = rates or {}
    unknown = sorted(set(given) - set(STAGE_PAIRS))
    if unknown:
        raise ValueError(f"unknown stage pairs {unknown}; expected pairs from {STAGE_PAIRS}")
    resolved: dict[StagePair, RateEstimate] = {}
    for pair in STAGE_PAIRS:
        estimate = given.get(pair) or default_rate(pair, "no measured rate given")
        if not 0 < estimate.rate <= 1:
            raise ValueError(f"rate for {pair} must be in (0, 1], got {estimate.rate}")
        resolved[pair] = estimate
    return resolved


def _work_backwards(deals: int, rates: Mapping[StagePair, RateEstimate]) -> dict[str, int]:
    needed = {"deal": deals}
    for upper, lower in reversed(STAGE_PAIRS):
        needed[upper] = _ceil(needed[lower] / rates[(upper, lower)].rate)
    return needed


def _stage_target(stage: str, per_period: int, weeks: float) -> StageTarget:
    return StageTarget(stage=stage, per_period=per_period, per_week=_ceil(per_period / weeks))


def _gaps(stages: tuple[StageTarget, ...], pace: Mapping[str, float]) -> tuple[StageGap, ...]:
    weekly = stage_totals_from_activity(pace)
    return tuple(_gap(target, weekly[target.stage]) for target in stages)


def _gap(target: StageTarget, weekly_pace: float) -> StageGap:
    difference = round(weekly_pace - target.per_week, _FLOAT_DIGITS)
    status: PaceStatus = "ahead" if difference > 0 else "behind" if difference < 0 else "on pace"
    return StageGap(
        stage=target.stage,
        weekly_pace=weekly_pace,
        weekly_needed=target.per_week,
        difference=difference,
        status=status,
    )


def _ceil(value: float) -> int:
    return math.ceil(round(value, _FLOAT_DIGITS))
