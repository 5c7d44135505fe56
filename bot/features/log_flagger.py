"""The flag rules' check of each new log, after its ack: batched, cached, and never in the way.

A log's listener decides, reading nothing, whether the log could trip a rule at all (most
can't: a daytime `/pg 1 connect` under the region's big day, with few recent logs); only then
does its follow-up (after the ack, after the commit) queue it here. The first follow-up to
find nobody checking becomes the checker: it checks everything queued, a batch at a time,
until the queue is empty; the others return at once. On SQLite a batch's reads run outside
the write gate and only its flags' INSERT takes it. Quiet, one log is one small transaction;
busy, a dozen logs share one, which is what keeps the rules off the logs' own latency
(bench/flags.py). A failure is logged and never reaches the person who logged: the log is
saved and answered already.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from functools import partial

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.activities import RECENT_LOGS_WINDOW, LogResult
from bot.domain.flag_store import store_drafts
from bot.domain.raised_flags import RaisedFlags
from bot.domain.trust_baselines import BaselineCache, BaselineReader, region_key
from bot.domain.trust_checks import check_logs, region_percentiles, worth_checking
from bot.domain.trust_rules import FlagDraft, LogFacts
from bot.domain.trust_settings import SettingsCache, TrustSettings
from bot.slack.context import FollowUp
from models.sqlite_files import ungated_reads

logger = logging.getLogger(__name__)
MAX_BATCH = 200


class LogFlagger:
    """Checks new logs against the flag rules, with per-process caches of each workspace's
    settings, of the baselines (per member or region, type and local day) and of the flags
    this process has raised (a member above the region's big day stays above it for every
    further log that day: no INSERT each time)."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self._session_factory = session_factory
        self._clock = clock
        self.settings = SettingsCache()
        self.baselines = BaselineCache()
        self._raised = RaisedFlags()
        self._lock = threading.Lock()
        self._queue: list[LogFacts] = []
        self._checking = False
        bind = session_factory.kw.get("bind")
        self._autocommit = (
            bind.execution_options(isolation_level="AUTOCOMMIT")
            if isinstance(bind, Engine) and bind.dialect.name == "postgresql"
            else None
        )
        self._reads = ungated_reads(session_factory)  # SQLite files only

    def listener(self, session: Session, result: LogResult) -> FollowUp | None:
        """In the log's transaction, reading nothing: hand the log on for a check after the ack
        when it could trip a rule, judged from what the log knows already and this process's
        caches (settings not cached yet, or the region's distribution: check)."""
        facts = LogFacts.of(result)
        settings = self.settings.cached(facts.team_id)
        if settings is None:
            return partial(self.check, facts)
        if not settings.any_log_rule:
            return None
        region = None
        if facts.region_id is not None and (percentiles := region_percentiles(settings)):
            key = region_key(facts.region_id, facts.type, facts.local_date, settings.history_weeks, percentiles)
            region = self.baselines.peek(key)
        window_s = RECENT_LOGS_WINDOW.total_seconds()
        if not worth_checking(facts, settings, result.recent_typed_logs, region, self._raised.known, window_s):
            return None
        return partial(self.check, facts)

    def check(self, facts: LogFacts) -> None:
        """Queue the log; check the queue unless someone else is checking it now."""
        with self._lock:
            self._queue.append(facts)
            if self._checking:
                return  # the checker takes it before it stops
            self._checking = True
        while batch := self._next_batch():
            self._check_batch(batch)

    def _next_batch(self) -> list[LogFacts]:
        """The next batch; when there is none, stop checking, in the same breath as seeing the
        queue empty (so no log can be queued between the two and left for nobody)."""
        with self._lock:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            if not batch:
                self._checking = False
            return batch

    def _check_batch(self, batch: list[LogFacts]) -> None:
        try:
            if self._reads is not None:
                # SQLite: the reads (a baseline reads weeks of activity) beside the writers, never
                # holding the write gate; only the flags' INSERT takes it. Read in the gate, a
                # check during an ingest held it up to ~140 ms, and the next `/pg` waited for it.
                with self._reads() as session:
                    drafts = self._drafts(session, batch)
                if drafts:
                    with self._session_factory.begin() as session:
                        store_drafts(session, drafts, self._clock())
            else:
                with self._session() as session:
                    drafts = self._drafts(session, batch)
                    if drafts:
                        store_drafts(session, drafts, self._clock())
            self._raised.remember([draft.dedupe_key for draft in drafts])
        except SQLAlchemyError:
            # The logs are saved and answered; flags that couldn't be raised are the only loss.
            logger.exception("flag rules failed for activities %s", [facts.activity_id for facts in batch])

    def _drafts(self, session: Session, batch: list[LogFacts]) -> list[FlagDraft]:
        """The flags `batch` raises that this process hasn't raised already."""
        settings = self.settings.for_teams(session, (facts.team_id for facts in batch))
        checked = [facts for facts in batch if settings[facts.team_id].any_log_rule]
        drafts = check_logs(session, checked, settings.__getitem__, partial(self._reader, session))
        return [draft for draft in drafts if not self._raised.known(draft.dedupe_key)]

    def _session(self) -> AbstractContextManager[Session]:
        """A transaction for the check; on PostgreSQL none at all (autocommit): the check only
        reads, and each flag is one INSERT, so BEGIN and COMMIT would only be two more round
        trips after every log. In-memory SQLite (tests) keeps its transaction."""
        if self._autocommit is not None:
            return self._session_factory(bind=self._autocommit)
        return self._session_factory.begin()

    def _reader(self, session: Session, facts: LogFacts, settings: TrustSettings) -> BaselineReader:
        return BaselineReader(session, self.baselines, facts.local_date, facts.zone, settings.history_weeks)
