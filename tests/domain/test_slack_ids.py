"""Slack ids typed at the CLI: user ids only, never a name."""

from __future__ import annotations

import pytest

from bot.domain.text_input import is_slack_user_id


@pytest.mark.parametrize("value", ["U0123ABCD", "W0123ABCD", "U02ABCDEFGH"])
def test_user_ids_are_accepted(value: str) -> None:
    assert is_slack_user_id(value)


@pytest.mark.parametrize("value", ["alice", "@alice", "u0123abcd", "<@U0123ABCD>", "C0123ABCD", "U0123 ABCD", ""])
def test_names_and_other_ids_are_refused(value: str) -> None:
    assert not is_slack_user_id(value)
