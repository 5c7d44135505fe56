"""Queue SQLite write transactions in the kernel, not in SQLite's busy handler.

Every SQLite transaction here starts with BEGIN IMMEDIATE, which takes the database's
write lock. When it is taken, SQLite's busy handler retries after sleeping 1, 2, 5, 10,
15, 20, 25, 25, 25, 50, 50 and then 100 ms at a time, so under contention waiters
oversleep the holder and the lock sits idle (16 concurrent `/pg` logs: p99 ~1 s).

A transaction first takes this gate: a per-process lock (a waiting thread wakes the
moment it is released) and then an flock() on `<database>.writer-lock`, which the other
gunicorn workers share (polled every <= 2 ms). By the time BEGIN IMMEDIATE runs, nobody
else in Pipeday holds SQLite's lock; other programs still meet the busy timeout.

WAL checkpoints happen after a commit has released the gate, not inside the commit that
crosses SQLite's 1,000-page mark with the lock held (`WriteGate.checkpoint_due`), and on a
thread of their own (models/sqlite_checkpoints.py): the committing writer goes on at once.

Bulk writes (an ingested batch's chunks, `yielding_writes()`) take turns in a lane of
their own, one block at a time (`<database>.bulk.writer-lock`), and let every other writer go
first: a thread of this process waiting for the gate, or another process's, which says so
with a shared flock() on `<database>.waiting.writer-lock` while it waits. A bulk writer that
gets the gate while anyone waits hands it back and waits until nobody does. So a typed log
that arrives during an import waits for the chunk being written, never for the chunks after
it; bulk writes only run in the gaps (within the same timeout).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from models.file_locks import FIRST_POLL_S, flock_until
from models.sqlite_checkpoints import BackgroundCheckpoints

# How often a bulk writer that stepped aside looks whether the others are done.
YIELD_POLL_S = 0.0005
# WAL checkpoints, after the gate is released: every few bulk commits (a 100-row chunk writes
# ~50-100 pages), or after this many commits of any kind (a typed log writes a few pages;
# SQLite's own default is every 1,000 pages).
BULK_COMMITS_PER_CHECKPOINT = 8
COMMITS_PER_CHECKPOINT = 250


class _BulkScope:
    """One `yielding_writes()` block: the bulk lanes it has entered, left when it ends."""

    def __init__(self, lane_wait_s: float | None) -> None:
        self.lane_wait_s = lane_wait_s
        self.lanes: list[WriteGate] = []

    def leave(self) -> None:
        for gate in reversed(self.lanes):
            gate.leave_lane()
        self.lanes.clear()


_bulk: ContextVar[_BulkScope | None] = ContextVar("pipeday_sqlite_bulk_writes", default=None)


@contextmanager
def yielding_writes(lane_wait_s: float | None = None) -> Iterator[None]:
    """Transactions begun inside this block let every other Pipeday writer go first; and per
    database one such block writes at a time, in all processes (the bulk lane, held from its
    first transaction to the block's end). A bulk job then takes about one core however many
    clients send it, and leaves the other to everyone else. `lane_wait_s`: how long the first
    transaction may wait for the lane (default: the gate's timeout)."""
    if _bulk.get() is not None:
        yield  # already inside one: same lane
        return
    scope = _BulkScope(lane_wait_s)
    token = _bulk.set(scope)
    try:
        yield
    finally:
        _bulk.reset(token)
        scope.leave()


def _locked(why: str) -> Callable[[], sqlite3.OperationalError]:
    return lambda: sqlite3.OperationalError(f"database is locked ({why})")


def waiting_path(lock_path: Path) -> Path:
    """`<database>.waiting.writer-lock` next to `<database>.writer-lock` (all git-ignored)."""
    return lock_path.with_name(f"{lock_path.stem}.waiting{lock_path.suffix}")


def lane_path(lock_path: Path) -> Path:
    """`<database>.bulk.writer-lock`: the bulk lane's lock."""
    return lock_path.with_name(f"{lock_path.stem}.bulk{lock_path.suffix}")


class _ProcessFile:
    """One open file per process: a descriptor inherited across fork() would share its
    locks with the parent instead of excluding it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid = 0
        self._close: weakref.finalize[[int], _ProcessFile] | None = None

    def fd(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            if self._close is not None:
                self._close()  # the copy inherited from the parent process
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
            self._close = weakref.finalize(self, os.close, self._fd)
        return self._fd


class WriteGate:
    def __init__(self, lock_path: Path, timeout_s: float) -> None:
        self.lock_path = lock_path
        self.timeout_s = timeout_s
        self._lock_file = _ProcessFile(lock_path)
        # Held shared by this process while any of its ordinary writers waits ...
        self._announce_file = _ProcessFile(waiting_path(lock_path))
        # ... and probed exclusively (another descriptor, so it conflicts with our own share).
        self._probe_file = _ProcessFile(waiting_path(lock_path))
        self._state = threading.Condition()
        self._held = False
        self._waiting = 0  # this process's ordinary (not yielding) writers waiting for the gate
        self._commits_since_checkpoint = 0
        self.checkpoints = BackgroundCheckpoints(self.checkpoint_failed)
        self._lane = threading.Lock()
        self._lane_file = _ProcessFile(lane_path(lock_path))

    def acquire(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        scope = _bulk.get()
        if scope is None:
            self._acquire_first(deadline)
            return
        if self not in scope.lanes:
            wait_s = self.timeout_s if scope.lane_wait_s is None else scope.lane_wait_s
            self._enter_lane(time.monotonic() + wait_s)
            scope.lanes.append(self)
            deadline = time.monotonic() + self.timeout_s  # the gate's own wait starts now
        self._acquire_yielding(deadline)

    def leave_lane(self) -> None:
        try:
            fcntl.flock(self._lane_file.fd(), fcntl.LOCK_UN)
        finally:
            self._lane.release()

    def _enter_lane(self, deadline: float) -> None:
        if not self._lane.acquire(timeout=_left(deadline)):
            raise sqlite3.OperationalError("database is locked (bulk write: waited for this process's bulk write)")
        try:
            flock_until(self._lane_file.fd(), deadline, _locked("bulk write: waited for another process's bulk write"))
        except sqlite3.OperationalError:
            self._lane.release()
            raise

    def release(self) -> None:
        try:
            fcntl.flock(self._lock_file.fd(), fcntl.LOCK_UN)
        finally:
            with self._state:
                self._held = False
                self._state.notify_all()

    def checkpoint_due(self, bulk: bool) -> bool:
        """After a commit, gate released: is it this commit's turn to checkpoint the WAL?

        Bulk writes checkpoint every BULK_COMMITS_PER_CHECKPOINT commits (their chunks fill
        the WAL fast, and their callers can spare the time); typed logs only as a safety net
        when nothing else has for COMMITS_PER_CHECKPOINT commits, so a slash command hardly
        ever pays for one."""
        with self._state:
            self._commits_since_checkpoint += 1
            due = self._commits_since_checkpoint >= (BULK_COMMITS_PER_CHECKPOINT if bulk else COMMITS_PER_CHECKPOINT)
            if due:
                self._commits_since_checkpoint = 0
            return due

    def checkpoint_failed(self) -> None:
        """A checkpoint that couldn't run: the next bulk commit tries again."""
        with self._state:
            self._commits_since_checkpoint = max(self._commits_since_checkpoint, BULK_COMMITS_PER_CHECKPOINT)

    def _acquire_first(self, deadline: float) -> None:
        # Announced from the moment this process has a writer queued until the last one has
        # the gate, so other processes' bulk writers step aside meanwhile.
        got = False
        with self._state:
            self._waiting += 1
            try:
                if self._waiting == 1:
                    self._announce(deadline)
                got = self._state.wait_for(lambda: not self._held, _left(deadline))
                if got:
                    self._held = True
            finally:
                self._waiting -= 1
        try:
            if not got:
                raise sqlite3.OperationalError("database is locked (waited for this process's writers)")
            try:
                self._flock_until(deadline)
            except BaseException:
                self.release_process_lock()
                raise
        finally:
            with self._state:
                if self._waiting == 0:
                    self._unannounce()

    def _acquire_yielding(self, deadline: float) -> None:
        while True:
            with self._state:
                if not self._state.wait_for(lambda: not self._held and self._waiting == 0, _left(deadline)):
                    raise sqlite3.OperationalError("database is locked (bulk write: waited for this process's writers)")
                self._held = True
            try:
                # Not while a writer of this process queues: it must not wait for our turn.
                got = self._flock_until(deadline, give_up=lambda: self._waiting > 0)
            except BaseException:
                self.release_process_lock()
                raise
            if not got:
                self.release_process_lock()
                continue
            if not self._others_waiting():
                return
            self.release()  # someone else waits: they go first
            self._wait_until_nobody_waits(deadline)

    def release_process_lock(self) -> None:
        with self._state:
            self._held = False
            self._state.notify_all()

    def _flock_until(self, deadline: float, give_up: Callable[[], bool] = lambda: False) -> bool:
        """Poll for the flock until `deadline` (then raise); False as soon as `give_up()`."""
        return flock_until(self._lock_file.fd(), deadline, _locked("waited for another process's writer"), give_up)

    def _announce(self, deadline: float) -> None:
        # A bulk writer's probe holds the file exclusively for microseconds at a time.
        fd = self._announce_file.fd()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise sqlite3.OperationalError("database is locked (could not queue for the writer lock)") from None
                time.sleep(FIRST_POLL_S)

    def _unannounce(self) -> None:
        fcntl.flock(self._announce_file.fd(), fcntl.LOCK_UN)

    def _others_waiting(self) -> bool:
        """An ordinary writer, here or in another process, is queued for the gate."""
        with self._state:
            if self._waiting:
                return True
        fd = self._probe_file.fd()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False

    def _wait_until_nobody_waits(self, deadline: float) -> None:
        while self._others_waiting():
            if time.monotonic() >= deadline:
                raise sqlite3.OperationalError("database is locked (bulk write: other writers kept the lock)")
            time.sleep(YIELD_POLL_S)


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.0)


def gated_connection_class(gate: WriteGate) -> type[sqlite3.Connection]:
    """A sqlite3.Connection that holds `gate` from BEGIN until COMMIT/ROLLBACK has finished,
    and has the WAL checkpointed (on the gate's thread) only after it has let go of the gate
    (`WriteGate.checkpoint_due`)."""

    class GatedConnection(sqlite3.Connection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.holding_gate = False
            self.bulk = False
            # SQLite's own checkpoints run inside the COMMIT that crosses 1,000 WAL pages,
            # with the write lock held (~10 ms of copying and fsync on this disk): commit()
            # checkpoints after the gate is released instead.
            self.execute("PRAGMA wal_autocheckpoint=0")
            # The file a checkpoint copies into ("" for an in-memory database: no WAL).
            self.database_file = str(self.execute("PRAGMA database_list").fetchone()[2])

        def begin_immediate(self) -> None:
            gate.acquire()
            self.holding_gate = True
            self.bulk = _bulk.get() is not None
            try:
                self.execute("BEGIN IMMEDIATE")
            except BaseException:
                self._release_gate()
                raise

        def commit(self) -> None:
            wrote = self.holding_gate
            try:
                super().commit()
            finally:
                self._release_gate()
            if wrote and gate.checkpoint_due(self.bulk) and self.database_file:
                gate.checkpoints.checkpoint(self, self.database_file)

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self._release_gate()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self._release_gate()

        def _release_gate(self) -> None:
            if self.holding_gate:
                self.holding_gate = False
                gate.release()

    return GatedConnection
