"""Counting the app's work in flight, so a demo or a test can wait until it is all done.

Bolt answers Slack as soon as a listener acks and finishes the listener in its own pool;
what a listener does after answering (live standings edits, spins, uploads) runs on the
app's after-ack pool (the demo's simulated clock must not move on while any of it still
reads it). `BackgroundWork.wrap` puts a counting executor around each pool handed
to `create_app`, and `wait_idle` returns once nothing the app started is still running —
a fact to wait for, instead of sleeping and hoping the work has reached the stub.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
IDLE_TIMEOUT_SECONDS = 30.0


class BackgroundWork:
    """Counts the work in flight in every executor it wraps."""

    def __init__(self) -> None:
        self._pending = 0
        self._idle = threading.Condition()

    def wrap(self, inner: Executor) -> Executor:
        return _TrackedExecutor(inner, self)

    def started(self) -> None:
        with self._idle:
            self._pending += 1

    def finished(self, _future: Future[Any] | None = None) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float = IDLE_TIMEOUT_SECONDS) -> None:
        with self._idle:
            if not self._idle.wait_for(lambda: self._pending == 0, timeout=timeout):
                raise TimeoutError(f"the app still had {self._pending} task(s) running after {timeout}s")


class _TrackedExecutor(Executor):
    def __init__(self, inner: Executor, work: BackgroundWork) -> None:
        self._inner = inner
        self._work = work

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        # Counted before it is queued: a listener that hands work to the after-ack pool is
        # still running then, so the count never touches zero in between.
        self._work.started()
        try:
            future = self._inner.submit(fn, *args, **kwargs)
        except RuntimeError:
            self._work.finished()
            raise
        future.add_done_callback(self._work.finished)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._inner.shutdown(wait=wait, cancel_futures=cancel_futures)
