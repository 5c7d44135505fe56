"""Working days, holidays and prospecting streaks against the database.

The streak rule itself lives in the pure module `bot.domain.streaks`; this module loads a
workspace's calendar (working weekdays and holidays), stores changes to it, and counts a
member's current streak from their activity dates in their region's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.activities import member_zone
from bot.domain.directory import audit, ensure_workspace
from bot.domain.errors import Conflict
from bot.domain.streaks import MON_FRI, current_streak, is_working_day
from bot.domain.windows import local_date, local_midnight_utc
from models import Activity, Holiday, Member, Workspace

# Closing a deal is not outreach: it keeps nobody's prospecting streak alive.
NON_STREAK_TYPES = frozenset({"deal"})
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_STREAK_LOOKBACK_DAYS = (35, 400, 4000)


@dataclass(frozen=True)
class WorkCalendar:
    working_days: frozenset[int]
    holidays: frozenset[date]


def work_calendar(session: Session, team_id: str) -> WorkCalendar:
    workspace = session.get(Workspace, team_id)
    configured = (workspace.settings or {}).get("working_days") if workspace else None
    days = frozenset(int(d) for d in configured) if configured else MON_FRI
    holidays = frozenset(session.scalars(select(Holiday.day).where(Holiday.team_id == team_id)))
    return WorkCalendar(days, holidays)


def parse_weekdays(text: str) -> frozenset[int]:
    """`mon-fri`, `sun-thu` or a list such as `mon,tue,thu`."""
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in WEEKDAY_NAMES or (last and last not in WEEKDAY_NAMES):
            raise Conflict(
                f"`{part}` isn't a weekday or a range of them.", "For example: mon-fri, sun-thu or mon,wed,fri"
            )
        start, end = WEEKDAY_NAMES.index(first), WEEKDAY_NAMES.index(last or first)
        span = (end - start) % 7
        days.update((start + offset) % 7 for offset in range(span + 1))
    return frozenset(days)


def set_working_days(session: Session, team_id: str, days: frozenset[int], *, actor: str) -> None:
    if not days or not all(0 <= d <= 6 for d in days):
        raise Conflict("Pick at least one weekday.")
    workspace = ensure_workspace(session, team_id)
    # JSON columns don't track in-place edits: assign a new dict.
    workspace.settings = {**(workspace.settings or {}), "working_days": sorted(days)}
    session.flush()
    audit(session, team_id, actor, "workdays.set", None, {"days": sorted(days)})


def add_holiday(session: Session, team_id: str, day: date, name: str | None, *, actor: str) -> Holiday:
    """Add a holiday (or rename it, if that day is already one; without a name, a name it has is kept)."""
    ensure_workspace(session, team_id)
    holiday = _find_holiday(session, team_id, day)
    if holiday is None:
        holiday = Holiday(team_id=team_id, day=day)
        session.add(holiday)
    if name or holiday.name is None:
        holiday.name = name
    session.flush()
    audit(session, team_id, actor, "holiday.add", day.isoformat(), {"name": name})
    return holiday


def remove_holiday(session: Session, team_id: str, day: date, *, actor: str) -> bool:
    holiday = _find_holiday(session, team_id, day)
    if holiday is None:
        return False
    session.delete(holiday)
    session.flush()
    audit(session, team_id, actor, "holiday.remove", day.isoformat(), {})
    return True


def _find_holiday(session: Session, team_id: str, day: date) -> Holiday | None:
    return session.scalars(select(Holiday).where(Holiday.team_id == team_id, Holiday.day == day)).one_or_none()


def list_holidays(session: Session, team_id: str) -> list[Holiday]:
    return list(session.scalars(select(Holiday).where(Holiday.team_id == team_id).order_by(Holiday.day)))


@dataclass(frozen=True)
class StreakSummary:
    days: int  # consecutive working days with outreach, ending today (or the last working day)
    logged_today: bool
    today_is_working_day: bool

    @property
    def at_risk(self) -> bool:
        """A running streak that ends tonight unless something is logged."""
        return self.days > 0 and self.today_is_working_day and not self.logged_today


def member_streak(
    session: Session, member: Member, now: datetime, calendar: WorkCalendar | None = None
) -> StreakSummary:
    """The member's current streak, from their activity dates in their region's time zone."""
    calendar = calendar or work_calendar(session, member.team_id)
    tz = member_zone(member)
    today = local_date(now, tz)
    working_today = is_working_day(today, calendar.working_days, calendar.holidays)
    streak, dates = 0, frozenset[date]()
    # Look back a month first; only a streak that fills the whole window needs a longer look.
    for lookback in _STREAK_LOOKBACK_DAYS:
        first = today - timedelta(days=lookback)
        dates = _active_dates(session, member.id, local_midnight_utc(first, tz), now, tz)
        streak = current_streak(dates, today, calendar.working_days, calendar.holidays)
        # An unlogged working day today doesn't count yet (the day isn't over).
        counted_until = today if today in dates or not working_today else today - timedelta(days=1)
        if streak < _working_days_between(first, counted_until, calendar):
            break  # the run broke inside the window, so it is complete
    return StreakSummary(days=streak, logged_today=today in dates, today_is_working_day=working_today)


def _active_dates(session: Session, member_id: int, since: datetime, now: datetime, tz: ZoneInfo) -> frozenset[date]:
    moments = session.scalars(
        select(Activity.occurred_at).where(
            Activity.member_id == member_id,
            Activity.type.not_in(sorted(NON_STREAK_TYPES)),
            Activity.occurred_at >= since,
            Activity.occurred_at <= now,
            Activity.deleted_at.is_(None),
        )
    )
    return frozenset(local_date(moment, tz) for moment in moments)


def _working_days_between(first: date, last: date, calendar: WorkCalendar) -> int:
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return sum(1 for day in days if is_working_day(day, calendar.working_days, calendar.holidays))
