"""Checking ingested activity (the batch API, webhooks, replays after `pipeday member link`)
against the flag rules (bot.domain.trust_rules), a batch at a time, after it is stored.

The rules are the typed logs' (bot.domain.trust_checks), read once per (member, type, local
day) the batch touches, never once per item:

- hours: by when the items *occurred* in their member's region. A typed log outside the
  usual hours is one flag; activity a system recorded there is one flag per member, type,
  local day and side of the day (bot.domain.ingested_hours: a dialer's night shift is one
  thing for a manager to look at, not 300): a later batch adds to that flag while it is open
  (its figures are refreshed), and after a manager has kept or voided it, what arrives later
  is a new flag (one read of the raised flags, only when a system recorded something there);
- big-log: each item above N× the smallest day could be big (`might_be_big`: most items are
  `quantity: 1` and read nothing); the member's and the region's baselines are read once per
  member / region, type and local day (and cached by the caller across batches);
- day-total: the member's whole day of the type (typed and ingested alike) against the region's
  percentile day: one aggregate read per local day of the batch for all its members and types;
- burst: not for activity a system recorded. The rule is about a person tapping `/pg` over and
  over; a dialer or a sequence tool legitimately reports many calls or emails within a minute
  (a power dialer's attempts, a sequence step sent to 50 prospects, a CRM sync of an
  afternoon), and counting them by `occurred_at` would flag every such batch. Typed logs keep
  the rule (and it never counts ingested activity: bot.domain.trust_checks reads typed logs);
- baselines are the weeks before each item's own local day, as for a typed log (whose day is
  today): a late or backfilled item is measured against the days before it, never against
  a history that holds its own day (a big item committed there would raise its own p95/p99
  and escape the rule). A sync that reaches back over a week reads each baseline once per
  day it touches (and the caller's cache keeps them per member / region, type and day);
- late-surge: when a competition day closes (bot.domain.trust_close): it needs the day's final
  total, which includes ingested activity.

A `--count verified` competition and an `all` one see the same flags: a flag is about the
activity, whichever boards count it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from bot.domain.activity_sources import is_verified
from bot.domain.ingested_days import IngestedActivity
from bot.domain.ingested_hours import NightSpan, night_spans, span_drafts
from bot.domain.trust_baselines import BaselineReader, Distribution
from bot.domain.trust_checks import region_percentiles
from bot.domain.trust_rules import (
    FlagDraft,
    LogFacts,
    big_log_bound,
    big_log_flag,
    day_total_flag,
    day_total_key,
    hours_flag,
    zone_named,
)
from bot.domain.trust_settings import TrustSettings
from bot.domain.windows import local_date, local_midnight_utc
from models import Activity, UTCDateTime
from models.entities import counted_activities

# (member id, type, local day): what one read answers for a whole batch.
MemberDay = tuple[int, str, date]
ReaderFor = Callable[[date, ZoneInfo, TrustSettings], BaselineReader]


def facts_of(activity: IngestedActivity, day_total: float = 0.0) -> LogFacts:
    """An ingested activity as the rules see a log (`day_total`: its member's day of its type)."""
    return LogFacts(
        activity.activity_id,
        activity.team_id,
        activity.member_id,
        activity.region_id,
        activity.region_name,
        activity.tz,
        activity.type,
        activity.quantity,
        activity.occurred_at,
        day_total,
        activity.source,
    )


def check_ingested(
    session: Session,
    activities: Sequence[IngestedActivity],
    settings_for: Callable[[str], TrustSettings],
    reader_for: ReaderFor,
    raised: Callable[[str], bool] = lambda key: False,
) -> list[FlagDraft]:
    """Every flag the rules raise for `activities` (created by one or more batches), in a few
    reads: baselines per member or region, type and local day (through `reader_for`'s cache),
    and one read of day totals per local day. `raised(dedupe_key)`: the caller knows that flag
    exists already (a member-day flagged by an earlier batch is neither drafted nor read again).

    Each (member, type, local day)'s baselines are the weeks before that day: an item that
    arrives days late is judged as it would have been on its own day."""
    groups: dict[MemberDay, list[IngestedActivity]] = defaultdict(list)
    days = LocalDays()
    for activity in activities:
        groups[(activity.member_id, activity.type, days.day_of(activity.occurred_at, activity.tz or "UTC"))].append(
            activity
        )
    drafts: list[FlagDraft] = []
    spans: list[NightSpan] = []
    wants_day_total: dict[MemberDay, tuple[IngestedActivity, Distribution]] = {}
    for (member_id, activity_type, day), group in groups.items():
        first = group[0]
        settings = settings_for(first.team_id)
        zone = zone_named(first.tz or "UTC")
        reader = reader_for(day, zone, settings)
        bound = big_log_bound(activity_type, settings)
        big = [activity for activity in group if bound is not None and activity.quantity > bound]
        region: Distribution | None = None
        region_ps = region_percentiles(settings)
        if first.region_id is not None and region_ps and (big or settings.day_total_percentile is not None):
            region = reader.region(first.team_id, first.region_id, activity_type, region_ps)
        drafts += typed_hours_drafts(group, settings)
        spans += night_spans(group, settings, day, days.bounds(day, first.tz or "UTC"))
        if big:
            own = reader.member(member_id, activity_type, (settings.big_log_percentile,))
            for activity in big:
                draft = big_log_flag(facts_of(activity), settings, own, region)
                if draft is not None:
                    drafts.append(draft)
        if (
            region is not None
            and settings.day_total_percentile is not None
            and region.days >= settings.history_days
            and not raised(day_total_key(member_id, day, activity_type))
        ):
            # The latest item stands for the day (its flag spans the whole local day anyway).
            latest = max(group, key=lambda activity: (activity.occurred_at, activity.activity_id))
            wants_day_total[(member_id, activity_type, day)] = (latest, region)
    drafts += span_drafts(session, spans)
    if wants_day_total:
        totals = day_totals(session, [(key, activity) for key, (activity, _) in wants_day_total.items()])
        for key, (activity, region) in wants_day_total.items():
            settings = settings_for(activity.team_id)
            draft = day_total_flag(facts_of(activity, totals.get(key, 0.0)), settings, region)
            if draft is not None:
                drafts.append(draft)
    return drafts


class LocalDays:
    """Local days and their hours' boundaries for many moments in a few zones: a moment inside a
    day found before costs two comparisons, not a conversion (a batch spans a day or two)."""

    def __init__(self) -> None:
        self._known: dict[str, list[tuple[datetime, datetime, date]]] = defaultdict(list)
        self._bounds: dict[tuple[date, str], tuple[datetime, datetime]] = {}

    def day_of(self, at: datetime, tz: str) -> date:
        known = self._known[tz]
        for start, end, day in known:
            if start <= at < end:
                return day
        zone = zone_named(tz)
        day = local_date(at, zone)
        start, end = local_midnight_utc(day, zone), local_midnight_utc(day + timedelta(days=1), zone)
        known.append((start, end, day))
        self._bounds[(day, tz)] = (start, end)
        return day

    def bounds(self, day: date, tz: str) -> tuple[datetime, datetime]:
        """The UTC midnights around `day` in `tz`, a day `day_of` found."""
        return self._bounds[(day, tz)]


def typed_hours_drafts(group: Sequence[IngestedActivity], settings: TrustSettings) -> list[FlagDraft]:
    """A flag per typed item outside the usual hours (as for a log typed in Slack)."""
    if settings.hours is None or group[0].tz is None:
        return []
    typed = [activity for activity in group if not is_verified(activity.source)]
    return [draft for activity in typed if (draft := hours_flag(facts_of(activity), settings)) is not None]


def day_totals(session: Session, days: Sequence[tuple[MemberDay, IngestedActivity]]) -> dict[MemberDay, float]:
    """Each member's total of each type on each local day (everything that counts, typed or
    ingested): one read per (zone, local day), whatever the number of members and types."""
    by_day: dict[tuple[str, date], list[MemberDay]] = defaultdict(list)
    for key, activity in days:
        by_day[(activity.tz or "UTC", key[2])].append(key)
    totals: dict[MemberDay, float] = {}
    for (tz, day), keys in by_day.items():
        zone = zone_named(tz)
        values: dict[str, Any] = {
            "members": sorted({member_id for member_id, _, _ in keys}),
            "types": sorted({activity_type for _, activity_type, _ in keys}),
            "start": local_midnight_utc(day, zone),
            "end": local_midnight_utc(day + timedelta(days=1), zone),
        }
        wanted = set(keys)
        for member_id, activity_type, total in session.execute(_day_totals_statement(), values):
            key = (member_id, activity_type, day)
            if key in wanted:
                totals[key] = float(total)
    return totals


@cache
def _day_totals_statement() -> Select[Any]:
    table = Activity.__table__
    return (
        select(table.c.member_id, table.c.type, func.sum(table.c.quantity))
        .where(
            table.c.member_id.in_(bindparam("members", expanding=True)),
            table.c.type.in_(bindparam("types", expanding=True)),
            table.c.occurred_at >= bindparam("start", type_=UTCDateTime()),
            table.c.occurred_at < bindparam("end", type_=UTCDateTime()),
            counted_activities(table.c),
        )
        .group_by(table.c.member_id, table.c.type)
    )
