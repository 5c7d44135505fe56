"""`pipeday clock`: the one scheduler process (the Procfile's `clock:`).

Web workers never import this module's scheduler; only `pipeday clock` starts one.

The clock turns the database's configuration into APScheduler jobs — one `WallClockTrigger`
per (region × competition × kind) in the region's own `ZoneInfo`, with a stable job id
and `replace_existing=True` — and every `reconcile_every` it re-reads the configuration,
so a new region, competition or schedule takes effect without a restart. The same tick
takes over claims a dead process left (posting unless Slack already has the post), retries
failed posts, catches up firings missed while the clock was down (within the grace period;
otherwise it logs the skip), finishes spin announcements that failed and retries the fetches
of vendor webhook deliveries that are due (bot/scheduler/delivery_retries.py).

Two clocks running by mistake both fire, but the sent-log claim lets only one post.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.posting.spin_announcements import announce_pending_spins
from bot.scheduler.announce import schedule_summary
from bot.scheduler.bookkeeping import CatchUpWatch, ConfigWatch, FiringTimes, handled_keys, specs_for
from bot.scheduler.constants import DEFAULT_RECONCILE_EVERY
from bot.scheduler.delivery_retries import retry_due_deliveries
from bot.scheduler.groups import GroupKey, SharedTriggers
from bot.scheduler.jobs import (
    Firing,
    JobRuntime,
    RunOutcome,
    latest_firing,
    run_firing,
)
from bot.scheduler.lanes import WorkspaceLanes
from bot.scheduler.retries import dispatch_firing, retry_failed
from bot.scheduler.specs import JobSpec, SpecProblem, SpecSet
from bot.scheduler.takeover import take_over_stale_claims
from bot.scheduler.timing import weekly_trigger
from models import utc_now

logger = logging.getLogger(__name__)

RECONCILE_JOB_ID = "pipeday:reconcile"
JOB_ID_PREFIX = "pipeday:"
EXECUTOR_THREADS = 8
# A deferred live-standings refresh that could not run on time is still worth doing soon after.
DEFERRED_MISFIRE_GRACE_SECONDS = 300

TriggerFactory = Callable[[JobSpec], BaseTrigger]


def spec_trigger(spec: JobSpec) -> BaseTrigger:
    return weekly_trigger(spec.schedule)


# APScheduler's own loggers for the scheduler, executor and job store `make_scheduler` sets up.
APSCHEDULER_LOGGERS = ("apscheduler.scheduler", "apscheduler.executors.default", "apscheduler.jobstores.default")


class InfoToDebug(logging.Filter):
    """APScheduler logs every job it adds, runs and removes at INFO level (some 80 lines as the
    clock starts); the clock reports what matters itself, so those are debug output here."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def demote_apscheduler_info() -> None:
    for name in APSCHEDULER_LOGGERS:
        library_logger = logging.getLogger(name)
        if not any(isinstance(existing, InfoToDebug) for existing in library_logger.filters):
            library_logger.addFilter(InfoToDebug())


def make_scheduler(*, blocking: bool) -> BaseScheduler:
    """A scheduler in UTC (each trigger carries its region's zone) with a small thread pool."""
    demote_apscheduler_info()
    scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
    return scheduler_class(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(EXECUTOR_THREADS)},
        # One run at a time per job; a backlog of the same job collapses into one run.
        job_defaults={"coalesce": True, "max_instances": 1},
    )


@dataclass(frozen=True)
class ReconcileReport:
    added: list[str]
    replaced: list[str]
    removed: list[str]
    problems: list[SpecProblem]
    outcomes: list[RunOutcome]


class Clock:
    """Keeps a scheduler's jobs in line with the database and runs each firing once."""

    def __init__(
        self,
        scheduler: BaseScheduler,
        runtime: JobRuntime,
        *,
        clock: Callable[[], datetime] = utc_now,
        reconcile_every: timedelta = DEFAULT_RECONCILE_EVERY,
        trigger_for: TriggerFactory = spec_trigger,
        lanes: WorkspaceLanes | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.runtime = runtime
        # One clock for the jobs and the retries they defer, which this scheduler runs.
        runtime.clock, runtime.defer = clock, self.defer
        # Many workspaces: every firing runs in its workspace's lane (bot.scheduler.lanes), so
        # one workspace's backlog or Retry-After never holds up another's posts.
        self.lanes = lanes if lanes is not None or runtime.clients is None else WorkspaceLanes()
        if self.lanes is not None:
            runtime.dispatch = self._dispatch_in_lane
        # ...and jobs of the same schedule share one APScheduler job (bot.scheduler.groups).
        self._shared = SharedTriggers(scheduler, trigger_for, self.fire_group) if self.lanes is not None else None
        self._reconcile_every = reconcile_every
        self._trigger_for = trigger_for
        self._lock = threading.Lock()
        self._specs: dict[str, JobSpec] = {}
        self._specs_known = False
        self._reported_problems: set[SpecProblem] = set()
        # Per workspace: its job ids and its configuration problems (bot.scheduler.bookkeeping).
        self._team_jobs: dict[str, set[str]] = {}
        self._problems: dict[str, list[SpecProblem]] = {}
        self._config = ConfigWatch()
        self._catch_up = CatchUpWatch()
        self._last_tick: datetime | None = None

    @property
    def job_count(self) -> int:
        """Jobs scheduled (with many workspaces, fewer APScheduler jobs: one per schedule)."""
        return len(self._specs)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, *, paused: bool = False) -> None:
        """Build the jobs, say what is scheduled, then start the scheduler (blocks for a
        BlockingScheduler)."""
        self.reconcile(announce=True)
        # What start-up built (every job, trigger and spec) lives as long as the process: kept
        # out of the cyclic collector's full passes, which with many workspaces would otherwise
        # walk all of it every few ticks (~0.2 s each at 30,000 jobs).
        gc.freeze()
        self.scheduler.add_job(
            self.reconcile,
            IntervalTrigger(seconds=self._reconcile_every.total_seconds()),
            id=RECONCILE_JOB_ID,
            name="re-read configuration, retry failed posts, catch up",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        self.scheduler.start(paused=paused)

    # -- reconcile -----------------------------------------------------------------------------

    def reconcile(self, *, announce: bool = False) -> ReconcileReport:
        """Bring the jobs in line with the database, then retry, take over and catch up.
        `announce` logs one line per job kind and region (at start-up) instead of the counts.

        Only workspaces whose configuration changed since the last tick have their jobs
        rebuilt, and only jobs with a firing due since they were last looked at are checked
        for a missed one (bot.scheduler.bookkeeping): with many workspaces a quiet tick reads
        a few narrow queries and changes nothing."""
        now = self.runtime.clock()
        with self.runtime.session_factory.begin() as session:
            served = self.runtime.clients.served_teams(session) if self.runtime.clients is not None else None
            changed, gone = self._config.changes(session, served)
            rebuilt = specs_for(session, changed) if changed else {}
        added, replaced, removed = self._sync_teams(rebuilt, gone | (changed - set(rebuilt)))
        problems = [problem for team_problems in self._problems.values() for problem in team_problems]
        self._report_problems(problems)
        if announce:
            specs = list(self._specs.values())
            for line in schedule_summary(specs):
                logger.info("%s", line)
            if not specs:
                logger.info("nothing is scheduled: no region has a channel, or every kind of post is off")
        elif added or replaced or removed:
            logger.info("jobs: %d added, %d replaced, %d removed", len(added), len(replaced), len(removed))
        outcomes = self._maintain(now)
        return ReconcileReport(added, replaced, removed, problems, outcomes)

    def _sync_teams(self, rebuilt: dict[str, SpecSet], gone: set[str]) -> tuple[list[str], list[str], list[str]]:
        """Replace the jobs of the workspaces rebuilt, drop those of the workspaces gone."""
        added: list[str] = []
        replaced: list[str] = []
        removed: list[str] = []
        if not rebuilt and not gone and self._specs_known:
            return added, replaced, removed
        with self._lock:
            old = self._specs
            specs = dict(old)  # a new dict, so fire() always reads a whole one
            for team_id in sorted(gone | set(rebuilt)):
                wanted = {spec.job_id: spec for spec in rebuilt[team_id].specs} if team_id in rebuilt else {}
                for job_id in self._team_jobs.pop(team_id, set()) - set(wanted):
                    specs.pop(job_id, None)
                    removed.append(job_id)
                specs.update(wanted)
                if wanted:
                    self._team_jobs[team_id] = set(wanted)
                if team_id in rebuilt:
                    self._problems[team_id] = rebuilt[team_id].problems
                else:
                    self._problems.pop(team_id, None)
            self._specs = specs  # fire() reads the latest channel, names, grace
        for team_id in sorted(rebuilt):
            for spec in rebuilt[team_id].specs:
                before = old.get(spec.job_id)
                unchanged = before is not None and before.trigger_fingerprint == spec.trigger_fingerprint
                if unchanged and self._is_scheduled(spec.job_id):
                    continue
                self._schedule(spec)
                (replaced if before is not None else added).append(spec.job_id)
        if not self._specs_known and self._shared is None:
            # The first time: jobs this scheduler had from before (none, normally) go too.
            removed += [
                job.id for job in self.scheduler.get_jobs() if self._is_spec_job(job.id) and job.id not in specs
            ]
        self._specs_known = True
        for job_id in removed:
            self._catch_up.unwatch(job_id)
            if self._shared is not None:
                self._shared.remove(job_id)
            elif self.scheduler.get_job(job_id) is not None:
                self.scheduler.remove_job(job_id)
        return added, replaced, removed

    def _is_scheduled(self, job_id: str) -> bool:
        if self._shared is not None:
            return self._shared.is_placed(job_id)
        return self.scheduler.get_job(job_id) is not None

    def _schedule(self, spec: JobSpec) -> None:
        self._catch_up.watch(spec.job_id)  # a new or changed job: looked at on this tick
        if self._shared is not None:
            self._shared.place(spec)
            return
        self.scheduler.add_job(
            self.fire if self.lanes is None else self.fire_in_lane,
            self._trigger_for(spec),
            args=[spec.job_id],
            id=spec.job_id,
            name=spec.describe(),
            replace_existing=True,
            # Late by up to the grace period (a busy pool, a slow reconcile): still run it.
            misfire_grace_time=max(1, int(spec.grace.total_seconds())),
            coalesce=True,
            max_instances=1,
        )

    @staticmethod
    def _is_spec_job(job_id: str) -> bool:
        return job_id.startswith(JOB_ID_PREFIX) and job_id != RECONCILE_JOB_ID

    def _report_problems(self, problems: Sequence[SpecProblem]) -> None:
        # Once per distinct problem, not every minute.
        current = set(problems)
        for problem in current - self._reported_problems:
            logger.warning("workspace %s: %s", problem.team_id, problem.message)
        self._reported_problems = current

    def _maintain(self, now: datetime) -> list[RunOutcome]:
        specs = list(self._specs.values())
        outcomes = take_over_stale_claims(self.runtime, specs, now)
        outcomes += retry_failed(self.runtime, specs, now)
        outcomes += self._catch_up_missed(now)
        client_for = self.runtime.client_for if self.runtime.clients is not None else None
        announce_pending_spins(
            self.runtime.client, self.runtime.session_factory, now, self.runtime.clock, client_for=client_for
        )
        # Vendor deliveries whose fetch from the vendor's API is due (bot/hooks.py).
        retry_due_deliveries(self.runtime)
        for upkeep in self.runtime.upkeep:
            try:
                upkeep(now)
            except Exception:  # one chore failing never stops the tick (or the others)
                logger.exception(
                    "clock upkeep %s failed; the next tick tries again", getattr(upkeep, "__name__", upkeep)
                )
        return outcomes

    def _catch_up_missed(self, now: datetime) -> list[RunOutcome]:
        """`catch_up_missed` for the jobs with a firing due since they were last looked at:
        the latest firing of each, unless it has a sent-log row or predates the job."""
        if self._last_tick is not None and now < self._last_tick:
            self._catch_up.reset()  # the clock went back: look at everything again
        self._last_tick = now
        specs, times = self._specs, FiringTimes(now)
        firings: list[Firing] = []
        for job_id in self._catch_up.due(now):
            spec = specs.get(job_id)
            if spec is None:
                continue
            self._catch_up.watch(job_id, times.next_after_now(spec.schedule))
            firing = times.latest(spec)
            if firing is not None and firing.scheduled_for >= spec.active_since:
                firings.append(firing)
        if not firings:
            return []
        with self.runtime.session_factory.begin() as session:
            handled = handled_keys(session, [firing.key for firing in firings], now)
        outcomes: list[RunOutcome] = []
        for firing in firings:
            if firing.key not in handled:
                dispatch_firing(self.runtime, firing, partial(run_firing, self.runtime, firing, now=now), outcomes)
        return outcomes

    # -- firing ---------------------------------------------------------------------------------

    def fire(self, job_id: str) -> RunOutcome | None:
        """An APScheduler job: run the spec's most recent firing (claimed, so at most once)."""
        with self._lock:
            spec = self._specs.get(job_id)
        if spec is None:
            logger.info("job %s fired but is no longer configured", job_id)
            return None
        now = self.runtime.clock()
        firing = latest_firing(spec, now)
        if firing is None:
            logger.warning("job %s fired at %s with no firing due", job_id, now.isoformat())
            return None
        return run_firing(self.runtime, firing, now=now)

    def fire_group(self, key: GroupKey) -> None:
        """The APScheduler job of one schedule, with many workspaces: each member job's firing
        goes to its own workspace's lane."""
        assert self._shared is not None
        for job_id in self._shared.members(key):
            self.fire_in_lane(job_id)

    def fire_in_lane(self, job_id: str) -> None:
        """An APScheduler job with many workspaces: hand the firing to its workspace's lane."""
        with self._lock:
            spec = self._specs.get(job_id)
        if spec is None:
            logger.info("job %s fired but is no longer configured", job_id)
            return
        assert self.lanes is not None
        if not self.lanes.submit(spec.team_id, job_id, partial(self.fire, job_id)):
            logger.info("job %s fired while its last run is still queued or running", job_id)

    def _dispatch_in_lane(self, team_id: str, key: str, action: Callable[[], RunOutcome]) -> RunOutcome | None:
        assert self.lanes is not None
        self.lanes.submit(team_id, key, action)
        return None

    def defer(self, at: datetime, action: Callable[[], None]) -> None:
        """Run `action` once at `at` (live standings throttling asks for this)."""
        self.scheduler.add_job(action, DateTrigger(run_date=at), misfire_grace_time=DEFERRED_MISFIRE_GRACE_SECONDS)


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM (how process managers stop the clock) into a clean exit from start()."""

    def handle(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_blocking(clock: Clock) -> None:
    """Run until interrupted; running jobs are not waited for (their claims say what happened)."""
    with stop_on_sigterm():
        try:
            clock.start()
        except (KeyboardInterrupt, SystemExit):
            logger.info("clock stopping")
        finally:
            if clock.scheduler.running:
                clock.scheduler.shutdown(wait=False)
