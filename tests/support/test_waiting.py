"""The shared polling helper: returns once the condition holds, fails the test when it never does."""

from __future__ import annotations

import itertools

import pytest

from tests.support.waiting import wait_until


def test_returns_once_the_condition_holds() -> None:
    polls = itertools.count(1)
    wait_until(lambda: next(polls) >= 3, timeout=5)
    assert next(polls) == 4  # asked three times, not once more


def test_fails_with_what_was_awaited_described_at_the_deadline() -> None:
    state = {"seen": 0}

    def describe() -> str:
        return f"expected 2 posts, saw {state['seen']}"

    with pytest.raises(AssertionError, match=r"expected 2 posts, saw 0: not met within 0.05s"):
        wait_until(lambda: False, timeout=0.05, what=describe)
