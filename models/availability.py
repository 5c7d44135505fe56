"""Staying up while the database is down: fail fast, probe with a deadline, wait for it at boot.

- ConnectBreaker: once a connection attempt has failed, one attempt at a time goes to the
  server and every other one fails at once, so a database that hangs ties up one thread,
  not the pool (and not Slack's 3 s for everyone queued behind it).
- SharedProbe: /healthz runs its check on a background thread and answers by a deadline;
  probes that arrive while a check is in flight share it instead of starting their own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

logger = logging.getLogger(__name__)
T = TypeVar("T")


class ConnectBreaker:
    """Serialises connection attempts while the database is known to be unreachable."""

    def __init__(self, target: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.target = target
        self._clock = clock
        self._lock = threading.Lock()
        self._failure: str | None = None  # why the last attempt failed; None while connections succeed
        self._failed_at = 0.0
        self._probing = False

    def connect(self, attempt: Callable[[], T], fail_fast: Callable[[str], BaseException]) -> T:
        """Run `attempt`, unless another attempt is already finding out whether the database is back:
        then raise `fail_fast(reason)` (a DBAPI error, so SQLAlchemy reports it like any other)."""
        with self._lock:
            probing = self._failure is not None
            if probing:
                if self._probing:
                    ago = self._clock() - self._failed_at
                    raise fail_fast(
                        f"not connecting to {self.target}: the last attempt failed {ago:.1f} s ago "
                        f"({self._failure}) and another attempt is under way"
                    )
                self._probing = True
        try:
            connection = attempt()
        except Exception as error:
            with self._lock:
                if self._failure is None:
                    logger.error("can't connect to the database at %s: %s", self.target, one_line(error))
                self._failure, self._failed_at = one_line(error), self._clock()
                if probing:
                    self._probing = False
            raise
        with self._lock:
            if self._failure is not None:
                logger.warning("the database at %s answers again", self.target)
            self._failure = None
            if probing:
                self._probing = False
        return connection


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str


class SharedProbe:
    """Answers `check()`'s result within `deadline_s`, running at most one check at a time."""

    def __init__(self, check: Callable[[], Health], deadline_s: float) -> None:
        self._check = check
        self.deadline_s = deadline_s
        self._lock = threading.Lock()
        self._in_flight: Future[Health] | None = None

    def run(self) -> Health:
        with self._lock:
            if self._in_flight is None or self._in_flight.done():
                self._in_flight = self._start()
            future = self._in_flight
        try:
            return future.result(timeout=self.deadline_s)
        except FutureTimeout:
            return Health(False, f"no answer within {self.deadline_s:g} s")

    def _start(self) -> Future[Health]:
        future: Future[Health] = Future()

        def run_check() -> None:
            try:
                future.set_result(self._check())
            except Exception as error:  # a bug in the check: logged, and every waiting probe says unhealthy
                logger.exception("the health check failed unexpectedly")
                future.set_result(Health(False, one_line(error)))

        threading.Thread(target=run_check, name="health-probe", daemon=True).start()
        return future


def one_line(error: BaseException) -> str:
    if isinstance(error, SQLAlchemyError) and getattr(error, "orig", None) is not None:
        error = error.orig  # type: ignore[attr-defined]
    text = str(error).strip().splitlines()
    return f"{error.__class__.__name__}: {text[0] if text else ''}".rstrip(": ")
