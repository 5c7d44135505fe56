"""A clock to set and advance instead of sleeping: `pipeday demo` moves the app's `now` through
its simulated week with it, and tests (via `tests/support/clock.py`) do the same."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta


class FakeClock:
    """Callable like `utc_now`; read by the app's threads while its owner moves it."""

    def __init__(self, now: datetime) -> None:
        self._now = _aware(now)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, now: datetime) -> None:
        aware = _aware(now)
        with self._lock:
            self._now = aware

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("FakeClock needs an aware datetime")
    return now
