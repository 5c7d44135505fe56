"""Staying up while the database is down: fail fast, probe with a deadline, wait for it at boot.

- ConnectBreaker: once a connection attempt has failed, every attempt fails at once while a
  background thread finds out when the database is back, so a database that hangs costs one
  connect timeout, not a connect timeout per request (Slack's 3 s for everyone queued behind).
- SharedProbe: /healthz runs its check on a background thread and answers by a deadline;
  probes that arrive while a check is in flight share it (and its deadline) instead of
  starting their own.
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
    """Fails connection attempts at once while the database is known to be unreachable.

    The first failed attempt opens the breaker; from then on a background thread (not a
    request) tries to connect every `retry_s`, and closes the breaker when it gets through.
    It gives up trying after `idle_s` without anyone asking for a connection: the next
    request then tries for itself.
    """

    def __init__(
        self,
        target: str,
        dbapi_error: type[Exception],
        fail_fast: Callable[[str], Exception],
        retry_s: float = 1.0,
        idle_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.target = target
        self._dbapi_error = dbapi_error  # what a failed connection attempt raises
        self._fail_fast = fail_fast  # what to raise instead of trying
        self._retry_s = retry_s
        self._idle_s = idle_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failure: str | None = None  # why the last attempt failed, while the breaker is open
        self._failed_at = 0.0
        self._wanted_at = 0.0  # when a connection was last asked for
        self._stop_retrying = threading.Event()

    def connect(self, attempt: Callable[[], T]) -> T:
        """Run `attempt` (open a DBAPI connection), or while the breaker is open raise
        `fail_fast(reason)` (a DBAPI error, so SQLAlchemy reports it like any other)."""
        with self._lock:
            self._wanted_at = self._clock()
            if self._failure is not None:
                ago = self._clock() - self._failed_at
                raise self._fail_fast(
                    f"not connecting to {self.target}: an attempt {ago:.1f} s ago failed ({self._failure})"
                )
        try:
            return attempt()
        except self._dbapi_error as error:
            self._opened_by(error, attempt)
            raise

    def reset(self) -> None:
        """Forget what is known and stop the background attempts (the engine's pool is being
        disposed of): the next request tries for itself."""
        with self._lock:
            self._failure = None
            self._stop_retrying.set()

    def _opened_by(self, error: Exception, attempt: Callable[[], object]) -> None:
        with self._lock:
            already_open = self._failure is not None
            self._failure, self._failed_at = one_line(error), self._clock()
            if already_open:
                return
            self._stop_retrying = stop = threading.Event()
        logger.error("can't connect to the database at %s: %s", self.target, self._failure)
        threading.Thread(target=self._retry, args=(attempt, stop), name="database-reconnect", daemon=True).start()

    def _retry(self, attempt: Callable[[], object], stop: threading.Event) -> None:
        while not stop.wait(self._retry_s):
            if self._clock() - self._wanted_at > self._idle_s:
                self._close("nobody asked for a connection for a while; the next request will try", stop)
                return
            try:
                connection = attempt()
            except self._dbapi_error as error:  # still down: say why next time someone is refused
                with self._lock:
                    if not stop.is_set():
                        self._failure, self._failed_at = one_line(error), self._clock()
                continue
            getattr(connection, "close", lambda: None)()
            self._close("the database answers again", stop)
            return
        # reset() stopped us: it has closed the breaker already

    def _close(self, why: str, stop: threading.Event) -> None:
        with self._lock:
            if stop.is_set():
                return
            self._failure = None
            stop.set()
        logger.info("database at %s: %s", self.target, why)


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str


class SharedProbe:
    """Answers `check()`'s result within `deadline_s` of the check starting, running at most one
    check at a time: a probe that arrives while a check is in flight shares it, and its deadline,
    so a database that never answers holds no probe longer than `deadline_s` (and once that
    has passed, none at all) and ties up one thread in all."""

    def __init__(
        self, check: Callable[[], Health], deadline_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._check = check
        self.deadline_s = deadline_s
        self._clock = clock
        self._lock = threading.Lock()
        self._in_flight: Future[Health] | None = None
        self._started_at = 0.0

    def run(self) -> Health:
        with self._lock:
            if self._in_flight is None or self._in_flight.done():
                self._in_flight, self._started_at = self._start(), self._clock()
            future, started_at = self._in_flight, self._started_at
        try:
            return future.result(timeout=max(0.0, started_at + self.deadline_s - self._clock()))
        except FutureTimeout:
            return Health(False, f"no answer after {self._clock() - started_at:.1f} s")

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
