"""What a region's TV shows (`/tv/<token>/state`), built from the domain functions behind the
channel's own posts: the live standings and the results (bot.domain.competition_closing), the
spin (bot.domain.spins, bot.domain.wheel), the week's board (bot.domain.boards), goals
(bot.domain.goal_store) and the leaders' hours target (bot.domain.summary).

The state is plain JSON with only what the region's channel already sees: display names,
numbers, the competition's name, metric and window, prize names and the spin's outcome. No
user ids, no notes, no emails. It holds no clock either: the page counts down to `ends_at`
itself, so the state (and its ETag) changes only when something happens or a phase boundary
passes — `valid_until` says when the next boundary is.

Phases, first match wins:
- `live`: a competition's window is open today and its day isn't closed;
- `ended`: a window ended today and its day isn't closed yet (the results are on their way);
- `results` / `spin`: the region's last closed day, closed or spun today (local): its results,
  then, once the wheel has been spun, the spin too;
- `week`: this week's board, the team's goals and the leaders' prospecting hours
  (bot.domain.wallboard_week).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from bot.domain.activity_sources import COUNT_VERIFIED, verified_only
from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.boards import standings
from bot.domain.competition_closing import counting_until, day_standings, last_closed_day
from bot.domain.competition_days import competitions_today, day_window, day_window_of
from bot.domain.ranking import RankedStanding, rank_standings
from bot.domain.spins import segments_of, spins_of_day
from bot.domain.wallboard_week import TOP_ROWS, board_rows, week_body
from bot.domain.wheel import landing_jitter, odds
from bot.domain.windows import Window, local_date, local_midnight_utc
from models import Activity, AuditLog, Competition, CompetitionDay, Member, Region, Spin
from models.competitions import DAY_CLOSED

STATE_VERSION = 1
TICKER_LOGS = 6
LAST_CALL = timedelta(minutes=30)
# The region's newest live activities the change check sums: a log committed late (a lower id
# than one already seen) or undone among them changes the sum.
RECENT_LOGS = 64


@dataclass(frozen=True)
class WallboardState:
    body: dict[str, Any]
    # The first moment the state may change by time alone (a window opens, last call, the
    # window ends, local midnight); None when only the database can change it.
    valid_until: datetime | None


@dataclass(frozen=True)
class _Slot:
    """One competition today in the region: its window, and its day row once it has one."""

    competition: Competition
    window: Window
    day: CompetitionDay | None

    @property
    def closed(self) -> bool:
        return self.day is not None and self.day.status == DAY_CLOSED


def build_state(session: Session, region: Region, now: datetime) -> WallboardState:
    zone = ZoneInfo(region.tz)
    midnight = local_midnight_utc(local_date(now, zone) + timedelta(days=1), zone)
    head = {"v": STATE_VERSION, "region": region.name, "tz": region.tz}
    slots = _slots_today(session, region, now)
    live = next((s for s in slots if s.window.contains(now) and not s.closed), None)
    if live is not None:
        last_call_at = live.window.end - LAST_CALL
        boundary = last_call_at if now < last_call_at else live.window.end
        return WallboardState({**head, **_live(session, region, live, now)}, min(boundary, midnight))
    ended = next((s for s in reversed(slots) if now >= s.window.end and not s.closed), None)
    if ended is not None:
        return WallboardState({**head, **_ended(session, region, ended)}, midnight)
    closed = last_closed_day(session, region)
    if closed is not None and _shown_today(session, closed, now, zone):
        return WallboardState({**head, **_results(session, closed)}, midnight)
    upcoming = [s for s in slots if now < s.window.start]
    fields = [competition_fields(region, s.competition.name, s.competition.metric, s.window) for s in upcoming]
    body = {**head, **week_body(session, region, now, fields)}
    return WallboardState(body, min([midnight, *(s.window.start for s in upcoming)]))


def _slots_today(session: Session, region: Region, now: datetime) -> list[_Slot]:
    """Today's competitions in the region, by start time; the day rows are read, never created
    (a TV only looks)."""
    today = local_date(now, ZoneInfo(region.tz))
    competitions = competitions_today(session, region, now)
    if not competitions:
        return []
    rows = session.scalars(
        select(CompetitionDay).where(
            CompetitionDay.region_id == region.id,
            CompetitionDay.local_date == today,
            CompetitionDay.competition_id.in_([c.id for c in competitions]),
        )
    )
    days = {day.competition_id: day for day in rows}
    slots = []
    for competition in competitions:
        day = days.get(competition.id)
        window = day_window_of(day) if day is not None else day_window(competition, region, today)
        slots.append(_Slot(competition, window, day))
    return slots


def competition_fields(region: Region, name: str, metric: str, window: Window) -> dict[str, Any]:
    """A competition day's name, metric and window, in UTC and in the region's wall time."""
    zone = ZoneInfo(region.tz)
    return {
        "name": name,
        "metric": metric,
        "metric_label": ACTIVITY_TYPES[metric].plural,
        "starts_at": _iso(window.start),
        "ends_at": _iso(window.end),
        "start_local": _hhmm(window.start, zone),
        "end_local": _hhmm(window.end, zone),
        "end_zone": window.end.astimezone(zone).tzname() or region.tz,
    }


def _live(session: Session, region: Region, slot: _Slot, now: datetime) -> dict[str, Any]:
    ranked = _slot_standings(session, region, slot)
    competition = competition_fields(region, slot.competition.name, slot.competition.metric, slot.window)
    last_call_at = slot.window.end - LAST_CALL
    return {
        "phase": "live",
        "competition": {**competition, "last_call_at": _iso(last_call_at), "last_call": now >= last_call_at},
        "rows": board_rows(ranked),
        "more": max(0, len(ranked) - TOP_ROWS),
        "ticker": _ticker(session, region, slot),
    }


def _ended(session: Session, region: Region, slot: _Slot) -> dict[str, Any]:
    ranked = _slot_standings(session, region, slot)
    return {
        "phase": "ended",
        "competition": competition_fields(region, slot.competition.name, slot.competition.metric, slot.window),
        "rows": board_rows(ranked),
        "more": max(0, len(ranked) - TOP_ROWS),
    }


def _shown_today(session: Session, day: CompetitionDay, now: datetime, zone: ZoneInfo) -> bool:
    """A closed day stays up for the rest of the local day it closed, or was spun, on."""
    today = local_date(now, zone)
    if day.closed_at is not None and local_date(day.closed_at, zone) == today:
        return True
    spun = session.scalar(select(func.max(Spin.spun_at)).where(Spin.competition_day_id == day.id))
    return spun is not None and local_date(spun, zone) == today


def _results(session: Session, day: CompetitionDay) -> dict[str, Any]:
    ranked = day_standings(session, day)
    names = {row.standing.member_id: row.standing.name for row in ranked}
    spins = spins_of_day(session, day.id)
    prizes = {spin.member_id: spin.prize_name for spin in spins}
    winners = [
        {
            "place": winner.place,
            "name": names.get(winner.member_id, winner.member.display_name),
            "total": winner.total,
            "prize": prizes.get(winner.member_id),
        }
        for winner in day.winners
    ]
    winner_ids = {winner.member_id for winner in day.winners}
    body: dict[str, Any] = {
        "phase": "spin" if spins else "results",
        "competition": competition_fields(day.region, day.competition.name, day.metric, day_window_of(day)),
        "rows": board_rows(ranked, winner_ids),
        "more": max(0, len(ranked) - TOP_ROWS),
        "winners": winners,
    }
    if spins:
        body["spin"] = _spin(spins[-1], names)
    return body


def _spin(spin: Spin, names: dict[int, str]) -> dict[str, Any]:
    """The wheel as it was at the spin and where the verifiable draw fell (as the GIF shows it):
    the page turns its wheel onto the same spot."""
    segments = segments_of(spin)
    return {
        "winner": names.get(spin.member_id, spin.member.display_name),
        "prize": spin.prize_name,
        "spun_at": _iso(spin.spun_at),
        "segments": [
            {"name": segment.name, "share": round(share, 6)}
            for segment, share in zip(segments, odds(segments), strict=True)
        ],
        "winner_index": spin.winner_index,
        "jitter": round(landing_jitter(segments, spin.seed, spin.context), 6),
    }


def _slot_standings(session: Session, region: Region, slot: _Slot) -> list[RankedStanding]:
    """The day's standings as the live message shows them; before anything has made the day's
    row (the live-standings refresher makes it after a log), counted from its window the same way."""
    if slot.day is not None:
        return day_standings(session, slot.day)
    counted = standings(
        session,
        region.team_id,
        slot.competition.metric,
        slot.window,
        [region.id],
        verified=slot.competition.counts == COUNT_VERIFIED,
    )
    return rank_standings(counted)


def _ticker(session: Session, region: Region, slot: _Slot) -> list[dict[str, str]]:
    """The newest logs that count on the day (the page shows "Maya logged 2 connects"), newest first."""
    day, metric = slot.day, slot.competition.metric
    end = counting_until(day) if day is not None else slot.window.end
    counts = day.counts if day is not None else slot.competition.counts
    query = (
        select(Activity.quantity, Activity.occurred_at, Member.display_name)
        .join(Member, Member.id == Activity.member_id)
        .where(
            Activity.team_id == region.team_id,
            Activity.region_id == region.id,
            Activity.type == metric,
            Activity.occurred_at >= slot.window.start,
            Activity.occurred_at < end,
            Activity.deleted_at.is_(None),
        )
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(TICKER_LOGS)
    )
    if counts == COUNT_VERIFIED:
        query = query.where(verified_only())
    zone = ZoneInfo(region.tz)
    return [
        {"name": name, "logged": quantity_text(quantity, metric), "at": _hhmm(at, zone)}
        for quantity, at, name in session.execute(query)
    ]


def quantity_text(quantity: float, activity_type: str) -> str:
    """`2 connects`, `1 QBM`, `1.5 hours`."""
    number = f"{int(quantity):,}" if quantity == int(quantity) else f"{quantity:g}"
    return f"{number} {ACTIVITY_TYPES[activity_type].label(quantity)}"


# --- the cheap change check ---------------------------------------------------------------


def region_fingerprint(session: Session, team_id: str, region_id: int) -> tuple[Any, ...]:
    """One small indexed read that changes whenever a log, an undo of a recent log, a void
    (of a log of any age), a day's close or a spin changes what the region's TV shows (and
    whenever a manager's audited change anywhere might). Equal fingerprints (and no phase
    boundary passed) mean the state built earlier still stands."""
    row = session.execute(_fingerprint_statement(), {"team_id": team_id, "region_id": region_id}).one()
    return tuple(row)


@cache
def _fingerprint_statement() -> Select[Any]:
    recent = (
        select(Activity.id)
        .where(Activity.region_id == bindparam("region_id"), Activity.deleted_at.is_(None))
        .order_by(Activity.id.desc())
        .limit(RECENT_LOGS)
        .subquery()
    )
    in_region = CompetitionDay.region_id == bindparam("region_id")
    return select(
        select(func.coalesce(func.sum(recent.c.id), 0)).scalar_subquery(),
        select(func.max(recent.c.id)).scalar_subquery(),
        select(func.count()).select_from(CompetitionDay).where(in_region).scalar_subquery(),
        select(func.max(CompetitionDay.closed_at)).where(in_region).scalar_subquery(),
        select(func.max(Spin.id)).where(Spin.team_id == bindparam("team_id")).scalar_subquery(),
        # A void can take a log older than the newest RECENT_LOGS. Every void writes an audit row
        # in its own transaction, so the audit log's newest id (one seek at the end of its
        # primary key) changes with it; managers' other audited changes (goals, roles, regions,
        # competitions) are as rare, and only cost a rebuild.
        select(func.max(AuditLog.id)).scalar_subquery(),
    )


# --- times ----------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hhmm(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


def local_clock(now: datetime, tz: str) -> str:
    """The region's wall time as the page's corner shows it: `09:41 EST`."""
    local = now.astimezone(ZoneInfo(tz))
    return f"{local:%H:%M} {local.tzname() or tz}"


def countdown_seconds(now: datetime, ends_at: datetime) -> int:
    """Whole seconds left until `ends_at` (rounded up, so 0 means the end has come)."""
    left = (ends_at - now).total_seconds()
    return max(0, int(-(-left // 1)))


def countdown_text(seconds: int) -> str:
    """`2:05:09`, `5:09`, `0:00`: the page's countdown format."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
