"""What the operator and the clock process do in the demo: competitions and prizes, jobs,
and scheduled or manual job runs, through the same domain and scheduler functions."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

from slack_sdk import WebClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.demo.world import World
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import PRESETS
from bot.domain.prizes import add_prize
from bot.domain.wheel import SeedSource
from bot.scheduler.jobs import Deferrer, Firing, JobRuntime, firing_at, run_firing
from bot.scheduler.specs import load_job_specs
from bot.scheduler.timing import missed_firings
from models import Member


def add_competitions_and_prizes(session_factory: sessionmaker[Session], world: World) -> None:
    """What `pipeday competition add --preset …` and `pipeday prize add …` do."""
    with session_factory.begin() as session:
        for plan in world.competitions:
            add_competition(session, world.team_id, PRESETS[plan.preset], actor="demo")
        for prize in world.prizes:
            add_prize(session, world.team_id, prize.name, weight=prize.weight, stock=prize.stock, actor="demo")


def set_jobs(session_factory: sessionmaker[Session], world: World) -> None:
    """SDR or AE decides default goals; there is no slash command for it, so set it directly."""
    with session_factory.begin() as session:
        for person in world.people:
            session.execute(
                update(Member)
                .where(Member.team_id == world.team_id, Member.user_id == person.user_id)
                .values(job=person.job)
            )


@dataclass(frozen=True)
class ScheduledRun:
    """One firing of one scheduled job, ready to run at its simulated time."""

    at: datetime
    kind: str
    region_name: str
    run: Callable[[], str]  # returns the outcome status: sent, duplicate, skipped or failed


def job_runtime(
    session_factory: sessionmaker[Session],
    client: WebClient,
    defer: Deferrer,
    seed_source: SeedSource,
    clock: Callable[[], datetime],
) -> JobRuntime:
    """What the clock process runs jobs with; one for the demo's scheduled and manual runs."""
    # The stub has no rate limits, so the clock's paced client (which sleeps) is not needed.
    return JobRuntime(
        session_factory=session_factory,
        client=client,
        defer=defer,
        worker_id="pipeday-demo",
        seed_source=seed_source,
        clock=clock,
    )


def scheduled_jobs(
    runtime: JobRuntime, team_id: str, days: Collection[date], first: datetime, last: datetime
) -> list[ScheduledRun]:
    """Every firing of the workspace's scheduled jobs on the played (local) days, run exactly
    as the clock process runs them (`run_firing` at the due time)."""
    with runtime.session_factory.begin() as session:
        specs = load_job_specs(session, team_id).specs
    return [
        ScheduledRun(at, spec.kind, spec.region_name, partial(_run_status, runtime, firing_at(spec, at), at))
        for spec in specs
        for at in missed_firings(spec.schedule, first, last)
        if at.astimezone(spec.schedule.zone).date() in days
    ]


def _run_status(runtime: JobRuntime, firing: Firing, now: datetime) -> str:
    return run_firing(runtime, firing, now=now).status


def run_job_now(runtime: JobRuntime, team_id: str, kind: str, region_name: str, at: datetime) -> str:
    """What `pipeday jobs run KIND --region R --at AT` does (a manual run ignores the schedule)."""
    with runtime.session_factory.begin() as session:
        specs = [s for s in load_job_specs(session, team_id).specs if s.kind == kind and s.region_name == region_name]
    statuses = [run_firing(runtime, firing_at(spec, at), now=at, manual=True).status for spec in specs]
    return "failed" if "failed" in statuses else ", ".join(statuses) or "skipped"
