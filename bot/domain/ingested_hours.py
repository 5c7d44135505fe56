"""The hours rule on activity a system recorded (bot.domain.trust_ingested): one flag per member,
type, local day and side of the day (before the usual hours start, after they end), not one
per call of a dialer's night shift.

- No flag there yet: a new one spans that whole side of the day and covers what systems
  recorded in it.
- That flag is open: a later batch of the same night adds to it: it already covers the new
  items, and its figures and summary are brought up to date from what it covers now
  (`refresh_span_flags`, in the flags' write), so a manager reads the whole night.
- That flag was kept or voided: what arrives afterwards is a new flag (its key names the one
  resolved, `…:before#r12`) spanning the new items only, from the first to the last of them
  (widened while it is open as more arrive): a manager's answer never silently covers activity
  that arrived after it. A kept night's activity that occurred between the new items' first
  and last is inside that span too (a span flag covers a stretch of time, not a list of logs).

One read of the flags already raised on the batch's member-days, and only when a system
recorded something outside the usual hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.activity_sources import is_verified
from bot.domain.ingested_days import IngestedActivity
from bot.domain.schedule_times import local_to_utc
from bot.domain.trust_rules import RULE_HOURS, FlagDraft, quantity_text, zone_named
from bot.domain.trust_settings import TrustSettings
from models import Flag
from models.trust import FLAG_OPEN

# The end of a span of new items: just after the last of them ([start, end) spans).
JUST_AFTER = timedelta(microseconds=1)


@dataclass(frozen=True)
class NightSpan:
    """What systems recorded of one member's type on one side of a local day, outside the usual
    hours, in the batch being checked."""

    settings: TrustSettings
    day: date
    side: str
    side_span: tuple[datetime, datetime]  # that whole side of the day, UTC
    outside: Sequence[IngestedActivity]

    @property
    def first(self) -> IngestedActivity:
        return self.outside[0]

    @property
    def key(self) -> str:
        return span_key(self.first.member_id, self.day, self.first.type, self.side)

    @property
    def items_span(self) -> tuple[datetime, datetime]:
        return (
            min(activity.occurred_at for activity in self.outside),
            max(activity.occurred_at for activity in self.outside) + JUST_AFTER,
        )


@dataclass(frozen=True)
class RaisedSpan:
    """The latest hours flag on one side of a member's day."""

    id: int
    dedupe_key: str
    state: str
    span: tuple[datetime, datetime]


def span_key(member_id: int, day: date, activity_type: str, side: str) -> str:
    return f"{RULE_HOURS}:m{member_id}:{day.isoformat()}:{activity_type}:{side}"


def night_spans(
    group: Sequence[IngestedActivity], settings: TrustSettings, day: date, bounds: tuple[datetime, datetime]
) -> list[NightSpan]:
    """One member's items of one type on one local day (`bounds`: its midnights, UTC) that a
    system recorded outside the usual hours, per side of the day. Pure."""
    first = group[0]
    if settings.hours is None or first.tz is None:
        return []
    recorded = [activity for activity in group if is_verified(activity.source)]
    if not recorded:
        return []
    start, end = settings.hours
    midnight, next_midnight = bounds
    opens = _local_moment(day, start, first.tz)
    closes = next_midnight if end == time.max else _local_moment(day, end, first.tz)
    spans = []
    for side, span_start, span_end in (("before", midnight, opens), ("after", closes, next_midnight)):
        outside = [activity for activity in recorded if span_start <= activity.occurred_at < span_end]
        if outside:
            spans.append(NightSpan(settings, day, side, (span_start, span_end), outside))
    return spans


@lru_cache(maxsize=1024)
def _local_moment(day: date, at: time, tz: str) -> datetime:
    return local_to_utc(day, at, tz)


def span_drafts(session: Session, spans: Sequence[NightSpan]) -> list[FlagDraft]:
    """A draft per night span: a new flag, the open one it adds to, or a new one after a
    resolved one (see the module's docstring). One read of the flags already raised."""
    if not spans:
        return []
    raised = latest_span_flags(session, spans)
    drafts = []
    for night in spans:
        latest = raised.get(night.key)
        if latest is None:
            key, span = night.key, night.side_span
        elif latest.state == FLAG_OPEN:
            new_start, new_end = night.items_span
            key, span = latest.dedupe_key, (min(latest.span[0], new_start), max(latest.span[1], new_end))
        else:
            key, span = f"{night.key}#r{latest.id}", night.items_span
        drafts.append(_draft(night, key, span))
    return drafts


def latest_span_flags(session: Session, spans: Sequence[NightSpan]) -> dict[str, RaisedSpan]:
    """The latest hours flag on each span's side of its member's day, by the span's key."""
    wanted = {night.key for night in spans}
    table = Flag.__table__
    rows = session.execute(
        select(
            table.c.id,
            table.c.dedupe_key,
            table.c.state,
            table.c.span_start,
            table.c.span_end,
            table.c.member_id,
            table.c.local_date,
            table.c.activity_type,
            table.c.figures,
        ).where(
            table.c.member_id.in_(sorted({night.first.member_id for night in spans})),
            table.c.local_date.in_(sorted({night.day for night in spans})),
            table.c.rule == RULE_HOURS,
            table.c.activity_id.is_(None),
        )
    )
    latest: dict[str, RaisedSpan] = {}
    for flag_id, dedupe_key, state, start, end, member_id, day, activity_type, figures in rows:
        side = (figures or {}).get("side")
        if activity_type is None or side is None:
            continue
        key = span_key(member_id, day, activity_type, side)
        if key in wanted and (key not in latest or latest[key].id < flag_id):
            latest[key] = RaisedSpan(flag_id, dedupe_key, state, (start, end))
    return latest


def _draft(night: NightSpan, key: str, span: tuple[datetime, datetime]) -> FlagDraft:
    outside = night.outside
    first = night.first
    assert first.tz is not None
    figures, summary = span_figures(
        night.settings,
        first.type,
        first.tz,
        night.side,
        Covered(
            logs=len(outside),
            quantity=sum(activity.quantity for activity in outside),
            sources=sorted({activity.source for activity in outside}),
            earliest=min(activity.occurred_at for activity in outside),
            latest=max(activity.occurred_at for activity in outside),
        ),
    )
    return FlagDraft(
        team_id=first.team_id,
        rule=RULE_HOURS,
        member_id=first.member_id,
        region_id=first.region_id,
        local_date=night.day,
        span_start=span[0],
        span_end=span[1],
        summary=summary,
        dedupe_key=key,
        figures=figures,
        activity_type=first.type,
    )


@dataclass(frozen=True)
class Covered:
    logs: int
    quantity: float
    sources: list[str]
    earliest: datetime
    latest: datetime


def span_figures(
    settings: TrustSettings, activity_type: str, tz: str, side: str, covered: Covered
) -> tuple[dict[str, object], str]:
    assert settings.hours is not None
    start, end = settings.hours
    shown_end = "24:00" if end == time.max else _hh_mm(end)
    return _figures(activity_type, tz, side, covered, _hh_mm(start), shown_end)


def _figures(
    activity_type: str, tz: str, side: str, covered: Covered, start: str, end: str
) -> tuple[dict[str, object], str]:
    zone = zone_named(tz)
    earliest, latest = covered.earliest.astimezone(zone), covered.latest.astimezone(zone)
    first_local, last_local = _hh_mm(earliest), _hh_mm(latest)
    when = f"at {first_local}" if earliest == latest else f"{first_local}–{last_local}"
    summary = (
        f"{quantity_text(covered.quantity, activity_type)} recorded by {', '.join(covered.sources)} {when} {tz}, "
        f"outside {start}–{end}"
    )
    figures: dict[str, object] = {
        "side": side,
        "first_local_time": first_local,
        "last_local_time": last_local,
        "logs": covered.logs,
        "quantity": covered.quantity,
        "sources": covered.sources,
        "start": start,
        "end": end,
        "tz": tz,
        "verified_only": True,  # what it covers: bot.domain.flags.covered_condition
    }
    return figures, summary


def _hh_mm(moment: datetime | time) -> str:
    # What f"{moment:%H:%M}" gives, without strftime: ~6 us for an aware datetime, twice for
    # every night flag drafted or refreshed.
    return f"{moment.hour:02d}:{moment.minute:02d}"


def is_span_draft(draft: FlagDraft) -> bool:
    return draft.rule == RULE_HOURS and draft.activity_id is None and draft.figures.get("verified_only") is True
