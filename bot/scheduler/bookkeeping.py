"""Keeping the clock's tick cheap with many workspaces.

The tick re-reads the configuration every minute, and catches up firings missed while the
clock was down. Done naively for 1,000 workspaces that is 2,000 queries and 30,000 job specs
rebuilt, and 30,000 "latest firing" computations checked against a week of the sent log,
every minute. Instead:

- `ConfigWatch` reads, in three narrow queries, exactly what job specs are built from (each
  workspace's schedule settings, its regions, its active competitions) and says which
  workspaces changed since the last tick; only those have their specs rebuilt, in bulk
  (`specs_for`).
- `CatchUpWatch` remembers when each job's next firing is due: a job is checked for a missed
  firing only once that time has passed (or when it is new or changed), so a tick with
  nothing due checks nothing. Firing times are computed once per distinct schedule (regions
  share zones and competitions share times), and only the keys of the firings checked are
  looked up in the sent log.
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Text, cast, func, literal, select, tuple_
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from bot.posting.sent_log import SentKey, keys_since
from bot.scheduler.jobs import CATCH_UP_LOOKBACK, Firing, firing_at
from bot.scheduler.specs import JobSpec, SpecSet, workspace_specs
from bot.scheduler.timing import LocalSchedule, missed_firings, next_fire_utc
from models import Competition, Region, SentLog, Workspace

CHUNK = 500  # ids per IN (...) list
# Checking this many jobs at once reads the sent log's recent keys in one range scan instead.
MANY_DUE = 500
_EARLIEST = datetime.min.replace(tzinfo=UTC)
UNIT_SEPARATOR, RECORD_SEPARATOR = "\x1f", "\x1e"


class ConfigWatch:
    """Which workspaces' scheduling configuration changed since the last look."""

    def __init__(self) -> None:
        self._seen: dict[str, Hashable] = {}

    def changes(self, session: Session, served: set[str] | None) -> tuple[set[str], set[str]]:
        """(workspaces new or changed, workspaces gone or no longer served) since the last call."""
        current = fingerprints(session)
        if served is not None:
            current = {team_id: print_ for team_id, print_ in current.items() if team_id in served}
        changed = {team_id for team_id, print_ in current.items() if self._seen.get(team_id) != print_}
        gone = set(self._seen) - set(current)
        self._seen = current
        return changed, gone

    def forget(self) -> None:
        self._seen = {}


def fingerprints(session: Session) -> dict[str, Hashable]:
    """Per workspace, everything its job specs depend on: its schedule settings, its regions
    and its active competitions, each table's rows joined into one string per workspace by
    the database (three queries of one row per workspace: this runs every tick)."""
    connection = session.connection()
    settings = select(Workspace.team_id, cast(Workspace.settings, Text))
    found: dict[str, list[str | None]] = {team_id: [text, None, None] for team_id, text in connection.execute(settings)}
    regions = _per_workspace(
        connection,
        Region.team_id,
        Region.id,
        _joined(Region.id, Region.name, Region.tz, Region.channel_id, Region.created_at),
    )
    competitions = _per_workspace(
        connection,
        Competition.team_id,
        Competition.id,
        _joined(
            Competition.id,
            Competition.name,
            Competition.weekday,
            Competition.start_local,
            Competition.end_local,
            Competition.region_ids,
            Competition.created_at,
        ),
        Competition.active.is_(True),
    )
    for column, rows in ((1, regions), (2, competitions)):
        for team_id, joined in rows:
            if team_id in found:
                found[team_id][column] = joined
    return {team_id: tuple(parts) for team_id, parts in found.items()}


def _joined(*columns: Any) -> Any:
    """One row's columns as one text value (NULL as empty), a unit separator between them."""
    parts = [func.coalesce(cast(column, Text), "") for column in columns]
    joined: Any = parts[0]
    for part in parts[1:]:
        joined = joined + UNIT_SEPARATOR + part
    return joined


def _per_workspace(connection: Connection, team: Any, order: Any, row: Any, *where: Any) -> list[tuple[str, str]]:
    """(team_id, its rows' `row` values in `order`, joined by a record separator)."""
    if connection.dialect.name == "postgresql":
        joined = func.string_agg(row, aggregate_order_by(literal(RECORD_SEPARATOR), order))
        query = select(team, joined).where(*where).group_by(team)
    else:  # SQLite's group_concat keeps the order of the rows it is given
        rows = select(team.label("team_id"), row.label("row")).where(*where).order_by(team, order).subquery()
        query = select(rows.c.team_id, func.group_concat(rows.c.row, RECORD_SEPARATOR)).group_by(rows.c.team_id)
    return [(str(team_id), str(joined)) for team_id, joined in connection.execute(query)]


def specs_for(session: Session, team_ids: Iterable[str]) -> dict[str, SpecSet]:
    """Job specs of many workspaces, with three queries per CHUNK workspaces."""
    wanted = sorted(set(team_ids))
    built: dict[str, SpecSet] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        regions: dict[str, list[Region]] = defaultdict(list)
        for region in session.scalars(
            select(Region).where(Region.team_id.in_(chunk)).order_by(Region.team_id, Region.name_key)
        ):
            regions[region.team_id].append(region)
        competitions: dict[str, list[Competition]] = defaultdict(list)
        for competition in session.scalars(
            select(Competition)
            .where(Competition.team_id.in_(chunk), Competition.active.is_(True))
            .order_by(Competition.team_id, Competition.id)
        ):
            competitions[competition.team_id].append(competition)
        for workspace in session.scalars(select(Workspace).where(Workspace.team_id.in_(chunk))):
            team_id = workspace.team_id
            built[team_id] = workspace_specs(workspace, regions[team_id], competitions[team_id])
    return built


class CatchUpWatch:
    """When each job next needs a look for a missed firing (a heap of due times)."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, str]] = []
        self._due_at: dict[str, datetime] = {}
        self._order = itertools.count()

    def watch(self, job_id: str, at: datetime = _EARLIEST) -> None:
        """Look at `job_id` on the first tick at or after `at` (a new or changed job: at once)."""
        self._due_at[job_id] = at
        heapq.heappush(self._heap, (at, next(self._order), job_id))

    def unwatch(self, job_id: str) -> None:
        self._due_at.pop(job_id, None)  # its heap entry is dropped when it surfaces

    def reset(self) -> None:
        """Look at every job again (the clock went backwards)."""
        for job_id in list(self._due_at):
            self.watch(job_id)

    def due(self, now: datetime) -> list[str]:
        """Jobs to look at now; each is watched again only once its caller says when (`watch`)."""
        found = []
        while self._heap and self._heap[0][0] <= now:
            at, _, job_id = heapq.heappop(self._heap)
            if self._due_at.get(job_id) == at:
                del self._due_at[job_id]
                found.append(job_id)
        return found


class FiringTimes:
    """Firing times per distinct schedule at one tick: many jobs share a schedule."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._next: dict[LocalSchedule, datetime] = {}
        self._latest: dict[LocalSchedule, datetime | None] = {}

    def latest(self, spec: JobSpec) -> Firing | None:
        """`latest_firing(spec, now)`, its time computed once per schedule."""
        schedule = spec.schedule
        if schedule not in self._latest:
            firings = missed_firings(schedule, self.now - CATCH_UP_LOOKBACK, self.now)
            self._latest[schedule] = firings[-1] if firings else None
        scheduled = self._latest[schedule]
        return None if scheduled is None else firing_at(spec, scheduled)

    def next_after_now(self, schedule: LocalSchedule) -> datetime:
        found = self._next.get(schedule)
        if found is None:
            found = self._next[schedule] = next_fire_utc(schedule, self.now)
        return found


def handled_keys(session: Session, keys: Sequence[SentKey], oldest: datetime) -> set[SentKey]:
    """Which of `keys` have a sent-log row (any status)."""
    if len(keys) >= MANY_DUE:
        return keys_since(session, min(key.local_date for key in keys))
    found: set[SentKey] = set()
    columns = (SentLog.team_id, SentLog.region_id, SentLog.kind, SentLog.local_date, SentLog.subject)
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        wanted = [(k.team_id, k.region_id, k.kind, k.local_date, k.subject) for k in chunk]
        rows = session.execute(select(*columns).where(tuple_(*columns).in_(wanted)))
        found |= {SentKey(team, region, kind, day, subject) for team, region, kind, day, subject in rows}
    return found
