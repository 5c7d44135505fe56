"""Flags as stored: raising them once, disputes, what they cover, and listing them for managers.

A flag is about one activity (`activity_id`) or about a member's logs over a span (their
day, a burst, a competition's last minutes), of one type or of every type. What it *covers*
is the activities that still count in that scope: what voiding it would take away
(bot.domain.voiding). Listings leave out flags that cover nothing any more (the member undid
the log): there is nothing left to look at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from bot.domain.activities import member_totals
from bot.domain.activity_sources import COUNT_VERIFIED, SELF_REPORTED_SOURCES, verified_only
from bot.domain.competition_closing import counting_until
from bot.domain.competition_days import competitions_today
from bot.domain.directory import audit, get_member
from bot.domain.errors import Conflict, NotFound
from bot.domain.flag_store import store_drafts
from bot.domain.text_input import require_plain_text
from bot.domain.trust_rules import (
    RULE_BIG_LOG,
    RULE_DAY_TOTAL,
    RULE_DISPUTE,
    RULE_REVIEW,
    FlagDraft,
    quantity_text,
)
from bot.domain.windows import local_midnight_utc, period_window
from models import Activity, CompetitionDay, Flag, Member, Spin
from models.competitions import REVIEW_NEVER
from models.entities import counted_activities
from models.trust import FLAG_OPEN, FLAG_STATES

LISTED_AT_MOST = 200


# --- what a flag covers ------------------------------------------------------------------------


def covered_condition(flag: Flag) -> ColumnElement[bool]:
    """The activities a flag is about that still count."""
    if flag.activity_id is not None:
        return and_(Activity.id == flag.activity_id, counted_activities())
    conditions = [
        Activity.member_id == flag.member_id,
        Activity.occurred_at >= flag.span_start,
        Activity.occurred_at < flag.span_end,
        counted_activities(),
    ]
    if flag.activity_type is not None:
        conditions.append(Activity.type == flag.activity_type)
    if (flag.figures or {}).get("typed_only"):
        conditions.append(Activity.source.in_(sorted(SELF_REPORTED_SOURCES)))
    if (flag.figures or {}).get("verified_only"):  # e.g. a night of a dialer's calls (trust_ingested)
        conditions.append(Activity.source.not_in(sorted(SELF_REPORTED_SOURCES)))
    return and_(*conditions)


def covered_activities(session: Session, flag: Flag) -> list[Activity]:
    return list(session.scalars(select(Activity).where(covered_condition(flag)).order_by(Activity.occurred_at)))


@dataclass(frozen=True)
class Covered:
    logs: int
    # Per type, the quantity a void would take away (a span flag of every type can cover several).
    quantities: dict[str, float]
    first_at: datetime | None
    last_at: datetime | None


def covered_summary(session: Session, flag: Flag) -> Covered:
    rows = session.execute(
        select(
            Activity.type,
            func.count(),
            func.sum(Activity.quantity),
            func.min(Activity.occurred_at),
            func.max(Activity.occurred_at),
        )
        .where(covered_condition(flag))
        .group_by(Activity.type)
    ).all()
    return Covered(
        logs=sum(int(r[1]) for r in rows),
        quantities={str(r[0]): float(r[2]) for r in rows},
        first_at=min((r[3] for r in rows), default=None),
        last_at=max((r[4] for r in rows), default=None),
    )


# --- listing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlagView:
    id: int
    rule: str
    state: str
    summary: str
    note: str | None
    member_id: int
    user_id: str
    name: str
    region: str | None
    tz: str
    local_date: date
    activity_type: str | None
    raised_by: str
    created_at: datetime
    covered: Covered
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolution_reason: str | None = None
    # The figures the rule recorded when it raised the flag (the evidence: they never change).
    figures: dict[str, Any] = field(default_factory=dict)
    # For the rules whose figure is the member's day or a log of it (big-log, day-total): their
    # counted total of the type on that local day now, which logs since (or undone) change.
    day_total_now: float | None = None

    @property
    def is_dispute(self) -> bool:
        return self.rule == "dispute"


def flag_view(session: Session, flag: Flag) -> FlagView:
    member = flag.member
    region = flag.region or member.region
    tz = region.tz if region else "UTC"
    return FlagView(
        id=flag.id,
        rule=flag.rule,
        state=flag.state,
        summary=flag.summary,
        note=flag.note,
        member_id=member.id,
        user_id=member.user_id,
        name=member.display_name,
        region=region.name if region else None,
        tz=tz,
        local_date=flag.local_date,
        activity_type=flag.activity_type,
        raised_by=flag.raised_by,
        created_at=flag.created_at,
        covered=covered_summary(session, flag),
        resolved_by=flag.resolved_by,
        resolved_at=flag.resolved_at,
        resolution_reason=flag.resolution_reason,
        figures=dict(flag.figures or {}),
        day_total_now=_day_total_now(session, flag, ZoneInfo(tz)),
    )


# The rules whose summary starts with a figure of the member's day: the day's total, or one log of it.
ABOUT_A_DAYS_FIGURE = frozenset({RULE_DAY_TOTAL, RULE_BIG_LOG})


def _day_total_now(session: Session, flag: Flag, zone: ZoneInfo) -> float | None:
    """The member's counted total of the flag's type on its local day, as it stands now (the
    day-total rule's own sum: every source, not undone or voided); None for other rules."""
    if flag.rule not in ABOUT_A_DAYS_FIGURE or flag.activity_type is None:
        return None
    total = session.scalar(
        select(func.coalesce(func.sum(Activity.quantity), 0.0)).where(
            Activity.member_id == flag.member_id,
            Activity.type == flag.activity_type,
            Activity.occurred_at >= local_midnight_utc(flag.local_date, zone),
            Activity.occurred_at < local_midnight_utc(flag.local_date + timedelta(days=1), zone),
            counted_activities(),
        )
    )
    return float(total or 0.0)


def list_flags(
    session: Session,
    team_id: str,
    *,
    region_id: int | None = None,
    state: str | None = FLAG_OPEN,
    limit: int = LISTED_AT_MOST,
) -> tuple[list[FlagView], int]:
    """Flags newest first (open ones by default, in one region or all), and how many there are
    in all. Open flags that cover nothing any more (an undone log) are left out."""
    if state is not None and state not in FLAG_STATES:
        raise NotFound(f"`{state}` isn't a flag state.", "States: " + ", ".join(FLAG_STATES) + ".")
    query = select(Flag).where(Flag.team_id == team_id)
    if state is not None:
        query = query.where(Flag.state == state)
    if region_id is not None:
        query = query.where(Flag.region_id == region_id)
    if state == FLAG_OPEN:
        query = query.where(_still_covers_something())
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = session.scalars(
        query.options(joinedload(Flag.member).joinedload(Member.region), joinedload(Flag.region))
        .order_by(Flag.id.desc())
        .limit(limit)
    ).all()
    return [flag_view(session, flag) for flag in rows], total


def _still_covers_something() -> ColumnElement[bool]:
    """Cheap in SQL: an activity flag whose log still counts, or any span flag (a span with
    nothing left is rare, and shown with "0 logs" rather than hidden)."""
    live_activity = select(Activity.id).where(Activity.id == Flag.activity_id, counted_activities()).exists()
    return or_(Flag.activity_id.is_(None), live_activity)


# --- review before the spin -----------------------------------------------------------------


def blocking_flags(session: Session, day: CompetitionDay, member_id: int) -> list[Flag]:
    """The open flags that keep the wheel from spinning for this winner of this day: on their
    day, about the day's metric (or every type), overlapping the counted window, and covering
    activity the day counts. None when the competition never reviews.

    A flag on logs the day doesn't count (typed ones on a verified-only day, another region's,
    after the close) doesn't block: voiding it couldn't change the day. A dispute or a
    winner review is about the member's day itself and blocks as it is."""
    if day.competition.review == REVIEW_NEVER:
        return []
    until = counting_until(day)
    candidates = session.scalars(
        select(Flag)
        .where(
            Flag.member_id == member_id,
            Flag.local_date == day.local_date,
            Flag.state == FLAG_OPEN,
            or_(Flag.activity_type.is_(None), Flag.activity_type == day.metric),
            Flag.span_start < until,
            Flag.span_end > day.window_start,
            _still_covers_something(),
        )
        .order_by(Flag.id)
    ).all()
    counted = _counted_by(day, until)
    return [
        flag
        for flag in candidates
        if flag.rule in ABOUT_THE_DAY
        or session.scalar(select(select(Activity.id).where(covered_condition(flag), counted).exists()))
    ]


# Flags about a member's day as a whole rather than about some of their logs.
ABOUT_THE_DAY = frozenset({RULE_DISPUTE, RULE_REVIEW})


def _counted_by(day: CompetitionDay, until: datetime) -> ColumnElement[bool]:
    """The activities a competition day counts (bot.domain.competition_closing's standings):
    its metric, in its region and window up to `until`, and on a verified-only day only what a
    system recorded."""
    conditions = [
        Activity.type == day.metric,
        Activity.region_id == day.region_id,
        Activity.occurred_at >= day.window_start,
        Activity.occurred_at < until,
    ]
    if day.counts == COUNT_VERIFIED:
        conditions.append(verified_only())
    return and_(*conditions)


def review_needed(session: Session, day: CompetitionDay) -> dict[int, list[Flag]]:
    """Per winner who hasn't spun yet, the flags that block their spin (winners with none left out)."""
    spun = set(session.scalars(select(Spin.member_id).where(Spin.competition_day_id == day.id)))
    needed = {}
    for winner in day.winners:
        if winner.member_id in spun:
            continue
        blocking = blocking_flags(session, day, winner.member_id)
        if blocking:
            needed[winner.member_id] = blocking
    return needed


# --- disputes ------------------------------------------------------------------------------------

MAX_DISPUTE_REASON = 300


@dataclass(frozen=True)
class Dispute:
    flag_id: int | None  # None: this person had already disputed that member's day
    disputed_user_id: str
    activity_type: str | None  # today's competition metric in their region; None: every type
    total: float
    local_date: date

    @property
    def created(self) -> bool:
        return self.flag_id is not None


def raise_dispute(
    session: Session, team_id: str, disputer_user_id: str, disputed_user_id: str, reason: str | None, now: datetime
) -> Dispute:
    """A flag on the disputed member's day (today, in their region): about today's competition
    metric when a competition runs there today, else about every type. Anyone in the same
    region may raise one, once a day per person they dispute."""
    disputer = get_member(session, team_id, disputer_user_id)
    if disputer is None or disputer.region is None:
        raise Conflict("Join a region first: disputes are between people in one region.", "/pg join <region>")
    disputed = get_member(session, team_id, disputed_user_id)
    if disputed is None or disputed.region_id != disputer.region_id:
        who = disputed.display_name if disputed is not None else "That person"
        raise Conflict(f"{who} isn't in {disputer.region.name}: you can dispute totals in your own region only.")
    if disputed.id == disputer.id:
        raise Conflict("That's your own day: there's nothing to dispute. `/pg undo` removes your last log.")
    note = require_plain_text(reason.strip(), "A dispute's reason") if reason and reason.strip() else None
    if note is not None and len(note) > MAX_DISPUTE_REASON:
        raise Conflict(f"Keep the reason under {MAX_DISPUTE_REASON} characters; yours has {len(note):,}.")
    region = disputer.region
    zone = ZoneInfo(region.tz)
    today = period_window("today", now, zone)
    running = competitions_today(session, region, now)
    activity_type = running[0].metric if running else None
    totals = member_totals(session, disputed.id, today)
    total = totals.get(activity_type, 0.0) if activity_type else sum(totals.values())
    if activity_type:
        what = (
            f"their {quantity_text(total, activity_type)} today"
            if total
            else f"their {activity_type}s today (none yet)"
        )
    else:
        what = (
            "their day (" + (" · ".join(quantity_text(q, t) for t, q in sorted(totals.items())) or "nothing yet") + ")"
        )
    draft = FlagDraft(
        team_id=team_id,
        rule=RULE_DISPUTE,
        member_id=disputed.id,
        region_id=region.id,
        local_date=today.first_day,
        span_start=today.start,
        span_end=today.end,
        summary=f"Disputed by a teammate: {what}",
        dedupe_key=f"{RULE_DISPUTE}:m{disputed.id}:{today.first_day.isoformat()}:{disputer_user_id}",
        figures={"total": total, "type": activity_type},
        activity_type=activity_type,
        raised_by=disputer_user_id,
        note=note,
    )
    created = store_drafts(session, [draft], now)
    if created:
        audit(session, team_id, disputer_user_id, "flag.dispute", f"flag:{created[0]}", {"member": disputed_user_id})
    return Dispute(created[0] if created else None, disputed_user_id, activity_type, total, today.first_day)
