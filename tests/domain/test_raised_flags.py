"""The flag checks' memory of flags raised lately: known once remembered, oldest forgotten first."""

from __future__ import annotations

from bot.domain.raised_flags import RaisedFlags


def test_remembered_keys_are_known_and_the_oldest_go_first_past_the_limit() -> None:
    raised = RaisedFlags(limit=2)
    assert not raised.known("day:1")
    raised.remember(["day:1", "day:2"])
    assert raised.known("day:1") and raised.known("day:2")
    raised.remember(["day:3"])
    assert not raised.known("day:1") and raised.known("day:2") and raised.known("day:3")
