"""Logging activity and undoing it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, case, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from bot.domain.activity_sources import SELF_REPORTED_SOURCES
from bot.domain.competition_caps import refuse_over_cap
from bot.domain.directory import MemberRef
from bot.domain.errors import Conflict
from bot.domain.grammar import LogCommand
from bot.domain.text_input import require_plain_text, unsafe_character
from bot.domain.windows import Window, period_window
from models import Activity, Member, UTCDateTime
from models.entities import counted_activities

UNDO_LIMIT = timedelta(hours=24)
MAX_KEY_LENGTH = 128  # activities.idempotency_key


def request_key(source: str, user_id: str, token: str) -> str:
    """The idempotency key of one request: a redelivery carries the same `token` (a slash
    command's trigger_id, a modal's view id and hash) from the same person.

    The user is part of the key because the token alone is only as unique as the sender
    makes it: another person's request carrying the same trigger_id is a new log, not a
    redelivery of the first. A token too long for the column, or with characters it can't
    hold, is stored as its SHA-256.
    """
    key = f"{source}:{user_id}:{token}"
    if len(key) <= MAX_KEY_LENGTH and unsafe_character(key) is None:
        return key
    digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{source}:{user_id}:sha256:{digest}"[:MAX_KEY_LENGTH]


@dataclass(frozen=True)
class LoggedActivity:
    """A log as stored: what the reply and the live standings need."""

    id: int
    team_id: str
    member_id: int
    region_id: int | None
    type: str
    quantity: float
    amount_cents: int | None
    note: str | None
    occurred_at: datetime
    source: str = "slash"  # see bot.domain.activity_sources

    @classmethod
    def of(cls, row: Activity) -> LoggedActivity:
        return cls(
            row.id,
            row.team_id,
            row.member_id,
            row.region_id,
            row.type,
            row.quantity,
            row.amount_cents,
            row.note,
            row.occurred_at,
            row.source,
        )


@dataclass(frozen=True)
class LogResult:
    activity: LoggedActivity
    duplicate: bool  # the same request was delivered before; nothing new was stored
    today_total: float
    week_total: float
    region_name: str | None
    region_tz: str | None = None  # the logging member's region's zone, read with the member
    # The member's typed logs in the RECENT_LOGS_WINDOW up to this one (this one included),
    # read by the same query as the totals: the flag rules' burst check needs no read of its
    # own unless this reaches its threshold (bot.features.log_flagger).
    recent_typed_logs: int = 0


def log_activity(
    session: Session,
    member: Member | MemberRef,
    entry: LogCommand,
    *,
    now: datetime,
    idempotency_key: str | None,
    source: str = "slash",
    logged_by: str | None = None,
) -> LogResult:
    who = member if isinstance(member, MemberRef) else MemberRef.of(member)
    refuse_over_cap(
        session,
        team_id=who.team_id,
        region_id=who.region_id,
        tz=who.tz,
        activity_type=entry.type,
        quantity=float(entry.quantity),
        source=source,
        now=now,
    )
    activity = _insert_unless_duplicate(session, who, entry, now, idempotency_key, source, logged_by)
    duplicate = activity is None
    if activity is None:
        activity = _find_by_key(session, who.team_id, idempotency_key)
        assert activity is not None, "ON CONFLICT skipped the insert, so the key exists"
    totals = log_totals(session, who.id, activity.type, now, who.zone)
    return LogResult(
        activity=activity,
        duplicate=duplicate,
        today_total=totals.today,
        week_total=totals.week,
        region_name=who.region_name,
        region_tz=who.tz,
        recent_typed_logs=totals.recent_typed_logs,
    )


def _insert_unless_duplicate(
    session: Session,
    who: MemberRef,
    entry: LogCommand,
    now: datetime,
    key: str | None,
    source: str,
    logged_by: str | None,
) -> LoggedActivity | None:
    """One INSERT ... ON CONFLICT DO NOTHING RETURNING: None when this key was already logged.

    A concurrent duplicate can't fail the transaction: the database skips it instead of raising.
    """
    # The grammar and the modal already refuse these; this keeps any other caller honest.
    note = (require_plain_text(entry.note, "Notes") or None) if entry.note else None
    values = {
        "team_id": who.team_id,
        "member_id": who.id,
        "region_id": who.region_id,
        "type": entry.type,
        "quantity": float(entry.quantity),
        "amount_cents": entry.amount_cents,
        "note": note,
        "occurred_at": now,
        "logged_by": logged_by or who.user_id,
        "source": source,
        "idempotency_key": key,
    }
    new_id = session.execute(_insert_statement(session.get_bind().dialect.name), values).scalar_one_or_none()
    if new_id is None:
        return None
    return LoggedActivity(
        id=new_id,
        team_id=who.team_id,
        member_id=who.id,
        region_id=who.region_id,
        type=entry.type,
        quantity=float(entry.quantity),
        amount_cents=entry.amount_cents,
        note=note,
        occurred_at=now,
        source=source,
    )


@cache
def _insert_statement(dialect_name: str) -> ReturningInsert[Any]:
    # Built once: a statement made per call spends more CPU on its cache key than on the insert.
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    table = Activity.__table__
    statement: ReturningInsert[Any] = (
        dialect.insert(table)
        .on_conflict_do_nothing(index_elements=["team_id", "idempotency_key"])
        .returning(table.c.id)
    )
    return statement


# How far back a log's own query counts the member's typed logs: the flag rules' burst window
# unless a workspace sets a longer one (bot.domain.trust_settings, burst-seconds; then every
# log is checked after its ack).
RECENT_LOGS_WINDOW = timedelta(seconds=60)
TYPED_SOURCES = tuple(sorted(SELF_REPORTED_SOURCES))


@dataclass(frozen=True)
class LogTotals:
    today: float
    week: float
    recent_typed_logs: int


def today_and_week_totals(
    session: Session, member_id: int, activity_type: str, now: datetime, tz: ZoneInfo
) -> tuple[float, float]:
    totals = log_totals(session, member_id, activity_type, now, tz)
    return totals.today, totals.week


def log_totals(session: Session, member_id: int, activity_type: str, now: datetime, tz: ZoneInfo) -> LogTotals:
    """Both totals in one pass over the week (today always falls inside this week), and the
    member's typed logs of the last RECENT_LOGS_WINDOW, in the same query."""
    today, week = period_window("today", now, tz), period_window("week", now, tz)
    values = {
        "member_id": member_id,
        "type": activity_type,
        "today_start": today.start,
        "today_end": today.end,
        "week_start": week.start,
        "week_end": week.end,
        "recent_since": now - RECENT_LOGS_WINDOW,
        "recent_until": now,
    }
    values |= {f"source{n}": source for n, source in enumerate(TYPED_SOURCES)}
    row = session.execute(_totals_statement(), values).one()
    return LogTotals(float(row[0]), float(row[1]), int(row[2]))


@cache
def _totals_statement() -> Select[Any]:
    table = Activity.__table__
    in_today = (table.c.occurred_at >= bindparam("today_start")) & (table.c.occurred_at < bindparam("today_end"))
    typed = or_(*(table.c.source == bindparam(f"source{n}") for n in range(len(TYPED_SOURCES))))
    recent = (
        select(func.count())
        .where(
            table.c.member_id == bindparam("member_id"),
            table.c.occurred_at > bindparam("recent_since", type_=UTCDateTime()),
            table.c.occurred_at <= bindparam("recent_until", type_=UTCDateTime()),
            typed,
            counted_activities(table.c),
        )
        .scalar_subquery()
    )
    return select(
        func.coalesce(func.sum(case((in_today, table.c.quantity), else_=0.0)), 0.0),
        func.coalesce(func.sum(table.c.quantity), 0.0),
        recent,
    ).where(
        table.c.member_id == bindparam("member_id"),
        table.c.type == bindparam("type"),
        table.c.occurred_at >= bindparam("week_start"),
        table.c.occurred_at < bindparam("week_end"),
        counted_activities(table.c),
    )


def _find_by_key(session: Session, team_id: str, key: str | None) -> LoggedActivity | None:
    if key is None:
        return None
    found = session.scalars(
        select(Activity).where(Activity.team_id == team_id, Activity.idempotency_key == key)
    ).one_or_none()
    return None if found is None else LoggedActivity.of(found)


def member_zone(member: Member) -> ZoneInfo:
    return ZoneInfo(member.region.tz) if member.region else ZoneInfo("UTC")


def member_totals(session: Session, member_id: int, window: Window) -> dict[str, float]:
    rows = session.execute(
        select(Activity.type, func.sum(Activity.quantity))
        .where(
            Activity.member_id == member_id,
            Activity.occurred_at >= window.start,
            Activity.occurred_at < window.end,
            counted_activities(),
        )
        .group_by(Activity.type)
    )
    return {activity_type: float(total) for activity_type, total in rows}


def undo_last(session: Session, member: Member, *, now: datetime) -> Activity:
    latest = session.scalars(
        select(Activity)
        .where(Activity.member_id == member.id, counted_activities())
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(1)
    ).first()
    if latest is None or now - latest.occurred_at > UNDO_LIMIT:
        raise Conflict("There's nothing of yours from the last 24 hours to undo.")
    latest.deleted_at = now
    session.flush()
    return latest
