"""SQLite's WAL checkpoints on a thread of their own, so the writer whose commit made one due
(models/sqlite_gate.py) goes on at once.

A PASSIVE checkpoint copies the WAL's committed pages into the database file: 4-13 ms each
during a full-speed ingest on this machine, up to ~50 ms. Run by the committing thread, it ran
inside an ingested batch's turn at the CPU (bot/ingest/turns.py), so every batch waiting for a
turn waited for it too: ~15 ms of a batch's ~90 ms turn (bench/README.md, "Ingestion"). PASSIVE
never waits for readers or writers, and writers go on appending to the WAL meanwhile, so it
can run beside them. A request made while one runs gets one more after it (requests coalesce).

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


class BackgroundCheckpoints:
    def __init__(self, on_failure: Callable[[], None], idle_s: float = IDLE_S) -> None:
        """`on_failure`: called when a checkpoint couldn't run (the gate lets the next bulk commit ask again)."""
        self._on_failure = on_failure
        self._idle_s = idle_s
        self._state = threading.Condition()
        self._due: str | None = None  # the database file to checkpoint next
        # The running thread and its process (a forked child's copy names its parent).
        self._runner: tuple[int, threading.Thread] | None = None
        self.completed = 0  # checkpoints run, whether or not they could copy everything

    def request(self, database_file: str) -> None:
        """Checkpoint `database_file` soon, on the thread (started if none runs here)."""
        with self._state:
            self._due = database_file
            if self._runner is not None and self._runner[0] == os.getpid():
                self._state.notify()
                return
            thread = threading.Thread(target=self._run, name="pipeday-sqlite-checkpoints", daemon=True)
            self._runner = (os.getpid(), thread)
        thread.start()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while (database_file := self._next()) is not None:
                try:
                    if connection is None:
                        connection = sqlite3.connect(database_file, isolation_level=None, check_same_thread=False)
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()
                except sqlite3.Error as error:
                    logger.warning("a WAL checkpoint failed (the next bulk commit asks again): %s", error)
                    self._on_failure()
                with self._state:
                    self.completed += 1
                    self._state.notify_all()
        finally:
            if connection is not None:
                connection.close()
            with self._state:
                self._stop_running()

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
