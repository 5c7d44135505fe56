"""Prospecting days: competitions, their per-region days, standings and closing.

A competition day is one competition on one local date in one region. It counts the
competition's metric logged in that region between the local start and end times
(half-open [start, end), converted to UTC with the region's IANA zone, so DST days
are as long as the people there live them). Closing a day freezes its standings,
picks the winners and commits to the wheel seed by publishing its SHA-256.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm import Session

from bot.domain import windows
from bot.domain.activity_types import ACTIVITY_TYPES, lookup_type
from bot.domain.boards import standings
from bot.domain.competition_presets import PRESETS as PRESETS
from bot.domain.competition_presets import CompetitionSpec
from bot.domain.directory import audit, ensure_workspace, list_regions, require_region
from bot.domain.errors import Conflict, NotFound
from bot.domain.ranking import RankedStanding, Standing, rank_standings, winners
from bot.domain.schedule_times import local_to_utc
from bot.domain.wheel import SeedSource, commitment, new_seed
from bot.domain.windows import Window
from models import Competition, CompetitionDay, CompetitionWinner, Member, Region
from models.claims import insert_once, updated_rows
from models.competitions import DAY_CLOSED, DAY_OPEN

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_WINNERS = 10
_NAME = re.compile(r"^[\w][\w .'&-]{0,99}$")
LiveState = Literal["live", "ended", "final"]
_LOCAL_TIME = re.compile(r"^([01]?\d|2[0-3])[:.h]?([0-5]\d)$")


@dataclass(frozen=True)
class DayKey:
    """Names one competition day the way the scheduler knows it."""

    team_id: str
    region_id: int
    competition_id: int
    local_date: date


@dataclass(frozen=True)
class CompetitionView:
    name: str
    weekday: str  # "Thursday"
    metric: str
    start: time
    end: time
    regions: list[str]  # empty = every region
    winners: int
    leaders_win: bool


@dataclass(frozen=True)
class DayView:
    """What messages about one competition day show."""

    day_id: int
    competition: str
    region: str
    tz: str
    metric: str
    local_date: date
    start: time
    end: time
    # When the competition runs next in this region (None: it was removed since), so a
    # closed day can say when the next one is.
    next_date: date | None = None


@dataclass(frozen=True)
class WinnerView:
    place: int
    member_id: int
    user_id: str
    total: float
    prize: str | None  # what their spin won, once spun


# --- parsing --------------------------------------------------------------------------


def parse_weekday(text: str) -> int:
    word = text.strip().lower()
    matches = [index for index, day in enumerate(WEEKDAYS) if len(word) >= 2 and day.startswith(word)]
    if len(matches) != 1:
        raise Conflict(f"`{text}` isn't a weekday.", "Use mon, tue, wed, thu, fri, sat or sun.")
    return matches[0]


def parse_local_time(text: str) -> time:
    match = _LOCAL_TIME.match(text.strip().lower())
    if not match:
        raise Conflict(f"`{text}` isn't a time of day.", "Use 24-hour HH:MM, e.g. 08:00 or 17:30.")
    return time(int(match.group(1)), int(match.group(2)))


def parse_metric(text: str) -> str:
    found = lookup_type(text)
    if found is None:
        types = ", ".join(ACTIVITY_TYPES)
        raise Conflict(f"`{text}` isn't an activity type.", f"Types: {types}.")
    return found.key


def weekday_name(weekday: int) -> str:
    return WEEKDAYS[weekday].capitalize()


# --- configuration ----------------------------------------------------------------------


def add_competition(session: Session, team_id: str, spec: CompetitionSpec, actor: str) -> Competition:
    """Create a competition, or bring back a removed one of the same name with these rules."""
    _validate_spec(spec)
    ensure_workspace(session, team_id)
    region_ids = [require_region(session, team_id, name).id for name in spec.regions]
    existing = find_competition(session, team_id, spec.name, include_inactive=True)
    if existing is not None and existing.active:
        raise Conflict(
            f"There's already a competition called {existing.name}.",
            f'Remove it first: pipeday competition remove "{existing.name}"',
        )
    competition = existing or Competition(team_id=team_id, name_key=spec.name.lower())
    competition.name = spec.name
    competition.weekday = spec.weekday
    competition.metric = spec.metric
    competition.start_local = spec.start
    competition.end_local = spec.end
    competition.region_ids = sorted(set(region_ids))
    competition.winners_per_region = spec.winners
    competition.leaders_win = spec.leaders_win
    competition.active = True
    session.add(competition)
    session.flush()
    audit(
        session,
        team_id,
        actor,
        "competition.add",
        spec.name,
        {"weekday": spec.weekday, "metric": spec.metric, "regions": list(spec.regions)},
    )
    return competition


def _validate_spec(spec: CompetitionSpec) -> None:
    if not _NAME.match(spec.name.strip()):
        raise Conflict(f"`{spec.name}` can't be a competition name.", "Use up to 100 letters, digits and spaces.")
    if not 0 <= spec.weekday <= 6:
        raise Conflict("The weekday must be Monday to Sunday.")
    if spec.metric not in ACTIVITY_TYPES:
        raise Conflict(f"`{spec.metric}` isn't an activity type.")
    if spec.end <= spec.start:
        raise Conflict(
            f"The day must end after it starts ({spec.start:%H:%M}–{spec.end:%H:%M}).",
            "Windows stay within one local day, e.g. --start 08:00 --end 17:30.",
        )
    if not 1 <= spec.winners <= MAX_WINNERS:
        raise Conflict(f"Winners per region go from 1 to {MAX_WINNERS}.")


def find_competition(session: Session, team_id: str, name: str, include_inactive: bool = False) -> Competition | None:
    query = select(Competition).where(Competition.team_id == team_id, Competition.name_key == name.strip().lower())
    if not include_inactive:
        query = query.where(Competition.active.is_(True))
    return session.scalars(query).one_or_none()


def list_competitions(session: Session, team_id: str) -> list[Competition]:
    return list(
        session.scalars(
            select(Competition)
            .where(Competition.team_id == team_id, Competition.active.is_(True))
            .order_by(Competition.weekday, Competition.start_local, Competition.name_key)
        )
    )


def remove_competition(session: Session, team_id: str, name: str, actor: str) -> bool:
    """Delete it, or deactivate it when it has history. True when deleted outright."""
    competition = find_competition(session, team_id, name)
    if competition is None:
        known = ", ".join(c.name for c in list_competitions(session, team_id)) or "none"
        raise NotFound(f"There's no competition called `{name}`.", f"Competitions: {known}.")
    has_days = session.scalar(select(CompetitionDay.id).where(CompetitionDay.competition_id == competition.id).limit(1))
    audit(session, team_id, actor, "competition.remove", competition.name, {})
    if has_days is not None:
        competition.active = False  # its days and awards stay readable
        session.flush()
        return False
    session.delete(competition)
    session.flush()
    return True


def region_scope_names(session: Session, competition: Competition) -> list[str]:
    """Region names the competition runs in; empty means every region."""
    if not competition.region_ids:
        return []
    regions = list_regions(session, competition.team_id)
    return [r.name for r in regions if r.id in set(competition.region_ids)]


def runs_in(competition: Competition, region: Region) -> bool:
    return competition.team_id == region.team_id and (not competition.region_ids or region.id in competition.region_ids)


# --- days and windows ---------------------------------------------------------------------


def region_local_date(region: Region, moment: datetime) -> date:
    return windows.local_date(moment, ZoneInfo(region.tz))


def day_window(competition: Competition, region: Region, local_date: date) -> Window:
    """[start, end) of the competition on `local_date` in the region's zone, as aware UTC."""
    start = local_to_utc(local_date, competition.start_local, region.tz)
    end = local_to_utc(local_date, competition.end_local, region.tz)
    return Window(period="today", start=start, end=end, first_day=local_date, last_day=local_date)


def competitions_on(session: Session, region: Region, local_date: date) -> list[Competition]:
    """Active competitions that run in `region` on that local date."""
    candidates = session.scalars(
        select(Competition)
        .where(
            Competition.team_id == region.team_id,
            Competition.active.is_(True),
            Competition.weekday == local_date.weekday(),
        )
        .order_by(Competition.start_local, Competition.id)
    )
    return [c for c in candidates if runs_in(c, region)]


def competitions_today(session: Session, region: Region, now: datetime) -> list[Competition]:
    return competitions_on(session, region, region_local_date(region, now))


def ensure_day(session: Session, competition: Competition, region: Region, local_date: date) -> CompetitionDay:
    """The day's row, created on first use; concurrent creators end up with the same row."""
    day = _find_day(session, competition.id, region.id, local_date)
    if day is not None:
        return day
    if local_date.weekday() != competition.weekday or not runs_in(competition, region):
        raise Conflict(f"{competition.name} doesn't run in {region.name} on {local_date:%A %d %b}.")
    window = day_window(competition, region, local_date)
    day = CompetitionDay(
        team_id=competition.team_id,
        competition_id=competition.id,
        region_id=region.id,
        local_date=local_date,
        metric=competition.metric,
        window_start=window.start,
        window_end=window.end,
        winners_count=competition.winners_per_region,
        leaders_win=competition.leaders_win,
        status=DAY_OPEN,
        live_pending=False,
    )
    if insert_once(session, day):
        return day
    winner = _find_day(session, competition.id, region.id, local_date)
    if winner is None:  # the row that beat ours went again (its competition removed meanwhile)
        raise Conflict(f"{competition.name} in {region.name} changed just now. Please try again.")
    return winner


def day_for_key(session: Session, key: DayKey) -> CompetitionDay:
    competition = session.get(Competition, key.competition_id)
    region = session.get(Region, key.region_id)
    if competition is None or region is None or competition.team_id != key.team_id or region.team_id != key.team_id:
        raise NotFound("That competition or region no longer exists.")
    return ensure_day(session, competition, region, key.local_date)


def _find_day(session: Session, competition_id: int, region_id: int, local_date: date) -> CompetitionDay | None:
    return session.scalars(
        select(CompetitionDay).where(
            CompetitionDay.competition_id == competition_id,
            CompetitionDay.region_id == region_id,
            CompetitionDay.local_date == local_date,
        )
    ).one_or_none()


def day_window_of(day: CompetitionDay) -> Window:
    """The window as stored on the day (later rule changes never rewrite a past day)."""
    return Window("today", day.window_start, day.window_end, day.local_date, day.local_date)


class LoggedFacts(Protocol):
    """What a log must tell about itself to find the competition days it changes."""

    @property
    def team_id(self) -> str: ...
    @property
    def region_id(self) -> int | None: ...
    @property
    def type(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...


def days_touched_by(session: Session, activity: LoggedFacts) -> list[CompetitionDay]:
    """Open competition days whose standings this log changes (same region, metric and window).

    Callers that want to skip most logs cheaply ask `may_touch_a_day` first, in the log's own
    transaction; this is the full check."""
    if activity.region_id is None:
        return []
    region = session.get(Region, activity.region_id)
    if region is None:
        return []
    local_date = region_local_date(region, activity.occurred_at)
    touched = []
    for competition in competitions_on(session, region, local_date):
        if competition.metric != activity.type:
            continue
        if not day_window(competition, region, local_date).contains(activity.occurred_at):
            continue
        day = ensure_day(session, competition, region, local_date)
        if day.status == DAY_OPEN and day_window_of(day).contains(activity.occurred_at):
            touched.append(day)
    return touched


def may_touch_a_day(session: Session, activity: LoggedFacts, tz: str | None) -> bool:
    """False when no competition of the log's metric runs in the workspace on the log's local
    weekday (`tz`: the log's region's zone): one small Core read that spares most logs the
    full check (`days_touched_by`)."""
    if activity.region_id is None or tz is None:
        return False
    weekday = windows.local_date(activity.occurred_at, ZoneInfo(tz)).weekday()
    candidate = session.execute(
        _competition_candidate_statement(), {"team_id": activity.team_id, "weekday": weekday, "metric": activity.type}
    ).first()
    return candidate is not None


@cache
def _competition_candidate_statement() -> Select[Any]:
    competitions = Competition.__table__
    return (
        select(competitions.c.id)
        .where(
            competitions.c.team_id == bindparam("team_id"),
            competitions.c.active.is_(True),
            competitions.c.weekday == bindparam("weekday"),
            competitions.c.metric == bindparam("metric"),
        )
        .limit(1)
    )


# --- standings and closing ---------------------------------------------------------------


def counting_until(day: CompetitionDay) -> datetime:
    """Logs count until the window ends or the day is closed, whichever comes first."""
    if day.closed_at is None:
        return day.window_end
    return max(min(day.window_end, day.closed_at), day.window_start)


def day_standings(session: Session, day: CompetitionDay) -> list[RankedStanding]:
    """Live standings; a closed day returns exactly what its results published."""
    if day.final_standings is not None:
        return ranked_from_snapshot(day.final_standings)
    return _counted_standings(session, day)


def _counted_standings(session: Session, day: CompetitionDay) -> list[RankedStanding]:
    """Ranked from the logs that count: in the day's region and window, up to `counting_until`."""
    window = replace(day_window_of(day), end=counting_until(day))
    return rank_standings(standings(session, day.team_id, day.metric, window, [day.region_id]))


@dataclass(frozen=True)
class CloseResult:
    day: CompetitionDay
    closed_now: bool  # False: it was already closed (by someone else, or earlier)
    standings: list[RankedStanding]
    winners: list[RankedStanding]


def close_day(
    session: Session, day: CompetitionDay, now: datetime, closed_by: str, *, seed_source: SeedSource = new_seed
) -> CloseResult:
    """Freeze the standings, pick the winners and commit to a fresh wheel seed. Idempotent."""
    if day.status == DAY_OPEN and now < day.window_start:
        raise Conflict(
            f"{day.competition.name} in {day.region.name} hasn't started yet "
            f"(it starts at {day.competition.start_local:%H:%M} {day.region.tz})."
        )
    # Compare-and-set, so two managers (or a manager and the scheduler) close it once.
    claimed = updated_rows(
        session,
        update(CompetitionDay)
        .where(CompetitionDay.id == day.id, CompetitionDay.status == DAY_OPEN)
        .values(status=DAY_CLOSED, closed_at=now, closed_by=closed_by)
        .execution_options(synchronize_session=False),
    )
    session.refresh(day)
    if claimed != 1:
        ranked = day_standings(session, day)
        return CloseResult(day, closed_now=False, standings=ranked, winners=_published_winners(day, ranked))
    ranked = _counted_standings(session, day)
    chosen = winners(ranked, day.winners_count, day.leaders_win)
    day.final_standings = snapshot_standings(session, ranked)
    day.seed = seed_source()
    day.commitment = commitment(day.seed)
    for place, row in enumerate(chosen, start=1):
        session.add(
            CompetitionWinner(
                competition_day_id=day.id, member_id=row.standing.member_id, place=place, total=row.standing.total
            )
        )
    session.flush()
    audit(
        session,
        day.team_id,
        closed_by,
        "competition_day.close",
        f"{day.id}",
        {"winners": [row.standing.member_id for row in chosen], "commitment": day.commitment},
    )
    return CloseResult(day, closed_now=True, standings=ranked, winners=chosen)


def _published_winners(day: CompetitionDay, ranked: Sequence[RankedStanding]) -> list[RankedStanding]:
    ids = [w.member_id for w in day.winners]
    by_id = {row.standing.member_id: row for row in ranked}
    return [by_id[i] for i in ids if i in by_id]


def snapshot_standings(session: Session, ranked: Sequence[RankedStanding]) -> list[dict[str, Any]]:
    ids = [row.standing.member_id for row in ranked]
    user_ids = dict(session.execute(select(Member.id, Member.user_id).where(Member.id.in_(ids))).all()) if ids else {}
    return [
        {
            "rank": row.rank,
            "shared": row.shared,
            "member_id": row.standing.member_id,
            "user_id": user_ids.get(row.standing.member_id, ""),
            "name": row.standing.name,
            "total": row.standing.total,
            "reached_at": row.standing.reached_at.isoformat(),
            "is_leader": row.standing.is_leader,
        }
        for row in ranked
    ]


def ranked_from_snapshot(rows: Sequence[dict[str, Any]]) -> list[RankedStanding]:
    return [
        RankedStanding(
            rank=int(row["rank"]),
            shared=bool(row["shared"]),
            standing=Standing(
                member_id=int(row["member_id"]),
                name=str(row["name"]),
                total=float(row["total"]),
                reached_at=datetime.fromisoformat(row["reached_at"]),
                is_leader=bool(row["is_leader"]),
            ),
        )
        for row in rows
    ]


def days_to_close(session: Session, region: Region, now: datetime) -> list[CompetitionDay]:
    """Today's competition days in the region (created if the day had no logs yet)."""
    today = region_local_date(region, now)
    competitions = competitions_on(session, region, today)
    if not competitions:
        raise Conflict(
            f"There's no competition in {region.name} today ({today:%A}).",
            "See `/pg days` for when they run.",
        )
    return [ensure_day(session, competition, region, today) for competition in competitions]


def last_closed_day(session: Session, region: Region) -> CompetitionDay | None:
    return session.scalars(
        select(CompetitionDay)
        .where(CompetitionDay.region_id == region.id, CompetitionDay.status == DAY_CLOSED)
        .order_by(CompetitionDay.closed_at.desc(), CompetitionDay.id.desc())
        .limit(1)
    ).first()


def get_day(session: Session, team_id: str, day_id: int) -> CompetitionDay:
    day = session.get(CompetitionDay, day_id)
    if day is None or day.team_id != team_id:
        raise NotFound("That competition day doesn't exist any more.")
    return day


def claim_results_post(session: Session, day: CompetitionDay, now: datetime) -> bool:
    """True for exactly one caller per closed day: the one that posts the results."""
    claimed = updated_rows(
        session,
        update(CompetitionDay)
        .where(
            CompetitionDay.id == day.id, CompetitionDay.status == DAY_CLOSED, CompetitionDay.results_posted_at.is_(None)
        )
        .values(results_posted_at=now)
        .execution_options(synchronize_session=False),
    )
    session.refresh(day)
    return claimed == 1


def release_results_post(session: Session, day_id: int) -> None:
    """Posting failed: let the next close (or the scheduler's retry) post the results."""
    session.execute(
        update(CompetitionDay)
        .where(CompetitionDay.id == day_id, CompetitionDay.results_ts.is_(None))
        .values(results_posted_at=None)
        .execution_options(synchronize_session=False)
    )


def record_results_message(session: Session, day_id: int, channel_id: str, ts: str) -> None:
    session.execute(
        update(CompetitionDay)
        .where(CompetitionDay.id == day_id)
        .values(results_channel_id=channel_id, results_ts=ts)
        .execution_options(synchronize_session=False)
    )


def claim_once(session: Session, day: CompetitionDay, column: str, now: datetime) -> bool:
    """Stamp a once-per-day post (kickoff_posted_at, last_call_posted_at); True for the first caller."""
    attribute = getattr(CompetitionDay, column)
    claimed = updated_rows(
        session,
        update(CompetitionDay)
        .where(CompetitionDay.id == day.id, attribute.is_(None))
        .values({column: now})
        .execution_options(synchronize_session=False),
    )
    return claimed == 1


def release_claim(session: Session, day_id: int, column: str) -> None:
    session.execute(
        update(CompetitionDay)
        .where(CompetitionDay.id == day_id)
        .values({column: None})
        .execution_options(synchronize_session=False)
    )


# --- views for messages ----------------------------------------------------------------


def competition_view(session: Session, competition: Competition) -> CompetitionView:
    return CompetitionView(
        name=competition.name,
        weekday=weekday_name(competition.weekday),
        metric=competition.metric,
        start=competition.start_local,
        end=competition.end_local,
        regions=region_scope_names(session, competition),
        winners=competition.winners_per_region,
        leaders_win=competition.leaders_win,
    )


def day_view(day: CompetitionDay) -> DayView:
    zone = ZoneInfo(day.region.tz)
    return DayView(
        day_id=day.id,
        competition=day.competition.name,
        region=day.region.name,
        tz=day.region.tz,
        metric=day.metric,
        local_date=day.local_date,
        start=day.window_start.astimezone(zone).time(),
        end=day.window_end.astimezone(zone).time(),
        next_date=next_competition_date(day.competition, day.local_date),
    )


def next_competition_date(competition: Competition, after: date) -> date | None:
    """The competition's first day after `after` (weekly, on its weekday); None once removed."""
    if not competition.active:
        return None
    return after + timedelta(days=(competition.weekday - after.weekday() - 1) % 7 + 1)


def today_view(competition: Competition, region: Region, now: datetime) -> DayView:
    """Today's window of a competition in a region, before any day row exists (id 0)."""
    return DayView(
        0,
        competition.name,
        region.name,
        region.tz,
        competition.metric,
        region_local_date(region, now),
        competition.start_local,
        competition.end_local,
    )


def winner_views(day: CompetitionDay, prizes_by_member: dict[int, str]) -> list[WinnerView]:
    return [
        WinnerView(w.place, w.member_id, w.member.user_id, w.total, prizes_by_member.get(w.member_id))
        for w in day.winners
    ]
