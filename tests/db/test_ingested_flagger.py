"""bot/ingest/flag_checks.IngestedFlagger's own thread: a check that fails with a bug is logged
and the next batches are still checked (the thread used to die with `checking` left set, so
nothing ingested in that process was ever checked again). A busy database delays the flags'
INSERT (retried with a growing pause) rather than losing them; one still failing is an error."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.directory import MemberRef, add_region, join_region
from bot.domain.ingested_days import IngestedActivity
from bot.ingest.flag_checks import IngestedFlagger
from bot.ingest.turns import IngestTurns, NoTurn
from models import Flag
from tests.support.waiting import wait_until

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def activity(activity_id: int) -> IngestedActivity:
    return IngestedActivity(activity_id, "T1", 1, None, None, None, "connect", 1.0, NOW, "zapier")


class FirstCheckFails(IngestedFlagger):
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        super().__init__(session_factory, lambda: NOW)
        self.checked: list[list[int]] = []

    def _check(self, batch: Sequence[IngestedActivity]) -> None:
        self.checked.append([a.activity_id for a in batch])
        if len(self.checked) == 1:
            raise RuntimeError("a bug in a rule")


def test_a_failing_check_leaves_the_checker_working(session_factory: sessionmaker[Session]) -> None:
    flagger = FirstCheckFails(session_factory)
    flagger.submit([activity(1)])
    wait_until(lambda: flagger.checked == [[1]], what="the first check")
    flagger.wait_idle()
    flagger.submit([activity(2)])
    wait_until(lambda: flagger.checked == [[1], [2]], what=lambda: f"the second check ({flagger.checked})")
    flagger.wait_idle()


class BusyFlagWrites:
    """The flags' INSERT fails as if the write gate (or a lock) timed out, the first `times` times."""

    def __init__(self, engine: Engine, times: int) -> None:
        self.times = times
        self.failed = 0
        event.listen(engine, "before_cursor_execute", self.before)

    def before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO FLAGS") and self.failed < self.times:
            self.failed += 1
            raise OperationalError(statement, parameters, sqlite3.OperationalError("database is locked"))


def night_call(session_factory: sessionmaker[Session]) -> IngestedActivity:
    """ana's dialer call at 04:00 in New York: outside the usual hours, an hours flag."""
    with session_factory.begin() as session:
        add_region(session, "T1", "AMER", "America/New_York", "C_AMER", actor="test")
        member = MemberRef.of(join_region(session, "T1", "U_ANA", "ana", "AMER").member)
    at = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    return IngestedActivity(1, "T1", member.id, member.region_id, "AMER", member.tz, "call", 1.0, at, "aircall")


def stored_flags(session_factory: sessionmaker[Session]) -> list[tuple[str, str]]:
    with session_factory() as session:
        return [(flag.rule, flag.figures["first_local_time"]) for flag in session.scalars(select(Flag))]


def test_a_busy_database_delays_the_flags_insert_rather_than_losing_it(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    call = night_call(session_factory)
    pauses: list[float] = []
    busy = BusyFlagWrites(engine, times=2)
    try:
        IngestedFlagger(session_factory, lambda: NOW, sleep=pauses.append).check_now([call])
    finally:
        event.remove(engine, "before_cursor_execute", busy.before)
    assert busy.failed == 2
    assert pauses == [0.5, 1.0]
    assert stored_flags(session_factory) == [("hours", "04:00")]


def test_flags_that_still_cant_be_stored_are_logged_as_an_error(
    engine: Engine, session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    call = night_call(session_factory)
    pauses: list[float] = []
    busy = BusyFlagWrites(engine, times=100)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.ingest.flag_checks"):
            IngestedFlagger(session_factory, lambda: NOW, sleep=pauses.append).check_now([call])
    finally:
        event.remove(engine, "before_cursor_execute", busy.before)
    assert (busy.failed, pauses) == (4, [0.5, 1.0, 2.0])
    assert stored_flags(session_factory) == []
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == ["flag rules failed for 1 ingested activities"]


def test_with_turns_a_busy_databases_retries_wait_outside_the_turn(
    engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """Each try at storing takes its own turn: while the checker waits to retry, ingested
    batches on this machine can have the CPU (they don't wait out its pauses)."""
    call = night_call(session_factory)
    free_while_pausing: list[bool] = []

    def pause(_seconds: float) -> None:
        try:
            with IngestTurns(tmp_path / "turns.lock").turn(timeout_s=1.0):  # as another worker would
                free_while_pausing.append(True)
        except NoTurn:
            free_while_pausing.append(False)

    busy = BusyFlagWrites(engine, times=2)
    flagger = IngestedFlagger(session_factory, lambda: NOW, sleep=pause, turns=IngestTurns(tmp_path / "turns.lock"))
    try:
        flagger.check_now([call])
    finally:
        event.remove(engine, "before_cursor_execute", busy.before)
    assert free_while_pausing == [True, True]
    assert stored_flags(session_factory) == [("hours", "04:00")]
