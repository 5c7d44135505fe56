"""The flag rules' check of ingested activity, once it is stored and its sender answered.

The batch API and the generic webhook hand a batch's created activities to `submit` from the
response's close (after the answer is sent): they are queued, and a thread of the checker's
own checks the queue, so neither the request thread nor the sender waits for the rules. Under
a sustained ingest it makes at most one pass a second (PASS_INTERVAL_S): everything queued
meanwhile is checked together, so ten batches a second cost one pass (one read of each day's
totals, one refresh of each night flag), not ten. `close` (at a worker's exit) checks what is
still queued at once. A vendor delivery's run and a replay after
`pipeday member link` are already after their answer, and `check_now` in their own thread.
In the web app each step of a check (its reads; each try at storing its flags) takes a turn at
the CPU with the ingested batches, after this worker's Slack requests, and a pass is checked
TURN_SLICE activities at a time; retries wait outside the turn (bot/ingest/turns.py).

The rules and their reads are bot.domain.trust_ingested: per (member, type, local day), not per
item. Caches: each workspace's settings (SettingsCache), the baselines per member or region,
type and local day (BaselineCache), and the flags this process has raised (a member above
the region's big day stays above it for every later batch that day: no INSERT each time).
A failure is logged, never raised: the activities are stored and answered for already. The
flags' INSERT is retried with a growing pause when the database is busy (SQLite's write gate
timing out under a long import, a PostgreSQL lock timeout or serialization failure): a
competition day's close re-checks only its big logs and big days, so an hours flag not stored
now would be lost. One that still can't be stored is logged at error level.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.flag_store import store_many
from bot.domain.ingested_days import IngestedActivity
from bot.domain.ingested_hours import is_span_draft
from bot.domain.night_flag_refresh import refresh_span_flags
from bot.domain.raised_flags import RaisedFlags
from bot.domain.trust_baselines import BaselineCache, BaselineReader
from bot.domain.trust_ingested import check_ingested
from bot.domain.trust_rules import FlagDraft
from bot.domain.trust_settings import SettingsCache, TrustSettings
from bot.ingest.turns import IngestTurns
from models.sqlite_files import ungated_reads
from models.sqlite_gate import yielding_writes

logger = logging.getLogger(__name__)
# Activities one check transaction of `check_now` takes.
MAX_BATCH = 2_000
# Queued activities one pass of the checker's thread takes (a second of a busy ingest), and the
# least time between the starts of two passes while more keeps coming.
MAX_PASS = 20_000
PASS_INTERVAL_S = 1.0
# Activities a pass checks per turn at the CPU (web app): what an ingested batch waiting for its
# turn, or a Slack request in this process, waits for at most.
TURN_SLICE = 500
# Past this many waiting, a batch's own request thread checks it: memory stays bounded and a
# sender faster than the checks is slowed down, never allowed to outrun them for ever.
MAX_QUEUED = 2 * MAX_PASS
IDLE_TIMEOUT_S = 30.0
# The flags' INSERT: tries, and the pause before each retry (doubling), while the database is busy.
STORE_ATTEMPTS = 4
# Drafts stored (and night flags refreshed, which reads what each night covers) per write
# transaction on SQLite: a typed log waits for one at most. 100 held the gate 11 ms at the
# median and 35 ms at p99 during a full-speed ingest, 20 holds it 5 and 13 ms (bench/README.md).
STORE_CHUNK = 20
FIRST_RETRY_S = 0.5


class IngestedFlagger:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Callable[[], datetime],
        sleep: Callable[[float], None] = time.sleep,
        pass_interval_s: float = PASS_INTERVAL_S,
        turns: IngestTurns | None = None,
        turn_slice: int = TURN_SLICE,
    ) -> None:
        """`turns`: the web app's, so its checks take turns at the CPU with the ingested batches
        (bot/ingest/turns.py), `turn_slice` activities a turn; a CLI's or a test's checker runs
        without, a pass in one go."""
        self._session_factory = session_factory
        self._clock = clock
        self._sleep = sleep
        self._pass_interval_s = pass_interval_s
        self._turns = turns
        self._turn_slice = turn_slice
        self.settings = SettingsCache()
        self.baselines = BaselineCache()
        self._raised = RaisedFlags()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queue: list[IngestedActivity] = []
        self._checking = False
        # When the last pass began (time.monotonic), and whether to take what is queued now
        # without waiting out the interval (wait_idle, close).
        self._last_pass: float | None = None
        self._hurry = False
        self._closed = False
        self._reads = ungated_reads(session_factory)

    def submit(self, activities: Sequence[IngestedActivity]) -> None:
        """Queue `activities` for a check on the checker's thread (started when none runs)."""
        if not activities:
            return
        with self._lock:
            if len(self._queue) >= MAX_QUEUED or self._closed:
                overflow = True
            else:
                overflow = False
                self._queue.extend(activities)
                if self._checking:
                    return  # the running checker takes them before it stops
                self._checking = True
        if overflow:
            self.check_now(activities)
            return
        threading.Thread(target=self._drain, name="pipeday-ingested-flags", daemon=True).start()

    def check_now(self, activities: Sequence[IngestedActivity]) -> None:
        """Check `activities` on this thread (a delivery run's, a CLI's)."""
        for start in range(0, len(activities), MAX_BATCH):
            self._check(activities[start : start + MAX_BATCH])

    def wait_idle(self, timeout: float = IDLE_TIMEOUT_S) -> None:
        """Until nothing is queued or being checked (tests, and a CLI before it exits): what is
        queued is checked now, without waiting out the pass interval."""
        with self._idle:
            if self._checking:
                self._hurry = True
                self._idle.notify_all()
            if not self._idle.wait_for(lambda: not self._checking, timeout=timeout):
                raise TimeoutError(f"ingested activity still being checked after {timeout}s")

    def close(self, timeout: float = IDLE_TIMEOUT_S) -> None:
        """At a worker's exit: check what is queued now; later batches are checked on their own
        request's thread. A check still running after `timeout` is logged, not waited for."""
        with self._lock:
            self._closed = True
        try:
            self.wait_idle(timeout)
        except TimeoutError:
            logger.error("ingested activity still being checked at exit after %ss", timeout)

    def _drain(self) -> None:
        while batch := self._next_batch():
            # With turns, a slice at a time: a batch waiting for the CPU waits for a slice's step.
            size = self._turn_slice if self._turns is not None else len(batch)
            # Each person's activity together, so a slice checks few (member, type, local day)s and
            # each night flag is refreshed by one slice of a pass, not by every slice (a pass takes
            # the batches of a second, each of which spans every member and day it names).
            batch.sort(key=_by_member_day)
            for start in range(0, len(batch), size):
                part = batch[start : start + size]
                try:
                    self._check(part)
                except Exception:  # a bug must not stop this process's checks for good
                    logger.exception("flag rules failed for %d ingested activities", len(part))

    def _step(self, work: Callable[[], list[FlagDraft]]) -> list[FlagDraft]:
        """One step of a check (its reads, or one try at storing) in a turn at the CPU, once this
        worker's Slack requests are answered; retries wait outside the turn."""
        if self._turns is None:
            return work()
        with self._turns.turn():
            self._turns.yield_to_interactive()
            return work()

    def _next_batch(self) -> list[IngestedActivity]:
        """What is queued, once the interval since the last pass began is over (batches that
        arrive meanwhile join it); with nothing, stop checking in the same breath as seeing the
        queue empty (so nothing can be queued between the two and left for nobody)."""
        with self._idle:
            if self._queue and self._last_pass is not None and not self._hurry:
                due = self._last_pass + self._pass_interval_s
                self._idle.wait_for(lambda: self._hurry, timeout=max(0.0, due - time.monotonic()))
            batch, self._queue = self._queue[:MAX_PASS], self._queue[MAX_PASS:]
            if batch:
                self._last_pass = time.monotonic()
            else:
                self._checking = False
                self._hurry = False
                self._idle.notify_all()
            return batch

    def _check(self, batch: Sequence[IngestedActivity]) -> None:
        try:
            if self._reads is None:
                # The reads and the INSERT in one transaction, retried whole while the database is busy.
                drafts = self._retrying(lambda: self._step(lambda: self._read_and_store(batch)), len(batch))
            else:
                # SQLite: the reads (a region's baseline reads weeks of its activity) in WAL
                # beside the writers, never holding the write gate; only the flags' INSERT takes it.
                drafts = self._step(lambda: self._read_drafts(batch))
                if drafts:
                    self._retrying(lambda: self._step(lambda: self._store(drafts)), len(batch))
        except SQLAlchemyError:
            # The activities are stored and answered; the flags that couldn't be raised are lost.
            logger.error("flag rules failed for %d ingested activities", len(batch), exc_info=True)
            return
        # Not a night's flag: a later batch of that night refreshes it, or follows its resolution.
        self._raised.remember([draft.dedupe_key for draft in drafts if not is_span_draft(draft)])

    def _read_drafts(self, batch: Sequence[IngestedActivity]) -> list[FlagDraft]:
        assert self._reads is not None
        with self._reads() as session:
            return self._drafts(session, batch)

    def _read_and_store(self, batch: Sequence[IngestedActivity]) -> list[FlagDraft]:
        with self._session_factory.begin() as session:
            drafts = self._drafts(session, batch)
            _store_in(session, drafts, self._clock())
        return drafts

    def _store(self, drafts: Sequence[FlagDraft]) -> list[FlagDraft]:
        # A transaction per STORE_CHUNK drafts: SQLite's write gate is held ~5 ms at a time, so
        # a typed log waits for one chunk, never for a whole pass's flags (~50-150 ms); and in the
        # bulk lane, like an ingested batch's chunks: a typed log waiting for the gate goes first.
        # Each chunk takes the lane on its own, so a batch's chunks can go between them.
        for start in range(0, len(drafts), STORE_CHUNK):
            with yielding_writes(), self._session_factory.begin() as session:
                _store_in(session, drafts[start : start + STORE_CHUNK], self._clock())
        return list(drafts)

    def _retrying(self, attempt: Callable[[], list[FlagDraft]], activities: int) -> list[FlagDraft]:
        """`attempt()`, again after a pause (doubling) while the database is busy, at most
        STORE_ATTEMPTS times; the last failure is raised."""
        pause = FIRST_RETRY_S
        for tries in range(1, STORE_ATTEMPTS + 1):
            try:
                return attempt()
            except OperationalError as busy:
                if tries == STORE_ATTEMPTS:
                    raise
                logger.warning(
                    "storing flags for %d ingested activities failed (%s); retrying in %.1fs",
                    activities,
                    busy.orig,
                    pause,
                )
                self._sleep(pause)
                pause *= 2
        raise AssertionError("unreachable")

    def _drafts(self, session: Session, batch: Sequence[IngestedActivity]) -> list[FlagDraft]:
        settings = self.settings.for_teams(session, (activity.team_id for activity in batch))
        ruled = {team_id for team_id, rules in settings.items() if rules.any_log_rule}  # once per workspace
        checked = [activity for activity in batch if activity.team_id in ruled]

        def reader(day: date, zone: ZoneInfo, rules: TrustSettings) -> BaselineReader:
            return BaselineReader(session, self.baselines, day, zone, rules.history_weeks)

        drafts = check_ingested(session, checked, settings.__getitem__, reader, self._raised.known)
        return [draft for draft in drafts if is_span_draft(draft) or not self._raised.known(draft.dedupe_key)]


def _by_member_day(activity: IngestedActivity) -> tuple[str, int, str, datetime]:
    return activity.team_id, activity.member_id, activity.type, activity.occurred_at


def _store_in(session: Session, drafts: Sequence[FlagDraft], now: datetime) -> None:
    """New flags once each; a night's open flag brought up to date with what it covers now."""
    store_many(session, drafts, now)
    refresh_span_flags(session, [draft for draft in drafts if is_span_draft(draft)])
