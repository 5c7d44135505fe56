"""The weekly summary of one region: the figures behind Friday's post and `/pg summary`.

Everything is computed for the region's own local week (Monday 00:00 to Sunday 24:00 in
its IANA zone) containing `now`, from a handful of grouped SQL aggregates — never one
query per member — so ten regions of two hundred people over a million activities stay
well inside the two-second budget (see bench/weekly_summary.py).

Which activities count: those logged *in the region* (Activity.region_id), as on the
boards, so a rep who moves mid-week does not drag their numbers along. Goal attainment
is the exception: it is each rep's own week against their own goals, exactly as
`/pg goals` shows it (bot.domain.goal_store.team_week).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from bot.domain.activity_types import ACTIVITY_TYPES, OUTREACH_TYPES
from bot.domain.goal_store import REP_ROLES, by_attainment, team_week
from bot.domain.lift import RegionLift, region_lift
from bot.domain.plan_store import activity_totals
from bot.domain.planner import FUNNEL, STAGE_PAIRS, stage_totals_from_activity
from bot.domain.ranking import RankedStanding, Standing, rank_standings
from bot.domain.windows import Window, local_midnight_utc, period_window
from models import Activity, Competition, CompetitionDay, CompetitionWinner, Member, Region, Spin
from models.competitions import DAY_CLOSED
from models.entities import counted_activities

TOP_COUNT = 3
TRAILING_WEEKS = 4
# The playbook asks leaders to prospect 4–8 hours a week alongside their team.
LEADER_HOURS_TARGET = (4.0, 8.0)
_TYPES = tuple(ACTIVITY_TYPES)
# The activity types the funnel counts (accounts, referrals and hours are not stages).
_FUNNEL_TYPES = (*sorted(OUTREACH_TYPES), *FUNNEL[1:])


@dataclass(frozen=True)
class RepAttainment:
    member_id: int
    name: str
    attainment: float | None  # mean of per-goal fractions capped at 1; None = no goals
    goals_met: int
    goals_total: int


@dataclass(frozen=True)
class MetricTop:
    activity_type: str
    region_total: float
    top: list[RankedStanding]  # at most TOP_COUNT, earlier finisher first on ties


@dataclass(frozen=True)
class WeekWinner:
    competition: str
    metric: str
    local_date: date
    place: int
    user_id: str
    name: str
    total: float
    prize: str | None  # None until the wheel is spun


@dataclass(frozen=True)
class LeaderHours:
    member_id: int
    name: str
    hours: float

    @property
    def on_target(self) -> bool:
        return self.hours >= LEADER_HOURS_TARGET[0]


@dataclass(frozen=True)
class FunnelStep:
    upper: str
    lower: str
    this_week: float | None  # lower / upper; None when nothing reached the upper stage
    trailing: float | None  # the same over the four weeks before this one


@dataclass(frozen=True)
class Funnel:
    this_week: dict[str, float]  # stage -> count
    trailing: dict[str, float]
    steps: list[FunnelStep]


@dataclass(frozen=True)
class Shoutout:
    user_id: str
    name: str
    count: float
    amount_cents: int | None = None  # biggest deal only
    note: str | None = None


@dataclass(frozen=True)
class DailyTotals:
    days: list[date]  # the seven local days of the week
    series: dict[str, list[float]]  # activity type -> total per day (types with activity only)


@dataclass(frozen=True)
class WeeklySummary:
    region_name: str
    tz: str
    channel_id: str | None
    window: Window
    reps: list[RepAttainment]  # best attainment first
    tops: list[MetricTop]  # in activity-type order, types with activity only
    winners: list[WeekWinner]
    leaders: list[LeaderHours]
    funnel: Funnel
    biggest_deal: Shoutout | None
    most_opportunities: Shoutout | None
    daily: DailyTotals
    lift: RegionLift | None = None  # what the prospecting days changed (asked for with lift=True)

    @property
    def region_totals(self) -> dict[str, float]:
        return {top.activity_type: top.region_total for top in self.tops}


@dataclass(frozen=True)
class _MemberInfo:
    user_id: str
    name: str
    role: str
    region_id: int | None


def weekly_summary(session: Session, region: Region, now: datetime, *, lift: bool = False) -> WeeklySummary:
    """The summary of `region` for the local week containing `now`; `lift` adds the lift
    report's headlines (bot.domain.lift: its bootstraps cost a tenth of a second or so)."""
    zone = ZoneInfo(region.tz)
    week = period_window("week", now, zone)
    week_logs = _week_logs(session, region, week, zone)
    per_member = week_logs.per_member
    members = _members_by_id(session, region, {m for by in per_member.values() for m in by})
    tops = _metric_tops(per_member, members)
    return WeeklySummary(
        region_name=region.name,
        tz=region.tz,
        channel_id=region.channel_id,
        window=week,
        reps=rep_attainment(session, region, now),
        tops=tops,
        winners=week_winners(session, region, week),
        leaders=_leader_hours(region, members, per_member),
        funnel=_funnel(session, region, week, zone, per_member),
        biggest_deal=_biggest_deal(session, region, week, members),
        most_opportunities=_most_opportunities(tops, members),
        daily=week_logs.daily,
        lift=region_lift(session, region, now) if lift else None,
    )


# --- goal attainment -------------------------------------------------------------------


def rep_attainment(session: Session, region: Region, now: datetime) -> list[RepAttainment]:
    """Each rep's attainment this week, best first; reps without goals last."""
    weeks = team_week(session, region.team_id, now, region_id=region.id, roles=REP_ROLES)
    return [
        RepAttainment(
            member_id=week.member.id,
            name=week.member.display_name,
            attainment=week.attainment,
            goals_met=week.goals_met,
            goals_total=len(week.progress),
        )
        for week in by_attainment(weeks)
    ]


# --- per member and type ------------------------------------------------------------------


@dataclass(frozen=True)
class _Total:
    total: float
    reached_at: datetime


def _in_region_and_window(region: Region, start: datetime, end: datetime) -> tuple[ColumnElement[bool], ...]:
    # Listing every type lets the (team, region, type, occurred_at) index seek each type's
    # date range instead of walking all of the region's history.
    return (
        Activity.team_id == region.team_id,
        Activity.region_id == region.id,
        Activity.type.in_(_TYPES),
        Activity.occurred_at >= start,
        Activity.occurred_at < end,
        counted_activities(),
    )


@dataclass(frozen=True)
class _WeekLogs:
    per_member: dict[str, dict[int, _Total]]  # type -> member -> total and last log
    daily: DailyTotals


def _week_logs(session: Session, region: Region, week: Window, zone: ZoneInfo) -> _WeekLogs:
    """One pass over the week: totals per (type, member, local day), folded in Python.

    At most 11 types × members × 7 days rows come back, which is far cheaper than
    scanning the week's activities once per figure.
    """
    days = [week.first_day + timedelta(days=n) for n in range(7)]
    # Local midnights in UTC: a DST week has a 23- or 25-hour day, bucketed correctly.
    boundaries = [local_midnight_utc(day + timedelta(days=1), zone) for day in days[:-1]]
    bucket = case(
        *[(Activity.occurred_at < boundary, index) for index, boundary in enumerate(boundaries)],
        else_=len(days) - 1,
    )
    # Group in an outer query: PostgreSQL would not match a CASE with bound parameters
    # in GROUP BY to the same CASE in the select list.
    logs = (
        select(
            Activity.type.label("type"),
            Activity.member_id.label("member_id"),
            bucket.label("day"),
            Activity.quantity.label("quantity"),
            Activity.occurred_at.label("occurred_at"),
        )
        .where(*_in_region_and_window(region, week.start, week.end))
        .subquery()
    )
    rows = session.execute(
        select(
            logs.c.type, logs.c.member_id, logs.c.day, func.sum(logs.c.quantity), func.max(logs.c.occurred_at)
        ).group_by(logs.c.type, logs.c.member_id, logs.c.day)
    )
    per_member: dict[str, dict[int, _Total]] = defaultdict(dict)
    series: dict[str, list[float]] = {}
    for activity_type, member_id, day, day_total, reached_at in rows:
        item = _Total(float(day_total), reached_at)
        known = per_member[activity_type].get(member_id)
        if known is not None:
            item = _Total(known.total + item.total, max(known.reached_at, item.reached_at))
        per_member[activity_type][member_id] = item
        series.setdefault(activity_type, [0.0] * len(days))[int(day)] += float(day_total)
    daily = DailyTotals(days, {t: series[t] for t in _TYPES if t in series})
    return _WeekLogs(dict(per_member), daily)


def _members_by_id(session: Session, region: Region, also: set[int]) -> dict[int, _MemberInfo]:
    """The region's members, plus anyone else in `also` (people who logged here, then moved)."""
    columns = (Member.id, Member.user_id, Member.display_name, Member.role, Member.region_id)
    rows = list(
        session.execute(select(*columns).where(Member.team_id == region.team_id, Member.region_id == region.id))
    )
    missing = also - {row[0] for row in rows}
    if missing:
        rows += session.execute(select(*columns).where(Member.id.in_(sorted(missing))))
    return {
        member_id: _MemberInfo(user_id, name, role, region_id) for member_id, user_id, name, role, region_id in rows
    }


def _metric_tops(per_member: dict[str, dict[int, _Total]], members: dict[int, _MemberInfo]) -> list[MetricTop]:
    tops = []
    for activity_type in _TYPES:
        by_member = per_member.get(activity_type)
        if not by_member:
            continue
        standings = [
            Standing(
                member_id=member_id,
                name=members[member_id].name,
                total=item.total,
                reached_at=item.reached_at,
                is_leader=members[member_id].role == "leader",
            )
            for member_id, item in by_member.items()
        ]
        ranked = rank_standings(standings)
        tops.append(MetricTop(activity_type, sum(item.total for item in by_member.values()), ranked[:TOP_COUNT]))
    return tops


def _leader_hours(
    region: Region, members: dict[int, _MemberInfo], per_member: dict[str, dict[int, _Total]]
) -> list[LeaderHours]:
    """Every leader who is in the region or logged hours in it, most hours first (zero included)."""
    hours = per_member.get("hour", {})
    leaders = [
        LeaderHours(member_id, info.name, hours[member_id].total if member_id in hours else 0.0)
        for member_id, info in members.items()
        if info.role == "leader" and (info.region_id == region.id or member_id in hours)
    ]
    return sorted(leaders, key=lambda leader: (-leader.hours, leader.name.lower(), leader.member_id))


def _most_opportunities(tops: list[MetricTop], members: dict[int, _MemberInfo]) -> Shoutout | None:
    opps = next((top for top in tops if top.activity_type == "opp"), None)
    if opps is None or not opps.top:
        return None
    best = opps.top[0].standing
    return Shoutout(members[best.member_id].user_id, best.name, best.total)


# --- funnel --------------------------------------------------------------------------------


def _funnel(
    session: Session, region: Region, week: Window, zone: ZoneInfo, per_member: dict[str, dict[int, _Total]]
) -> Funnel:
    this_week_types = {t: sum(item.total for item in by.values()) for t, by in per_member.items()}
    trailing_start = local_midnight_utc(week.first_day - timedelta(weeks=TRAILING_WEEKS), zone)
    trailing_types = activity_totals(session, region.team_id, trailing_start, week.start, region.id, _FUNNEL_TYPES)
    this_week, trailing = _funnel_counts(this_week_types), _funnel_counts(trailing_types)
    return Funnel(this_week, trailing, _funnel_steps(this_week, trailing))


def _funnel_counts(type_totals: dict[str, float]) -> dict[str, float]:
    """Totals per funnel stage; calls and emails together are outreach."""
    return {stage: float(total) for stage, total in stage_totals_from_activity(type_totals).items()}


def _funnel_steps(this_week: dict[str, float], trailing: dict[str, float]) -> list[FunnelStep]:
    return [
        FunnelStep(upper, lower, _rate(this_week, upper, lower), _rate(trailing, upper, lower))
        for upper, lower in STAGE_PAIRS
    ]


def _rate(counts: dict[str, float], upper: str, lower: str) -> float | None:
    return counts[lower] / counts[upper] if counts.get(upper) else None


# --- shout-outs, winners, chart ----------------------------------------------------------------


def _biggest_deal(session: Session, region: Region, week: Window, members: dict[int, _MemberInfo]) -> Shoutout | None:
    """The week's largest deal by amount (deals without an amount only if none has one)."""
    row = session.execute(
        select(Activity.member_id, Activity.quantity, Activity.amount_cents, Activity.note)
        .where(*_in_region_and_window(region, week.start, week.end), Activity.type == "deal")
        .order_by(Activity.amount_cents.is_(None), Activity.amount_cents.desc(), Activity.occurred_at, Activity.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    member_id, quantity, amount_cents, note = row
    info = members[member_id]
    return Shoutout(info.user_id, info.name, float(quantity), amount_cents, note)


def week_winners(session: Session, region: Region, week: Window) -> list[WeekWinner]:
    """Winners of the region's closed competition days this week, with their prizes once spun."""
    rows = session.execute(
        select(
            Competition.name,
            CompetitionDay.metric,
            CompetitionDay.local_date,
            CompetitionWinner.place,
            Member.user_id,
            Member.display_name,
            CompetitionWinner.total,
            Spin.prize_name,
        )
        .join(CompetitionDay, CompetitionDay.id == CompetitionWinner.competition_day_id)
        .join(Competition, Competition.id == CompetitionDay.competition_id)
        .join(Member, Member.id == CompetitionWinner.member_id)
        .outerjoin(
            Spin,
            (Spin.competition_day_id == CompetitionWinner.competition_day_id)
            & (Spin.member_id == CompetitionWinner.member_id),
        )
        .where(
            CompetitionDay.region_id == region.id,
            CompetitionDay.status == DAY_CLOSED,
            CompetitionDay.local_date >= week.first_day,
            CompetitionDay.local_date <= week.last_day,
        )
        .order_by(CompetitionDay.local_date, Competition.name, CompetitionWinner.place)
    )
    return [WeekWinner(*row) for row in rows]
