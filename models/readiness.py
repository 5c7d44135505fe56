"""Waiting for the database at boot instead of refusing to start.

A web worker that exits because the database is down (or not migrated yet) is restarted
and exits again: a crash loop that says nothing useful. DatabaseReadiness checks in the
background instead, with backoff, says in the log what is wrong, and flips to ready the
moment the database answers at the expected revision. Until then its sessions refuse to
open, so requests that need the database fail at once (and are apologised for) while the
others are served.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from models.availability import one_line
from models.db import DatabaseNotMigrated, ensure_migrated

logger = logging.getLogger(__name__)


class DatabaseNotReady(RuntimeError):
    """A session was asked for before the database was found reachable and migrated."""


# Seconds between checks: quick at first (a database that is just starting), then every 5 s
# (a check against a database known to be down fails at once: models/availability.py).
READINESS_RETRY_DELAYS = (0.5, 1.0, 2.0, 3.0, 5.0)


class DatabaseReadiness:
    """Is the database reachable and migrated yet? Checked in the background until it is."""

    def __init__(self, engine: Engine, retry_delays: Sequence[float] = READINESS_RETRY_DELAYS) -> None:
        self.engine = engine
        self.target = engine.url.render_as_string(hide_password=True)
        self._retry_delays = retry_delays
        self._ready = threading.Event()
        self._checked = threading.Event()
        self._stopped = threading.Event()
        self.problem: str | None = "the database has not been checked yet"
        self._thread: threading.Thread | None = None

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def session_factory(self) -> sessionmaker[Session]:
        """Sessions that refuse to open (DatabaseNotReady, at once) until the database is ready:
        nothing runs against a database that isn't there or has an older schema, and what
        needs no database is not held up."""
        factory = _ReadySessionMaker(bind=self.engine, expire_on_commit=False)
        factory.readiness = self
        return factory

    def start(self) -> DatabaseReadiness:
        self._thread = threading.Thread(target=self._keep_checking, name="database-readiness", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def wait_for_first_check(self, timeout_s: float) -> bool:
        """Wait (at most `timeout_s`) for the first check's verdict; True when the database is ready."""
        self._checked.wait(timeout_s)
        return self.ready

    def _keep_checking(self) -> None:
        attempt = 0
        while not self._stopped.is_set():
            ready = self.check_once()
            self._checked.set()
            if ready:
                return
            delay = self._retry_delays[min(attempt, len(self._retry_delays) - 1)]
            attempt += 1
            logger.error("Pipeday can't serve Slack yet: %s (checking again in %g s)", self.problem, delay)
            self._stopped.wait(delay)

    def check_once(self) -> bool:
        try:
            ensure_migrated(self.engine)
        except SQLAlchemyError as error:
            self.problem = f"can't reach the database at {self.target}: {one_line(error)}"
            return False
        except DatabaseNotMigrated as error:  # says what to run
            self.problem = str(error)
            return False
        except Exception as error:  # anything else: keep it in the log and keep trying, never die silently
            logger.exception("checking the database failed unexpectedly")
            self.problem = f"checking the database failed: {one_line(error)}"
            return False
        self.problem = None
        self._ready.set()
        logger.info("the database at %s is reachable and migrated; serving Slack", self.target)
        return True


class _ReadySessionMaker(sessionmaker[Session]):
    readiness: DatabaseReadiness

    def __call__(self, **local_kw: Any) -> Session:
        if not self.readiness.ready:
            raise DatabaseNotReady(f"the database isn't ready: {self.readiness.problem}")
        return super().__call__(**local_kw)
