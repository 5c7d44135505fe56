"""SQLite's WAL checkpoints on a thread of their own, so the writer whose commit made one due
(models/sqlite_gate.py) goes on at once.

A PASSIVE checkpoint copies the WAL's committed pages into the database file: 4-13 ms each
during a full-speed ingest on this machine, up to ~50 ms. Run by the committing thread, it ran
inside an ingested batch's turn at the CPU (bot/ingest/turns.py), so every batch waiting for a
turn waited for it too: ~15 ms of a batch's ~90 ms turn (bench/README.md, "Ingestion"). PASSIVE
never waits for readers or writers, and writers go on appending to the WAL meanwhile, so it
can run beside them. A request made while one runs gets one more after it (requests coalesce).

But a WAL starts again from its beginning only when a write transaction begins after a
checkpoint has copied all of it, and one running beside a busy writer never quite catches up:
a 300,000-row import grew the WAL to 2 GB. So once the WAL is LONG_LOG_FRAMES long, the next
due checkpoint runs on the committing connection before it writes again (`checkpoint`), as all
of them used to: it copies what the background ones left, and the next transaction restarts
the WAL. (A typed log that takes the gate between that commit and its checkpoint begins on the
old WAL; the WAL stays long, and the next due checkpoint tries again. Holding the gate for it
would make typed logs wait for a checkpoint again.)

The thread opens a connection of its own, and ends after IDLE_S with nothing to do (a test run
opens hundreds of databases); the next request starts another. A process forked from one with
the thread running starts its own.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

IDLE_S = 5.0
# 64 MiB of 4 KiB pages: about half a second of a full-speed import's WAL. A reader looks a
# page up in one more 32 KiB hash table of the WAL's index per 4,096 frames.
LONG_LOG_FRAMES = 16_384


class BackgroundCheckpoints:
    def __init__(
        self, on_failure: Callable[[], None], idle_s: float = IDLE_S, long_log_frames: int = LONG_LOG_FRAMES
    ) -> None:
        """`on_failure`: called when a checkpoint couldn't run (the gate lets the next bulk commit ask again)."""
        self._on_failure = on_failure
        self._idle_s = idle_s
        self._long_log_frames = long_log_frames
        self._state = threading.Condition()
        self._due: str | None = None  # the database file to checkpoint next
        # The running thread and its process (a forked child's copy names its parent).
        self._runner: tuple[int, threading.Thread] | None = None
        self.completed = 0  # checkpoints run, whether or not they could copy everything
        self._log_frames = 0  # the WAL's length at the last checkpoint (0: it restarts next)

    def checkpoint(self, connection: sqlite3.Connection, database_file: str) -> None:
        """A checkpoint that is due after `connection` committed: on the thread, unless the WAL
        is long; then now, on `connection`, so that the next write transaction restarts it."""
        with self._state:
            long_log = self._log_frames >= self._long_log_frames
        if not long_log:
            self.request(database_file)
            return
        if (found := self._passive(connection)) is not None:
            _busy, log_frames, copied = found
            self._note(log_frames if copied < log_frames else 0)

    def request(self, database_file: str) -> None:
        """Checkpoint `database_file` soon, on the thread (started if none runs here)."""
        with self._state:
            self._due = database_file
            if self._runner is not None and self._runner[0] == os.getpid():
                self._state.notify()
                return
            thread = threading.Thread(target=self._run, name="pipeday-sqlite-checkpoints", daemon=True)
            self._runner = (os.getpid(), thread)
        try:
            thread.start()
        except RuntimeError as error:  # no thread to be had (a process limit): the commit stands
            logger.warning("no thread for WAL checkpoints (the next bulk commit asks again): %s", error)
            with self._state:
                if self._runner is not None and self._runner[1] is thread:
                    self._runner = None
            self._on_failure()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while (database_file := self._next()) is not None:
                try:
                    if connection is None:
                        connection = sqlite3.connect(database_file, isolation_level=None, check_same_thread=False)
                except sqlite3.Error as error:
                    logger.warning("no connection for a WAL checkpoint (the next bulk commit asks again): %s", error)
                    self._on_failure()
                found = self._passive(connection) if connection is not None else None
                if found is not None:
                    # The WAL's length, copied or not: writers went on meanwhile, so only the
                    # next checkpoint can tell whether it restarted.
                    self._note(found[1])
                with self._state:
                    self.completed += 1
                    self._state.notify_all()
        finally:
            with self._state:
                self._stop_running()
            if connection is not None:
                connection.close()

    def _passive(self, connection: sqlite3.Connection) -> tuple[int, int, int] | None:
        """(busy, frames in the WAL, frames copied), or None when it failed or couldn't run
        because another connection was checkpointing (a row of (1, -1, -1): the WAL's length is
        unknown, so what is known of it stays)."""
        try:
            busy, log_frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as error:
            logger.warning("a WAL checkpoint failed (the next bulk commit asks again): %s", error)
            self._on_failure()
            return None
        if log_frames < 0:
            return None
        return int(busy), int(log_frames), int(copied)

    def _note(self, log_frames: int) -> None:
        with self._state:
            self._log_frames = log_frames

    def _next(self) -> str | None:
        """The file to checkpoint now, or None once nothing was asked for IDLE_S (the thread ends)."""
        with self._state:
            if not self._state.wait_for(lambda: self._due is not None, self._idle_s):
                self._stop_running()  # under the lock: a request from now on starts a new thread
                return None
            database_file, self._due = self._due, None
            return database_file

    def _stop_running(self) -> None:
        if self._runner is not None and self._runner[1] is threading.current_thread():
            self._runner = None
