"""Self-reported vs verified: one notion, used by `/pg board … verified` and by competitions."""

from __future__ import annotations

import pytest

from bot.domain.activity_sources import counts_source, is_verified
from bot.domain.grammar import BoardCommand, ParseError, parse_command


@pytest.mark.parametrize(
    ("source", "verified"),
    [("slash", False), ("home", False), ("zapier", True), ("aircall", True), ("hubspot", True)],
)
def test_typed_in_slack_is_self_reported_and_everything_else_verified(source: str, verified: bool) -> None:
    assert is_verified(source) is verified
    assert counts_source("all", source)
    assert counts_source("verified", source) is verified


def test_board_verified_in_any_position() -> None:
    assert parse_command("board week connects verified") == BoardCommand(period="week", type="connect", verified=True)
    assert parse_command("board verified all") == BoardCommand(region="all", verified=True)
    assert parse_command("board EMEA") == BoardCommand(region="EMEA")


def test_board_verified_by_goal_is_refused() -> None:
    with pytest.raises(ParseError, match="verified"):
        parse_command("board week verified by goal")
