"""Checking logs against the flag rules (bot.domain.trust_rules) after their ack, many at once.

What a check reads: the member's recent typed logs (for the burst rule) and the baselines
(bot.domain.trust_baselines, cached per member or region, type and local day). A batch of
logs is checked in one transaction with one read for every member's recent logs, so a busy
minute costs a few transactions, not one per log (bot.features.trust batches them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from bot.domain.activity_sources import SELF_REPORTED_SOURCES
from bot.domain.trust_baselines import BaselineReader, Distribution
from bot.domain.trust_rules import (
    ONE_MICROSECOND,
    RULE_BURST,
    FlagDraft,
    LogFacts,
    big_log_flag,
    burst_flag,
    day_total_flag,
    hours_flag,
    might_be_big,
)
from bot.domain.trust_settings import TrustSettings
from models import Activity, Flag, UTCDateTime
from models.entities import counted_activities

TYPED_SOURCES = tuple(sorted(SELF_REPORTED_SOURCES))
# (occurred_at, id) of a member's typed logs, oldest first.
RecentLogs = list[tuple[datetime, int]]


def region_percentiles(settings: TrustSettings) -> tuple[float, ...]:
    """The percentiles read from a region's days (one cached distribution serves both rules)."""
    return tuple(p for p in (settings.big_log_percentile, settings.day_total_percentile) if p is not None)


def worth_checking(
    facts: LogFacts,
    settings: TrustSettings,
    recent_typed_logs: int,
    region: Distribution | None,
    raised: Callable[[str], bool] = lambda key: False,
    recent_window_s: float = 60.0,
) -> bool:
    """Whether a log could trip any rule, from what its own transaction knows already (the
    member's typed logs of the last `recent_window_s`, read with its totals), the region's cached
    distribution (None: not cached in this process yet) and the flags this process has raised
    (`raised(dedupe_key)`: a member's big day is flagged once). False spares the log any check
    after its ack; True is only a maybe (the check decides)."""
    if hours_flag(facts, settings) is not None or might_be_big(facts, settings):
        return True
    if settings.burst_logs is not None and (
        recent_typed_logs >= settings.burst_logs or settings.burst_seconds > recent_window_s
    ):
        return True  # (a burst window longer than the log counted: only the check can tell)
    if settings.day_total_percentile is None or facts.region_id is None:
        return False
    if region is None:
        return True
    big_day = day_total_flag(facts, settings, region)
    return big_day is not None and not raised(big_day.dedupe_key)


def check_log(session: Session, facts: LogFacts, settings: TrustSettings, reader: BaselineReader) -> list[FlagDraft]:
    """Every rule one typed log can trip."""
    return check_logs(session, [facts], lambda team_id: settings, lambda one, _: reader)


def check_logs(
    session: Session,
    batch: Sequence[LogFacts],
    settings_for: Callable[[str], TrustSettings],
    reader_for: Callable[[LogFacts, TrustSettings], BaselineReader],
) -> list[FlagDraft]:
    """Every rule the typed logs of `batch` can trip, in one read-only pass (plus a baseline
    read for each member, region, type and day not cached yet)."""
    recent = _recent_typed_logs(session, batch, settings_for)
    drafts: list[FlagDraft] = []
    for facts in batch:
        settings = settings_for(facts.team_id)
        drafts += _check(session, facts, settings, reader_for(facts, settings), recent.get(facts.member_id, []))
    return drafts


def _check(
    session: Session, facts: LogFacts, settings: TrustSettings, reader: BaselineReader, recent: RecentLogs
) -> list[FlagDraft]:
    drafts = [draft for draft in (hours_flag(facts, settings),) if draft is not None]
    burst = _burst(session, facts, settings, recent)
    if burst is not None:
        drafts.append(burst)
    region_ps = region_percentiles(settings)
    region: Distribution | None = None
    if facts.region_id is not None and region_ps and (might_be_big(facts, settings) or settings.day_total_percentile):
        region = reader.region(facts.team_id, facts.region_id, facts.type, region_ps)
    if might_be_big(facts, settings):
        own = reader.member(facts.member_id, facts.type, (settings.big_log_percentile,))
        big = big_log_flag(facts, settings, own, region)
        if big is not None:
            drafts.append(big)
    if region is not None and settings.day_total_percentile is not None:
        day = day_total_flag(facts, settings, region)
        if day is not None:
            drafts.append(day)
    return drafts


def _burst(session: Session, facts: LogFacts, settings: TrustSettings, recent: RecentLogs) -> FlagDraft | None:
    if settings.burst_logs is None:
        return None
    since = facts.occurred_at - timedelta(seconds=settings.burst_seconds)
    logs = _between(recent, since, facts.occurred_at)
    if len(logs) < settings.burst_logs:
        return None
    # Logs an earlier burst flag covers don't start another one.
    covered_until = session.scalar(
        select(func.max(Flag.span_end)).where(
            Flag.member_id == facts.member_id, Flag.rule == RULE_BURST, Flag.span_end > since
        )
    )
    if covered_until is not None:
        logs = _between(recent, max(since, covered_until - ONE_MICROSECOND), facts.occurred_at)
    if not logs:
        return None
    first_at, first_id = logs[0][0], min(log_id for _, log_id in logs)
    return burst_flag(facts, settings, len(logs), first_at, first_id)


def _between(recent: RecentLogs, after: datetime, until: datetime) -> RecentLogs:
    return [(at, log_id) for at, log_id in recent if after < at <= until]


def _recent_typed_logs(
    session: Session, batch: Sequence[LogFacts], settings_for: Callable[[str], TrustSettings]
) -> dict[int, RecentLogs]:
    """The typed logs of the batch's members within the burst window of any of its logs: one
    read (ix_activities_member), a handful of rows a member."""
    windows = [
        (facts, settings_for(facts.team_id).burst_seconds)
        for facts in batch
        if settings_for(facts.team_id).burst_logs is not None
    ]
    if not windows:
        return {}
    values: dict[str, Any] = {
        "members": sorted({facts.member_id for facts, _ in windows}),
        "after": min(facts.occurred_at - timedelta(seconds=seconds) for facts, seconds in windows),
        "until": max(facts.occurred_at for facts, _ in windows),
    }
    values |= {f"source{n}": source for n, source in enumerate(TYPED_SOURCES)}
    recent: dict[int, RecentLogs] = defaultdict(list)
    for member_id, occurred_at, log_id in session.execute(_recent_statement(), values):
        recent[member_id].append((occurred_at, log_id))
    return recent


# Built once: it runs for every batch, and a statement made per call cost more CPU in its cache
# key than the read itself.
@cache
def _recent_statement() -> Select[Any]:
    table = Activity.__table__
    typed = or_(*(table.c.source == bindparam(f"source{n}") for n in range(len(TYPED_SOURCES))))
    statement: Select[Any] = (
        select(table.c.member_id, table.c.occurred_at, table.c.id)
        .where(
            table.c.member_id.in_(bindparam("members", expanding=True)),
            table.c.occurred_at > bindparam("after", type_=UTCDateTime()),
            table.c.occurred_at <= bindparam("until", type_=UTCDateTime()),
            typed,
            counted_activities(table.c),
        )
        .order_by(table.c.occurred_at, table.c.id)
    )
    return statement
