"""Waiting for something another thread or process does: the one polling loop the tests share.

Prefer waiting on a fact the code under test signals (`SlackStub.wait_for`, `LiveBot.settle`);
poll with `wait_until` only for what nothing signals, such as a database row or a server
coming up.
"""

from __future__ import annotations

import time
from collections.abc import Callable

DEFAULT_TIMEOUT_S = 5.0
POLL_INTERVAL_S = 0.01


def wait_until(
    condition: Callable[[], object],
    timeout: float = DEFAULT_TIMEOUT_S,
    what: str | Callable[[], str] = "the condition",
) -> None:
    """Return as soon as `condition()` is truthy; fail the test if it is still not after `timeout`
    seconds. `what` names what was awaited in the failure (a callable is asked only then, so it
    can describe the state at the deadline)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"{described}: not met within {timeout}s")
        time.sleep(POLL_INTERVAL_S)
