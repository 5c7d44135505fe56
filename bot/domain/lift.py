"""The lift report: what did the prospecting days change? Per region and competition:

- the competition's metric per rep per working day on its days, against the same reps'
  ordinary working days (no competition of any kind that day), and against the same weekday
  in weeks when it didn't run, if there were any — bootstrap intervals over rep-days;
- what followed: the team's meetings, QBMs and opportunities in the 14 days after one of its
  days, against the 14 days after an ordinary working day — intervals over days;
- the leaders' effect: the team's connects per rep on working days when a leader logged at
  least an hour of prospecting, against days when none did — intervals over days.

Days are the region's local days, working days the workspace's calendar (holidays are
nobody's working day); the period is the last `weeks` whole weeks and this week up to
yesterday, since today isn't over. Whenever either side has fewer than 8 days, a comparison
carries its counts only and the words say "not enough data yet". The figures show an
association: the wording never claims that a day caused what followed it.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.orm import Session

from bot.domain.calendar_store import WorkCalendar, work_calendar
from bot.domain.directory import list_regions, require_region
from bot.domain.lift_data import (
    FOLLOW_UP_TYPES,
    ContestFacts,
    Period,
    RegionDays,
    load_region_days,
    region_competitions,
)
from bot.domain.lift_stats import MIN_DAYS, Comparison, Values, compare
from bot.domain.streaks import is_working_day
from bot.domain.windows import local_date, week_start
from models import Region

DEFAULT_WEEKS = 12
MAX_WEEKS = 52
FOLLOW_UP_DAYS = 14
# Regions whose bootstraps run at once (a thread each; more than the cores would only queue).
MAX_THREADS = 4
# Seeds of the bootstraps: one per comparison, so a report never depends on its order.
_VS_ORDINARY, _VS_SAME_WEEKDAY, _LEADERS, _FOLLOW_UP, _WEEK = 1, 2, 3, 10, 100


@dataclass(frozen=True)
class FollowUp:
    activity_type: str
    comparison: Comparison  # the team's total in the FOLLOW_UP_DAYS after a day


@dataclass(frozen=True)
class WeekPoint:
    monday: date
    comparison: Comparison | None  # None: no competition day, or no ordinary day, that week


@dataclass(frozen=True)
class CompetitionLift:
    competition_id: int
    name: str
    metric: str
    weekday: int
    vs_ordinary: Comparison  # per rep per working day
    vs_same_weekday: Comparison | None  # None: it ran every week of the period
    follow_ups: list[FollowUp]
    weeks: list[WeekPoint]  # empty unless asked for (the chart)


@dataclass(frozen=True)
class RegionLift:
    region_id: int
    region_name: str
    tz: str
    first_day: date
    last_day: date
    weeks: int
    reps: int
    leaders: int
    competitions: list[CompetitionLift]
    leaders_effect: Comparison  # connects per rep, days a leader prospected against the rest


def lift_period(now: datetime, tz: ZoneInfo, weeks: int = DEFAULT_WEEKS) -> Period:
    """The last `weeks` whole local weeks, and this week up to yesterday."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"the lift report looks back 1 to {MAX_WEEKS} weeks, not {weeks}")
    today = local_date(now, tz)
    return Period(week_start(today) - timedelta(weeks=weeks), today - timedelta(days=1), tz)


def lift_report(
    session: Session,
    team_id: str,
    now: datetime,
    *,
    region_name: str | None = None,
    weeks: int = DEFAULT_WEEKS,
    weekly: bool = False,
) -> list[RegionLift]:
    """The report for one named region, or for every region of the workspace.

    The queries run one region after another on the session; each region's arithmetic
    (bootstraps: NumPy work that releases the GIL) starts on a worker thread as soon as its
    figures are in, while the next region's queries run."""
    regions = [require_region(session, team_id, region_name)] if region_name else list_regions(session, team_id)
    calendar = work_calendar(session, team_id)
    if len(regions) == 1:
        return [_assemble(_load(session, regions[0], now, weeks), calendar, weeks, weekly)]
    workers = max(1, min(len(regions), os.cpu_count() or 1, MAX_THREADS))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lift") as pool:
        futures = [
            pool.submit(_assemble, _load(session, region, now, weeks), calendar, weeks, weekly) for region in regions
        ]
        return [future.result() for future in futures]


def region_lift(
    session: Session, region: Region, now: datetime, *, weeks: int = DEFAULT_WEEKS, weekly: bool = False
) -> RegionLift:
    """The report for one region; `weekly` adds each week's difference (for the chart)."""
    data = _load(session, region, now, weeks)
    return _assemble(data, work_calendar(session, region.team_id), weeks, weekly)


def _load(session: Session, region: Region, now: datetime, weeks: int) -> RegionDays:
    period = lift_period(now, ZoneInfo(region.tz), weeks)
    competitions = region_competitions(session, region, period)
    return load_region_days(session, region, period, {c.metric for c in competitions}, competitions)


def _assemble(data: RegionDays, calendar: WorkCalendar, weeks: int, weekly: bool) -> RegionLift:
    """The arithmetic, on plain values only (it may run on a worker thread)."""
    region = data.region
    days = _DayFacts(data, calendar)
    return RegionLift(
        region_id=region.id,
        region_name=region.name,
        tz=region.tz,
        first_day=data.period.first_day,
        last_day=data.period.last_day,
        weeks=weeks,
        reps=len(data.rep_spans),
        leaders=data.leaders,
        competitions=[_competition_lift(days, region.id, c, weekly) for c in data.competitions],
        leaders_effect=_leaders_effect(days, region.id),
    )


class _DayFacts:
    """One region's days, ready to be turned into samples."""

    def __init__(self, data: RegionDays, calendar: WorkCalendar) -> None:
        self.data = data
        self.dates = data.period.days
        active = np.zeros(len(self.dates), dtype=np.int64)
        for first, last in data.rep_spans:
            active[first : last + 1] += 1
        self.active = active
        # Days with at least one rep at work: a day nobody could have logged on tells nothing.
        self.working = {
            index
            for index, day in enumerate(self.dates)
            if is_working_day(day, calendar.working_days, calendar.holidays) and active[index] > 0
        }
        any_competition = set().union(*data.competition_days.values()) if data.competition_days else set()
        self.ordinary = self.working - any_competition

    def rep_days(self, activity_type: str, days: set[int]) -> Values:
        """Every rep's total of `activity_type` on each of `days`, zeros included, in one order
        whatever order the database returned them in (day, then value): the resamples pick
        values by position, so the same data must give the same array for the same intervals."""
        histograms = self.data.histograms.get(activity_type, {})
        parts: list[Values] = []
        for day in sorted(days):
            histogram = sorted(histograms.get(day, {}).items())
            values = np.fromiter((value for value, _ in histogram), dtype=np.float64, count=len(histogram))
            counts = np.fromiter((count for _, count in histogram), dtype=np.int64, count=len(histogram))
            parts.append(np.repeat(values, counts))
            parts.append(np.zeros(max(0, int(self.active[day]) - int(counts.sum()))))
        return np.concatenate(parts) if parts else np.zeros(0)

    def day_totals(self, activity_type: str) -> Values:
        return np.array([self.data.total(activity_type, day) for day in range(len(self.dates))], dtype=np.float64)

    def per_rep(self, activity_type: str, days: set[int]) -> Values:
        """The team's total per rep at work, one value per day."""
        totals = self.day_totals(activity_type)
        ordered = sorted(days)
        return totals[ordered] / self.active[ordered] if ordered else np.zeros(0)


def _competition_lift(days: _DayFacts, region_id: int, competition: ContestFacts, weekly: bool) -> CompetitionLift:
    ran = days.data.competition_days.get(competition.id, set()) & days.working
    same_weekday = {d for d in days.ordinary if days.dates[d].weekday() == competition.weekday}
    metric = competition.metric
    seed = (region_id, competition.id)
    return CompetitionLift(
        competition_id=competition.id,
        name=competition.name,
        metric=metric,
        weekday=competition.weekday,
        vs_ordinary=_rep_day_comparison(days, metric, ran, days.ordinary, (*seed, _VS_ORDINARY)),
        vs_same_weekday=(
            _rep_day_comparison(days, metric, ran, same_weekday, (*seed, _VS_SAME_WEEKDAY)) if same_weekday else None
        ),
        follow_ups=[
            FollowUp(kind, _follow_up(days, kind, ran, (*seed, _FOLLOW_UP + index)))
            for index, kind in enumerate(FOLLOW_UP_TYPES)
        ],
        weeks=_weekly(days, metric, ran, seed) if weekly else [],
    )


def _rep_day_comparison(
    days: _DayFacts,
    metric: str,
    with_days: set[int],
    without_days: set[int],
    seed: tuple[int, ...],
    min_days: int = MIN_DAYS,
) -> Comparison:
    return compare(
        days.rep_days(metric, with_days),
        days.rep_days(metric, without_days),
        len(with_days),
        len(without_days),
        seed,
        min_days=min_days,
    )


def _follow_up(days: _DayFacts, activity_type: str, ran: set[int], seed: tuple[int, ...]) -> Comparison:
    """The team's `activity_type` in the FOLLOW_UP_DAYS after each day (days whose window has ended)."""
    totals = days.day_totals(activity_type)
    running = np.concatenate([[0.0], np.cumsum(totals)])
    complete = len(totals) - FOLLOW_UP_DAYS  # days before this index have their whole window

    def after(chosen: set[int]) -> tuple[Values, int]:
        ordered = sorted(d for d in chosen if d < complete)
        window = [running[d + 1 + FOLLOW_UP_DAYS] - running[d + 1] for d in ordered]
        return np.array(window, dtype=np.float64), len(ordered)

    (with_values, with_days), (without_values, without_days) = after(ran), after(days.ordinary)
    return compare(with_values, without_values, with_days, without_days, seed)


def _leaders_effect(days: _DayFacts, region_id: int) -> Comparison:
    led = days.working & days.data.leader_days
    unled = days.working - led
    return compare(
        days.per_rep("connect", led), days.per_rep("connect", unled), len(led), len(unled), (region_id, 0, _LEADERS)
    )


def _weekly(days: _DayFacts, metric: str, ran: set[int], seed: tuple[int, int]) -> list[WeekPoint]:
    """Each week's competition day(s) against that week's ordinary days, for the chart."""
    first = days.data.period.first_day
    points = []
    for week in range(0, len(days.dates), 7):
        in_week = set(range(week, min(week + 7, len(days.dates))))
        with_days, without_days = ran & in_week, days.ordinary & in_week
        monday = first + timedelta(days=week)
        if not with_days or not without_days:
            points.append(WeekPoint(monday, None))
            continue
        comparison = _rep_day_comparison(days, metric, with_days, without_days, (*seed, _WEEK + week // 7), min_days=1)
        points.append(WeekPoint(monday, comparison))
    return points
