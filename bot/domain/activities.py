"""Logging activity and undoing it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.domain.errors import Conflict
from bot.domain.grammar import LogCommand
from bot.domain.windows import Window, period_window
from models import Activity, Member

UNDO_LIMIT = timedelta(hours=24)


@dataclass(frozen=True)
class LogResult:
    activity: Activity
    duplicate: bool  # the same request was delivered before; nothing new was stored
    today_total: float
    week_total: float
    region_name: str | None


def log_activity(
    session: Session,
    member: Member,
    entry: LogCommand,
    *,
    now: datetime,
    idempotency_key: str | None,
    source: str = "slash",
    logged_by: str | None = None,
) -> LogResult:
    activity = _insert_unless_duplicate(session, member, entry, now, idempotency_key, source, logged_by)
    duplicate = activity is None
    if activity is None:
        activity = _find_by_key(session, member.team_id, idempotency_key)
        assert activity is not None, "ON CONFLICT skipped the insert, so the key exists"
    tz = member_zone(member)
    today_total, week_total = today_and_week_totals(session, member.id, activity.type, now, tz)
    return LogResult(
        activity=activity,
        duplicate=duplicate,
        today_total=today_total,
        week_total=week_total,
        region_name=member.region.name if member.region else None,
    )


def _insert_unless_duplicate(
    session: Session,
    member: Member,
    entry: LogCommand,
    now: datetime,
    key: str | None,
    source: str,
    logged_by: str | None,
) -> Activity | None:
    """One INSERT ... ON CONFLICT DO NOTHING RETURNING: None when this key was already logged.

    Replaces select-by-key + SAVEPOINT + INSERT + RELEASE; a concurrent duplicate can no
    longer fail the transaction, because the database skips it instead of raising.
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(Activity)
        .values(
            team_id=member.team_id,
            member_id=member.id,
            region_id=member.region_id,
            type=entry.type,
            quantity=entry.quantity,
            amount_cents=entry.amount_cents,
            note=entry.note,
            occurred_at=now,
            logged_by=logged_by or member.user_id,
            source=source,
            idempotency_key=key,
        )
        .on_conflict_do_nothing(index_elements=["team_id", "idempotency_key"])
        .returning(Activity)
    )
    return session.scalars(statement).one_or_none()


def today_and_week_totals(
    session: Session, member_id: int, activity_type: str, now: datetime, tz: ZoneInfo
) -> tuple[float, float]:
    """Both totals in one pass over the week (today always falls inside this week)."""
    today, week = period_window("today", now, tz), period_window("week", now, tz)
    in_today = (Activity.occurred_at >= today.start) & (Activity.occurred_at < today.end)
    row = session.execute(
        select(
            func.coalesce(func.sum(case((in_today, Activity.quantity), else_=0.0)), 0.0),
            func.coalesce(func.sum(Activity.quantity), 0.0),
        ).where(
            Activity.member_id == member_id,
            Activity.type == activity_type,
            Activity.occurred_at >= week.start,
            Activity.occurred_at < week.end,
            Activity.deleted_at.is_(None),
        )
    ).one()
    return float(row[0]), float(row[1])


def _find_by_key(session: Session, team_id: str, key: str | None) -> Activity | None:
    if key is None:
        return None
    return session.scalars(
        select(Activity).where(Activity.team_id == team_id, Activity.idempotency_key == key)
    ).one_or_none()


def member_zone(member: Member) -> ZoneInfo:
    return ZoneInfo(member.region.tz) if member.region else ZoneInfo("UTC")


def member_totals(session: Session, member_id: int, window: Window) -> dict[str, float]:
    rows = session.execute(
        select(Activity.type, func.sum(Activity.quantity))
        .where(
            Activity.member_id == member_id,
            Activity.occurred_at >= window.start,
            Activity.occurred_at < window.end,
            Activity.deleted_at.is_(None),
        )
        .group_by(Activity.type)
    )
    return {activity_type: float(total) for activity_type, total in rows}


def undo_last(session: Session, member: Member, *, now: datetime) -> Activity:
    latest = session.scalars(
        select(Activity)
        .where(Activity.member_id == member.id, Activity.deleted_at.is_(None))
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(1)
    ).first()
    if latest is None or now - latest.occurred_at > UNDO_LIMIT:
        raise Conflict("There's nothing of yours from the last 24 hours to undo.")
    latest.deleted_at = now
    session.flush()
    return latest
