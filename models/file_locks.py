"""An exclusive `flock` taken with a deadline: flock itself can't wait with a timeout, so it is
tried and tried again (0.2 ms, doubling to 2 ms, between tries) until the deadline. Used by
SQLite's write gate and its bulk lane (models/sqlite_gate.py), and by an ingest stepping aside
while Slack is answered (bot/ingest/turns.py)."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable

FIRST_POLL_S, LONGEST_POLL_S = 0.0002, 0.002


def flock_until(
    descriptor: int,
    deadline: float,
    timed_out: Callable[[], Exception],
    give_up: Callable[[], bool] = lambda: False,
) -> bool:
    """True once the lock is held; False as soon as `give_up()`; `timed_out()` raised at the deadline."""
    pause = FIRST_POLL_S
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if give_up():
                return False
            if time.monotonic() >= deadline:
                raise timed_out() from None
            time.sleep(pause)
            pause = min(pause * 2, LONGEST_POLL_S)
