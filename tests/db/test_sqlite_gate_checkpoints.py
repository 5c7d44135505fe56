"""models/sqlite_gate.py: WAL checkpoints run after a commit has released the write gate (SQLite's
own ran inside the commit that crossed 1,000 pages, lock held), every few bulk commits and only
rarely after a typed log's, on a thread of their own (models/sqlite_checkpoints.py)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from models.sqlite_checkpoints import BackgroundCheckpoints
from models.sqlite_gate import (
    BULK_COMMITS_PER_CHECKPOINT,
    COMMITS_PER_CHECKPOINT,
    WriteGate,
    gated_connection_class,
    yielding_writes,
)
from tests.support.waiting import wait_until

CHECKPOINT = "PRAGMA wal_checkpoint(PASSIVE)"


class RecordingGate(WriteGate):
    def __init__(self, lock_path: Path, events: list[str]) -> None:
        super().__init__(lock_path, timeout_s=5)
        self.events = events

    def acquire(self) -> None:
        super().acquire()
        self.events.append("gate taken")

    def release(self) -> None:
        super().release()
        self.events.append("gate released")


def connect(tmp_path: Path, events: list[str]) -> sqlite3.Connection:
    gate = RecordingGate(tmp_path / "db.writer-lock", events)
    connection = sqlite3.connect(tmp_path / "db", factory=gated_connection_class(gate), isolation_level=None)
    connection.gate = gate  # type: ignore[attr-defined]
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (n INTEGER)")
    connection.set_trace_callback(events.append)
    return connection


def write(connection: sqlite3.Connection, rows: int) -> None:
    connection.begin_immediate()  # type: ignore[attr-defined]
    connection.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(rows)])
    connection.commit()


def test_sqlite_never_checkpoints_inside_a_commit_and_bulk_writes_have_it_checkpointed_after_releasing_the_gate(
    tmp_path: Path,
) -> None:
    events: list[str] = []
    connection = connect(tmp_path, events)
    gate = connection.gate  # type: ignore[attr-defined]
    assert connection.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
    with yielding_writes():
        for _ in range(BULK_COMMITS_PER_CHECKPOINT - 1):
            write(connection, 50)
        assert gate.checkpoints.completed == 0
        before = (tmp_path / "db").stat().st_size  # in WAL mode the file grows only by checkpoints
        events.clear()
        write(connection, 50)
    # The writer went on at once: the checkpoint runs on the gate's thread, not on its connection.
    assert events[events.index("COMMIT") :] == ["COMMIT", "gate released"]
    assert CHECKPOINT not in events
    wait_until(lambda: gate.checkpoints.completed == 1, what="the background checkpoint")
    assert (tmp_path / "db").stat().st_size > before  # the WAL's pages were copied into the file
    connection.close()


def test_once_the_wal_is_long_the_committing_writer_checkpoints_it_so_the_next_transaction_restarts_it(
    tmp_path: Path,
) -> None:
    """A checkpoint beside a busy writer never copies all of the WAL before the writer's next
    transaction, and only then does SQLite start the WAL again: it grew to 2 GB in an import."""
    events: list[str] = []
    connection = connect(tmp_path, events)
    gate = connection.gate  # type: ignore[attr-defined]
    gate.checkpoints = BackgroundCheckpoints(gate.checkpoint_failed, long_log_frames=1)
    wal = tmp_path / "db-wal"
    with yielding_writes():
        for _ in range(BULK_COMMITS_PER_CHECKPOINT):
            write(connection, 50)
        wait_until(lambda: gate.checkpoints.completed == 1, what="the background checkpoint")
        assert CHECKPOINT not in events  # the WAL was short: in the background
        events.clear()
        for _ in range(BULK_COMMITS_PER_CHECKPOINT):
            write(connection, 500)
        # Long now: checkpointed by the writer itself, after the gate, before writing again.
        assert events[-3:] == ["COMMIT", "gate released", CHECKPOINT]
        assert gate.checkpoints.completed == 1
        longest = wal.stat().st_size
        for _ in range(3):
            write(connection, 500)  # restarted: written over the WAL's first frames
        assert wal.stat().st_size == longest
    connection.close()


def test_the_checkpoint_thread_ends_when_idle_starts_again_when_asked_and_survives_a_failure(tmp_path: Path) -> None:
    failures: list[str] = []
    checkpoints = BackgroundCheckpoints(lambda: failures.append("failed"), idle_s=0.5)

    others = set(threading.enumerate())
    checkpoints.request(str(tmp_path / "missing" / "db"))  # no such folder: can't even connect
    wait_until(lambda: checkpoints.completed == 1, what="the failed checkpoint")
    assert failures == ["failed"]
    (thread,) = [new for new in set(threading.enumerate()) - others if new.name == "pipeday-sqlite-checkpoints"]
    wait_until(lambda: not thread.is_alive(), what="the idle thread's end")
    database = tmp_path / "db"
    with sqlite3.connect(database) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
    checkpoints.request(str(database))
    wait_until(lambda: checkpoints.completed == 2, what="a checkpoint on a new thread")
    assert failures == ["failed"]


def test_typed_logs_checkpoint_only_as_a_safety_net_and_bulk_checkpoints_count_for_them(tmp_path: Path) -> None:
    gate = WriteGate(tmp_path / "db.writer-lock", timeout_s=5)
    typed = [gate.checkpoint_due(bulk=False) for _ in range(COMMITS_PER_CHECKPOINT)]
    assert typed == [False] * (COMMITS_PER_CHECKPOINT - 1) + [True]
    bulk = [gate.checkpoint_due(bulk=True) for _ in range(BULK_COMMITS_PER_CHECKPOINT)]
    assert bulk == [False] * (BULK_COMMITS_PER_CHECKPOINT - 1) + [True]
    assert not any(gate.checkpoint_due(bulk=False) for _ in range(COMMITS_PER_CHECKPOINT - 1))
    assert gate.checkpoint_due(bulk=True) is True  # overdue: the bulk write takes it at once
    # ... and that checkpoint started the count again: the next typed log doesn't pay.
    assert gate.checkpoint_due(bulk=False) is False


def test_a_rolled_back_transaction_does_not_count_toward_a_checkpoint(tmp_path: Path) -> None:
    events: list[str] = []
    connection = connect(tmp_path, events)
    with yielding_writes():
        for _ in range(BULK_COMMITS_PER_CHECKPOINT * 2):
            connection.begin_immediate()  # type: ignore[attr-defined]
            connection.execute("INSERT INTO t VALUES (1)")
            connection.rollback()
    assert CHECKPOINT not in events
    connection.close()


def test_a_thread_that_cannot_start_fails_the_checkpoint_not_the_commit_and_the_next_request_starts_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures: list[str] = []
    checkpoints = BackgroundCheckpoints(lambda: failures.append("failed"), idle_s=0.5)
    database = tmp_path / "db"
    with sqlite3.connect(database) as setup:
        setup.execute("PRAGMA journal_mode=WAL")

    def no_thread(_thread: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    with monkeypatch.context() as patched:
        patched.setattr(threading.Thread, "start", no_thread)
        checkpoints.request(str(database))  # raises nothing: the commit before it stands
    assert failures == ["failed"]
    checkpoints.request(str(database))
    wait_until(lambda: checkpoints.completed == 1, what="a checkpoint on a thread started later")
