"""What the clock should run: job specs built from the database and the schedule settings.

One spec per (region × job kind) for the weekly kinds, and per (region × competition ×
phase) for competition days. A spec's `job_id` is stable across restarts and reconciles,
so APScheduler jobs are replaced in place rather than duplicated.

Schedule settings (`Workspace.settings["schedule"]`: times, switched-off kinds, catch-up
grace, per-competition phase times) are read by bot.scheduler.schedule_settings.

Competition phases default to the competition's own window (kickoff at the start,
standings at midday, last call a quarter of the window before the end and at most an hour,
results at the end; see bot.domain.schedule_times.competition_phases). Any wall time can be
scheduled (a daylight-saving change is handled by the trigger: bot.scheduler.timing); a last
call must fall after the kickoff and before the results.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.competition_definitions import runs_in
from bot.domain.directory import list_regions
from bot.domain.schedule_times import competition_phases
from bot.scheduler.constants import COMPETITION_KINDS as COMPETITION_KINDS
from bot.scheduler.constants import JOB_KINDS as JOB_KINDS
from bot.scheduler.constants import WEEKLY_KINDS as WEEKLY_KINDS
from bot.scheduler.schedule_settings import ScheduleSettings, ScheduleSettingsError, workspace_schedule
from bot.scheduler.timing import LocalSchedule
from models import Competition, Region, Workspace

WEEKLY_DEFAULTS: dict[str, tuple[int, time]] = {
    "weekly_summary": (4, time(16, 0)),  # Friday 16:00 local
    "goals_kickoff": (0, time(9, 0)),  # Monday 09:00 local
}


@dataclass(frozen=True)
class JobSpec:
    team_id: str
    region_id: int
    region_name: str
    channel_id: str | None
    schedule: LocalSchedule
    grace: timedelta
    # Firings before this instant happened before the job existed: nothing to catch up.
    active_since: datetime
    competition_id: int | None = None
    competition_name: str | None = None
    enabled: bool = True

    @property
    def kind(self) -> str:
        return self.schedule.kind

    @property
    def job_id(self) -> str:
        base = f"pipeday:{self.team_id}:{self.region_id}:{self.kind}"
        return base if self.competition_id is None else f"{base}:c{self.competition_id}"

    @property
    def subject(self) -> str:
        return "" if self.competition_id is None else f"competition:{self.competition_id}"

    @property
    def trigger_fingerprint(self) -> tuple[object, ...]:
        """What the APScheduler job depends on; a change means the job is replaced."""
        return (self.schedule, self.grace)

    @property
    def slot(self) -> tuple[str, int, str, str]:
        """What its sent-log rows share across days (sent_log.slot_of)."""
        return (self.team_id, self.region_id, self.kind, self.subject)

    def describe(self) -> str:
        what = self.kind if self.competition_name is None else f"{self.kind} ({self.competition_name})"
        return f"{what} in {self.region_name}"


@dataclass(frozen=True)
class SpecProblem:
    team_id: str
    message: str


@dataclass(frozen=True)
class SpecSet:
    specs: list[JobSpec]
    problems: list[SpecProblem]


# --- specs ---------------------------------------------------------------------------------------


def load_job_specs(session: Session, team_id: str | None = None, *, include_disabled: bool = False) -> SpecSet:
    """Every job for every region with a channel (of one workspace, or of all of them).

    Configuration mistakes (unreadable settings, a window that ends before it starts, a region
    without a channel) are returned as problems, never raised: one bad competition must
    not stop the clock for everyone else.
    """
    query = select(Workspace).order_by(Workspace.team_id)
    if team_id is not None:
        query = query.where(Workspace.team_id == team_id)
    specs: list[JobSpec] = []
    problems: list[SpecProblem] = []
    for workspace in session.scalars(query):
        found = _workspace_specs(session, workspace, include_disabled)
        specs += found.specs
        problems += found.problems
    return SpecSet(specs, problems)


def _workspace_specs(session: Session, workspace: Workspace, include_disabled: bool) -> SpecSet:
    team_id = workspace.team_id
    regions = list_regions(session, team_id)
    competitions = list(
        session.scalars(
            select(Competition)
            .where(Competition.team_id == team_id, Competition.active.is_(True))
            .order_by(Competition.id)
        )
    )
    return workspace_specs(workspace, regions, competitions, include_disabled)


def workspace_specs(
    workspace: Workspace, regions: list[Region], competitions: list[Competition], include_disabled: bool = False
) -> SpecSet:
    """One workspace's jobs from its regions (by name) and active competitions (by id), loaded
    by the caller (the clock loads many workspaces' at once: bot.scheduler.bookkeeping)."""
    team_id = workspace.team_id
    try:
        settings = workspace_schedule(workspace)
    except ScheduleSettingsError as error:
        return SpecSet([], [SpecProblem(team_id, f"schedule settings ignored: {error}")])
    specs: list[JobSpec] = []
    problems: list[SpecProblem] = []
    for region in regions:
        if not region.channel_id:
            fix = f"pipeday region set {region.name} --channel C…"
            problems.append(
                SpecProblem(team_id, f"region {region.name} has no channel: nothing is scheduled there ({fix})")
            )
            continue
        specs += _specs(region, _weekly_slots(region, settings), settings, problems, include_disabled)
        for competition in competitions:
            if runs_in(competition, region):
                slots = _competition_slots(region, competition, settings, problems)
                specs += _specs(region, slots, settings, problems, include_disabled)
    return SpecSet(specs, problems)


@dataclass(frozen=True)
class _Slot:
    """When one kind of post goes out, before the settings say whether it is enabled."""

    kind: str
    weekday: int
    at: time
    active_since: datetime
    competition: Competition | None = None


def _weekly_slots(region: Region, settings: ScheduleSettings) -> list[_Slot]:
    slots = []
    for kind in WEEKLY_KINDS:
        setting = settings.kind(kind)
        default_day, default_at = WEEKLY_DEFAULTS[kind]
        weekday = default_day if setting.weekday is None else setting.weekday
        slots.append(_Slot(kind, weekday, setting.at or default_at, region.created_at))
    return slots


def _competition_slots(
    region: Region, competition: Competition, settings: ScheduleSettings, problems: list[SpecProblem]
) -> list[_Slot]:
    try:
        phases = competition_phases(competition.start_local, competition.end_local)
    except ValueError as error:
        problems.append(SpecProblem(region.team_id, f"competition {competition.name}: {error}"))
        return []
    phases.update(settings.competition_times.get(competition.id, {}))
    last_call = phases.get("last_call")
    if last_call is not None and not phases["kickoff"] < last_call < phases["results"]:
        del phases["last_call"]
        problems.append(
            SpecProblem(
                region.team_id,
                f"last_call of {competition.name} in {region.name} not scheduled: {last_call:%H:%M} is not "
                f"after the kickoff ({phases['kickoff']:%H:%M}) and before the results ({phases['results']:%H:%M})",
            )
        )
    active_since = max(region.created_at, competition.created_at)
    return [_Slot(kind, competition.weekday, at, active_since, competition) for kind, at in phases.items()]


def _specs(
    region: Region, slots: list[_Slot], settings: ScheduleSettings, problems: list[SpecProblem], include_disabled: bool
) -> list[JobSpec]:
    # Disabled kinds are left out before _spec, so they report no problems.
    specs = []
    for slot in slots:
        enabled = settings.kind(slot.kind).enabled
        if not enabled and not include_disabled:
            continue
        spec = _spec(
            region,
            slot.kind,
            slot.weekday,
            slot.at,
            settings.grace,
            slot.active_since,
            problems,
            enabled,
            slot.competition,
        )
        if spec is not None:
            specs.append(spec)
    return specs


def _spec(
    region: Region,
    kind: str,
    weekday: int,
    at: time,
    grace: timedelta,
    active_since: datetime,
    problems: list[SpecProblem],
    enabled: bool,
    competition: Competition | None = None,
) -> JobSpec | None:
    what = kind if competition is None else f"{kind} of {competition.name}"
    try:
        schedule = LocalSchedule(kind=kind, weekday=weekday, at=at, tz=region.tz)
    except ValueError as error:
        problems.append(SpecProblem(region.team_id, f"{what} in {region.name} not scheduled: {error}"))
        return None
    return JobSpec(
        team_id=region.team_id,
        region_id=region.id,
        region_name=region.name,
        channel_id=region.channel_id,
        schedule=schedule,
        grace=grace,
        active_since=active_since,
        competition_id=competition.id if competition else None,
        competition_name=competition.name if competition else None,
        enabled=enabled,
    )
