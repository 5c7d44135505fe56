"""The fallback `text` of every message (notifications, old clients) is mrkdwn too: whatever
a person typed in it is escaped exactly as in the blocks, so `<!channel>` in a display name
never pings a channel and `&` never starts an entity."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.blocks.board import board_message
from bot.blocks.common import Message, error_message
from bot.blocks.competition import (
    already_closed_reply,
    closing_reply,
    delivered_reply,
    kickoff_message,
    last_call_message,
    live_standings_message,
    refusal,
    results_message,
    spin_announcement,
    spin_dm,
)
from bot.blocks.replies import joined_message, me_message, simple_error
from bot.domain.boards import Board
from bot.domain.competition_views import DayView
from bot.domain.ranking import Standing, rank_standings
from bot.domain.windows import period_window

AT = datetime(2026, 11, 26, 15, tzinfo=UTC)
HOSTILE = "<!channel> Tom & <Jerry>"
ESCAPED = "&lt;!channel&gt; Tom &amp; &lt;Jerry&gt;"
VIEW = DayView(7, "Calls & Coffee", "AMER", "America/New_York", "connect", date(2026, 11, 26), time(9), time(17))


def rows() -> list:  # type: ignore[type-arg]
    return rank_standings([Standing(1, HOSTILE, 5, AT), Standing(2, "Ben", 3, AT)])


def assert_escaped(message: Message) -> None:
    fallback = message["text"]
    assert "<!channel>" not in fallback and "<Jerry>" not in fallback, fallback
    assert "& " not in fallback.replace("&amp; ", ""), fallback


def test_board_fallback_escapes_the_leaders_name() -> None:
    board = Board(
        "AMER", "connect", period_window("week", AT, ZoneInfo("America/New_York")), "America/New_York", rows()
    )
    message = board_message(board)
    assert ESCAPED in message["text"]
    assert_escaped(message)
    assert_escaped(board_message(Board(**{**board.__dict__, "by_goal": True, "activity_type": "goal"})))


def test_live_standings_fallback_escapes_the_leaders_name() -> None:
    message = live_standings_message(VIEW, rows(), "live", AT)
    assert ESCAPED in message["text"]
    assert "Calls &amp; Coffee" in message["text"]
    assert_escaped(message)


@pytest.mark.parametrize(
    "message",
    [
        kickoff_message(VIEW),
        last_call_message(VIEW, [], 30),
        closing_reply([VIEW], "C1"),
        already_closed_reply([VIEW]),
        spin_dm(HOSTILE, VIEW),
        spin_announcement("U1", HOSTILE, 3, "seed"),
        delivered_reply(HOSTILE, "U1", changed=True),
        delivered_reply(HOSTILE, "U1", changed=False),
        refusal(f"{HOSTILE} is out of date"),
        error_message(f"deal {HOSTILE}", f"`{HOSTILE}` isn't an amount I can read.", "/pg deal $50k"),
        simple_error(f"There's no region called `{HOSTILE}`."),
        joined_message(HOSTILE, None),
        me_message(HOSTILE, None, {}, {}),
    ],
)
def test_every_fallback_with_someones_text_is_escaped(message: Message) -> None:
    assert_escaped(message)


def test_mentions_we_write_ourselves_stay_live() -> None:
    assert "<@U1>" in spin_announcement("U1", HOSTILE, 3, "seed")["text"]
    assert "<@U1>" in delivered_reply(HOSTILE, "U1", changed=True)["blocks"][0]["text"]["text"]
    results = results_message(VIEW, rows(), [], "abc", leaders_win=False)
    assert results["text"].startswith("🏆 Calls &amp; Coffee results")
