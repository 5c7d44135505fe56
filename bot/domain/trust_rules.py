"""The flag rules: when a log (or a member's day) is unusual enough for a manager to look at.

    big-log     one log above N× the member's 95th-percentile day of that type over the last
                8 weeks (the region's member-days when the member has fewer than 10 days)
    burst       N or more typed logs by one member within N seconds
    hours       logged outside the region's usual local hours (06:00–22:00)
    day-total   a member's day above the region's 99th-percentile day of that type
    late-surge  a competition-day total that grew by more than half its final value in the
                competition's last 10 minutes (checked when the day closes)

Rules only draft flags (`FlagDraft`): the figures behind each, in numbers and in a sentence.
Storing them is bot.domain.flag_store; nothing here changes or hides any activity. The rules
here are pure: they take plain facts. Reading those facts for logs is bot.domain.trust_checks,
for a closing competition day bot.domain.trust_close.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.trust_baselines import Distribution
from bot.domain.trust_settings import TrustSettings
from bot.domain.windows import local_date, local_midnight_utc
from models.trust import RAISED_BY_RULES

if TYPE_CHECKING:
    from bot.domain.activities import LogResult

RULE_BIG_LOG, RULE_BURST, RULE_HOURS = "big-log", "burst", "hours"
RULE_DAY_TOTAL, RULE_LATE_SURGE = "day-total", "late-surge"
RULE_DISPUTE, RULE_REVIEW = "dispute", "review"
RULE_TITLES = {
    RULE_BIG_LOG: "Big log",
    RULE_BURST: "Burst of logs",
    RULE_HOURS: "Odd hours",
    RULE_DAY_TOTAL: "Big day",
    RULE_LATE_SURGE: "Late surge",
    RULE_DISPUTE: "Disputed",
    RULE_REVIEW: "Winner review",
}
ONE_MICROSECOND = timedelta(microseconds=1)


@cache
def zone_named(name: str) -> ZoneInfo:
    """ZoneInfo keeps only a few zones strongly; the rules ask for one per log."""
    return ZoneInfo(name)


@dataclass(frozen=True)
class LogFacts:
    """A stored log as the rules see it."""

    activity_id: int
    team_id: str
    member_id: int
    region_id: int | None
    region_name: str | None
    tz: str | None
    type: str
    quantity: float
    occurred_at: datetime
    day_total: float  # the member's total of the type on the log's local day, this log included
    source: str

    @classmethod
    def of(cls, result: LogResult) -> LogFacts:
        activity = result.activity
        return cls(
            activity.id,
            activity.team_id,
            activity.member_id,
            activity.region_id,
            result.region_name,
            result.region_tz,
            activity.type,
            activity.quantity,
            activity.occurred_at,
            result.today_total,
            activity.source,
        )

    @property
    def zone(self) -> ZoneInfo:
        return zone_named(self.tz or "UTC")

    @property
    def local_date(self) -> date:
        return local_date(self.occurred_at, self.zone)


@dataclass(frozen=True)
class FlagDraft:
    """A flag a rule would raise: stored once per `dedupe_key` (bot.domain.flags.store_drafts)."""

    team_id: str
    rule: str
    member_id: int
    region_id: int | None
    local_date: date
    span_start: datetime
    span_end: datetime
    summary: str
    dedupe_key: str
    figures: dict[str, Any] = field(default_factory=dict)
    activity_id: int | None = None
    activity_type: str | None = None
    raised_by: str = RAISED_BY_RULES
    note: str | None = None


def quantity_text(quantity: float, activity_type: str) -> str:
    kind = ACTIVITY_TYPES[activity_type]
    number = f"{int(quantity):,}" if quantity == int(quantity) else f"{quantity:g}"
    return f"{number} {kind.label(quantity)}"


def _figure(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _activity_draft(facts: LogFacts, rule: str, summary: str, figures: dict[str, Any]) -> FlagDraft:
    return FlagDraft(
        team_id=facts.team_id,
        rule=rule,
        member_id=facts.member_id,
        region_id=facts.region_id,
        local_date=facts.local_date,
        span_start=facts.occurred_at,
        span_end=facts.occurred_at + ONE_MICROSECOND,
        summary=summary,
        dedupe_key=f"{rule}:a{facts.activity_id}",
        figures=figures,
        activity_id=facts.activity_id,
        activity_type=facts.type,
    )


# --- the pure rules ---------------------------------------------------------------------------


def hours_flag(facts: LogFacts, settings: TrustSettings) -> FlagDraft | None:
    """Logged outside the usual local hours of the member's region (no region: no flag)."""
    if settings.hours is None or facts.tz is None:
        return None
    start, end = settings.hours
    local = facts.occurred_at.astimezone(facts.zone)
    if start <= local.time() < end or (end == time.max and local.time() >= start):
        return None
    shown_end = "24:00" if end == time.max else f"{end:%H:%M}"
    summary = (
        f"{quantity_text(facts.quantity, facts.type)} logged at {local:%H:%M} {facts.tz}, "
        f"outside {start:%H:%M}–{shown_end}"
    )
    figures = {"local_time": f"{local:%H:%M}", "start": f"{start:%H:%M}", "end": shown_end, "tz": facts.tz}
    return _activity_draft(facts, RULE_HOURS, summary, figures)


def smallest_day(activity_type: str) -> float:
    """The least a day with any activity of the type can total (a whole count, or half an hour)."""
    return 0.5 if ACTIVITY_TYPES[activity_type].allows_halves else 1.0


def might_be_big(facts: LogFacts, settings: TrustSettings) -> bool:
    """False when no baseline could make this log big: every day with activity totals at least
    `smallest_day`, so every percentile does, so a log up to N× that never exceeds N× one.
    Spares `/pg 1 connect` (and most logs) the baseline read; exact, not a guess."""
    bound = big_log_bound(facts.type, settings)
    return bound is not None and facts.quantity > bound


def big_log_bound(activity_type: str, settings: TrustSettings) -> float | None:
    """The quantity a log of the type must exceed to be possibly big (`might_be_big`); None when
    the rule is off."""
    multiple = settings.big_log_multiple
    return None if multiple is None else multiple * smallest_day(activity_type)


def big_log_flag(
    facts: LogFacts, settings: TrustSettings, own: Distribution, region: Distribution | None
) -> FlagDraft | None:
    """One log above N× the member's percentile day; with too few days of their own, the region's."""
    multiple, p = settings.big_log_multiple, settings.big_log_percentile
    if multiple is None:
        return None
    if own.days >= settings.history_days:
        baseline, days, whose = own, f"{own.days} days", "this member's"
    elif region is not None and region.days >= settings.history_days:
        baseline, days, whose = region, f"{region.days} member-days", f"{facts.region_name or 'the region'}'s"
    else:
        return None  # nothing usual to compare with yet
    day = baseline.at(p)
    threshold = multiple * day
    if facts.quantity <= threshold:
        return None
    summary = (
        f"{quantity_text(facts.quantity, facts.type)} in one log; {_figure(multiple)}× {whose} "
        f"{_figure(p)}th-percentile day is {_figure(threshold)} ({settings.history_weeks} weeks, {days})"
    )
    figures = {
        "quantity": facts.quantity,
        "multiple": multiple,
        "percentile": p,
        "percentile_day": day,
        "threshold": threshold,
        "baseline": "member" if baseline is own else "region",
        "days": baseline.days,
        "weeks": settings.history_weeks,
    }
    return _activity_draft(facts, RULE_BIG_LOG, summary, figures)


def day_total_flag(facts: LogFacts, settings: TrustSettings, region: Distribution) -> FlagDraft | None:
    """The member's day of this type above the region's percentile day (once per member-day)."""
    p = settings.day_total_percentile
    if p is None or facts.region_id is None or region.days < settings.history_days:
        return None
    day = region.at(p)
    if facts.day_total <= day:
        return None
    return day_total_draft(
        DayTotal(facts.team_id, facts.member_id, facts.region_id, facts.region_name, facts.zone, facts.local_date),
        facts.type,
        facts.day_total,
        day,
        region.days,
        settings,
    )


@dataclass(frozen=True)
class DayTotal:
    """Whose day a day-total flag is about."""

    team_id: str
    member_id: int
    region_id: int
    region_name: str | None
    zone: ZoneInfo
    on: date


def day_total_key(member_id: int, on: date, activity_type: str) -> str:
    """A member's big day of a type is flagged once."""
    return f"{RULE_DAY_TOTAL}:m{member_id}:{on.isoformat()}:{activity_type}"


def day_total_draft(
    whose: DayTotal, activity_type: str, total: float, percentile_day: float, days: int, settings: TrustSettings
) -> FlagDraft:
    p = settings.day_total_percentile
    summary = (
        f"{quantity_text(total, activity_type)} in the day; {whose.region_name or 'the region'}'s "
        f"{_figure(p or 0)}th-percentile day is {_figure(percentile_day)} ({settings.history_weeks} weeks, "
        f"{days} member-days)"
    )
    on = whose.on
    return FlagDraft(
        team_id=whose.team_id,
        rule=RULE_DAY_TOTAL,
        member_id=whose.member_id,
        region_id=whose.region_id,
        local_date=on,
        span_start=local_midnight_utc(on, whose.zone),
        span_end=local_midnight_utc(on + timedelta(days=1), whose.zone),
        summary=summary,
        dedupe_key=day_total_key(whose.member_id, on, activity_type),
        figures={
            "total": total,
            "percentile": p,
            "percentile_day": percentile_day,
            "days": days,
            "weeks": settings.history_weeks,
        },
        activity_type=activity_type,
    )


def burst_flag(
    facts: LogFacts, settings: TrustSettings, logs: int, first_at: datetime, first_id: int
) -> FlagDraft | None:
    """`logs` typed logs (this one the last) within the burst window, starting at `first_at`."""
    if settings.burst_logs is None or logs < settings.burst_logs:
        return None
    zone = facts.zone
    seconds = max(1, round((facts.occurred_at - first_at).total_seconds()))
    summary = (
        f"{logs} logs within {seconds} s ({first_at.astimezone(zone):%H:%M:%S}–"
        f"{facts.occurred_at.astimezone(zone):%H:%M:%S} {facts.tz or 'UTC'}); "
        f"the rule is {settings.burst_logs} within {settings.burst_seconds} s"
    )
    return FlagDraft(
        team_id=facts.team_id,
        rule=RULE_BURST,
        member_id=facts.member_id,
        region_id=facts.region_id,
        local_date=facts.local_date,
        span_start=first_at,
        span_end=facts.occurred_at + ONE_MICROSECOND,
        summary=summary,
        # The burst's first log: two checks of the same burst (its 10th and 11th logs, on two
        # threads) draft the same flag.
        dedupe_key=f"{RULE_BURST}:m{facts.member_id}:a{first_id}",
        figures={"logs": logs, "seconds": settings.burst_seconds, "limit": settings.burst_logs, "typed_only": True},
    )
