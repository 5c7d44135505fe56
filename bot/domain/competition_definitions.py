"""Competition definitions: what a competition is and which ones a workspace has.

A competition runs weekly on one weekday, counts one activity type (its metric) between a
local start and end time, in every region or in the ones named, and picks a number of
winners per region. Parsing the CLI's words for these, validating them and adding, listing
and removing competitions live here; presets are in bot.domain.competition_presets.
"""

from __future__ import annotations

import re
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.activity_sources import COUNTED_ACTIVITY
from bot.domain.activity_types import ACTIVITY_TYPES, lookup_type
from bot.domain.competition_caps import MAX_CAP, MIN_CAP
from bot.domain.competition_presets import CompetitionSpec
from bot.domain.directory import audit, ensure_workspace, list_regions, require_region
from bot.domain.errors import Conflict, NotFound
from models import Competition, CompetitionDay, Region, utc_now
from models.competitions import REVIEW_MODES

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_WINNERS = 10
_NAME = re.compile(r"^[\w][\w .'&-]{0,99}$")
_LOCAL_TIME = re.compile(r"^([01]?\d|2[0-3])[:.h]?([0-5]\d)$")


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


def parse_counts(text: str) -> str:
    """`--count`: "all" activity or only "verified" (recorded by a system, not typed in Slack)."""
    word = text.strip().lower()
    if word not in COUNTED_ACTIVITY:
        raise Conflict(f"`{text}` isn't what a competition can count.", "Use --count all or --count verified.")
    return word


def weekday_name(weekday: int) -> str:
    return WEEKDAYS[weekday].capitalize()


# --- configuration ----------------------------------------------------------------------


def add_competition(
    session: Session, team_id: str, spec: CompetitionSpec, actor: str, now: datetime | None = None
) -> Competition:
    """Create a competition, or bring back a removed one of the same name with these rules
    (`now`: when its cap, if any, is set; the clock when None)."""
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
    competition.counts = spec.counts
    competition.review = spec.review
    competition.max_per_log = spec.max_per_log
    competition.max_per_log_since = None if spec.max_per_log is None else (now or utc_now())
    competition.active = True
    session.add(competition)
    session.flush()
    audit(
        session,
        team_id,
        actor,
        "competition.add",
        spec.name,
        {
            "weekday": spec.weekday,
            "metric": spec.metric,
            "regions": list(spec.regions),
            "counts": spec.counts,
            "review": spec.review,
            "max_per_log": spec.max_per_log,
        },
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
    parse_counts(spec.counts)
    parse_review(spec.review)
    if spec.max_per_log is not None and not MIN_CAP <= spec.max_per_log <= MAX_CAP:
        raise Conflict(f"A cap on single logs goes from {MIN_CAP} to {MAX_CAP}.")


def parse_review(text: str) -> str:
    """`--review`: when a manager reviews a winner before the spin."""
    word = text.strip().lower()
    if word not in REVIEW_MODES:
        raise Conflict(f"`{text}` isn't a review mode.", "Use --review always, flags or never.")
    return word


def update_trust_rules(
    session: Session,
    team_id: str,
    name: str,
    *,
    review: str | None,
    max_per_log: int | None,
    clear_cap: bool,
    actor: str,
    now: datetime | None = None,
) -> Competition:
    """`pipeday competition set NAME --review … --max-per-log N`: change how a competition is
    guarded. Takes effect at once (a day's review is decided when its winner would spin)."""
    competition = find_competition(session, team_id, name)
    if competition is None:
        known = ", ".join(c.name for c in list_competitions(session, team_id)) or "none"
        raise NotFound(f"There's no competition called `{name}`.", f"Competitions: {known}.")
    changes: dict[str, object] = {}
    if review is not None:
        competition.review = changes["review"] = parse_review(review)
    if clear_cap:
        competition.max_per_log = changes["max_per_log"] = None
        competition.max_per_log_since = None
    elif max_per_log is not None:
        if not MIN_CAP <= max_per_log <= MAX_CAP:
            raise Conflict(f"A cap on single logs goes from {MIN_CAP} to {MAX_CAP}.")
        if competition.max_per_log != max_per_log:
            competition.max_per_log_since = now or utc_now()  # late items of days over before aren't capped
        competition.max_per_log = changes["max_per_log"] = max_per_log
    if not changes:
        raise Conflict("Nothing to change.", "Give --review always|flags|never, --max-per-log N or --no-max-per-log.")
    session.flush()
    audit(session, team_id, actor, "competition.set", competition.name, changes)
    return competition


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
