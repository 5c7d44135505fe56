"""Queue SQLite write transactions in the kernel, not in SQLite's busy handler.

Every SQLite transaction here starts with BEGIN IMMEDIATE, which takes the database's
write lock. When it is taken, SQLite's busy handler retries after sleeping 1, 2, 5, 10,
15, 20, 25, 25, 25, 50, 50 and then 100 ms at a time, so under contention waiters
oversleep the holder and the lock sits idle (16 concurrent `/pg` logs: p99 ~1 s).

A transaction first takes this gate: a per-process lock (a waiting thread wakes the
moment it is released) and then an flock() on `<database>.writer-lock`, which the other
gunicorn workers share (polled every <= 2 ms). By the time BEGIN IMMEDIATE runs, nobody
else in Pipeday holds SQLite's lock; other programs still meet the busy timeout.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Any

FIRST_POLL_S, LONGEST_POLL_S = 0.0002, 0.002


class WriteGate:
    def __init__(self, lock_path: Path, timeout_s: float) -> None:
        self.lock_path = lock_path
        self.timeout_s = timeout_s
        self._in_process = threading.Lock()
        self._fd: int | None = None
        self._fd_pid = 0
        self._close_fd: weakref.finalize[[int], WriteGate] | None = None

    def acquire(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        if not self._in_process.acquire(timeout=self.timeout_s):
            raise sqlite3.OperationalError("database is locked (waited for this process's writers)")
        try:
            self._flock_until(deadline)
        except BaseException:
            self._in_process.release()
            raise

    def release(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._in_process.release()

    def _flock_until(self, deadline: float) -> None:
        fd = self._process_fd()
        pause = FIRST_POLL_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise sqlite3.OperationalError("database is locked (waited for another process's writer)") from None
                time.sleep(pause)
                pause = min(pause * 2, LONGEST_POLL_S)

    def _process_fd(self) -> int:
        # One open file per process: a descriptor inherited across fork() would share the
        # lock with the parent instead of excluding it.
        if self._fd is None or self._fd_pid != os.getpid():
            if self._close_fd is not None:
                self._close_fd()  # the copy inherited from the parent process
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._fd_pid = os.getpid()
            self._close_fd = weakref.finalize(self, os.close, self._fd)
        return self._fd


def gated_connection_class(gate: WriteGate) -> type[sqlite3.Connection]:
    """A sqlite3.Connection that holds `gate` from BEGIN until COMMIT/ROLLBACK has finished."""

    class GatedConnection(sqlite3.Connection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.holding_gate = False

        def begin_immediate(self) -> None:
            gate.acquire()
            self.holding_gate = True
            try:
                self.execute("BEGIN IMMEDIATE")
            except BaseException:
                self._release_gate()
                raise

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self._release_gate()

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
