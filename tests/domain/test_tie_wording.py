"""How competition posts speak about ties (the earlier finisher wins one) and dates.

Pure Block Kit builders; every message is checked with slack_sdk.models like Slack would."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks.board import board_message
from bot.blocks.competition import last_call_message, live_standings_message, results_message
from bot.domain.boards import Board
from bot.domain.competition_views import DayView, WinnerView
from bot.domain.ranking import RankedStanding, Standing, decided_ties, rank_standings, winners
from bot.domain.windows import period_window
from tests.support.slack_stub import validate_message_payload

NEW_YORK = "America/New_York"
VIEW = DayView(6, "Connect Day", "AMER", NEW_YORK, "connect", date(2025, 6, 5), time(8), time(17, 30))
# 15:42 and 17:08 in New York (EDT, UTC-4).
EARLY, LATE = datetime(2025, 6, 5, 19, 42, tzinfo=UTC), datetime(2025, 6, 5, 21, 8, tzinfo=UTC)


def valid(message: dict[str, Any]) -> dict[str, Any]:
    assert validate_message_payload(message) == []
    return message


def shown(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def amer_day(jordan_at: datetime = EARLY, tyler_at: datetime = LATE) -> list[RankedStanding]:
    """The demo's AMER Connect Day: Dana (a leader, can't win) leads; Jordan and Tyler tie."""
    return rank_standings(
        [
            Standing(1, "Dana Whitfield", 13, EARLY - timedelta(hours=1), is_leader=True, user_id="U_DANA"),
            Standing(2, "Jordan Brooks", 8, jordan_at, user_id="U_JORDAN"),
            Standing(3, "Tyler Johnson", 8, tyler_at, user_id="U_TYLER"),
            Standing(4, "Maya Patel", 5, EARLY, user_id="U_MAYA"),
        ]
    )


def results_of(rows: list[RankedStanding], count: int = 1, leaders_win: bool = False) -> dict[str, Any]:
    chosen = winners(rows, count, leaders_win)
    views = [
        WinnerView(place, r.standing.member_id, r.standing.user_id, r.standing.total, None)
        for place, r in enumerate(chosen, start=1)
    ]
    return valid(results_message(VIEW, rows, views, "c0ffee", leaders_win))


def test_a_tie_that_decided_the_winner_says_who_got_there_first_and_when_in_local_time() -> None:
    results = results_of(amer_day())
    winner_section = results["blocks"][2]["text"]["text"]
    assert winner_section == (
        "🏆 Winner: <@U_JORDAN> with 8 connects\n"
        "⚖️ Tied at 8 connects: Jordan Brooks got there first (15:42), then Tyler Johnson (17:08)."
    )
    # Still one mention, the winner's: the person who lost the tie isn't pinged about it.
    assert shown(results).count("<@") == 1


def test_no_tie_line_when_nobody_tied_the_winner_or_the_tie_was_with_a_leader_who_cannot_win() -> None:
    outright = rank_standings([Standing(1, "Ana", 9, EARLY, user_id="U_ANA"), Standing(2, "Ben", 8, EARLY)])
    assert "⚖️" not in shown(results_of(outright))
    with_leader = rank_standings(
        [Standing(1, "Ana", 8, EARLY, user_id="U_ANA"), Standing(2, "Lee", 8, LATE, is_leader=True)]
    )
    assert "⚖️" not in shown(results_of(with_leader))
    # A tie for second place decides nothing when one person wins.
    below = rank_standings(
        [Standing(1, "Ana", 9, LATE, user_id="U_ANA"), Standing(2, "Ben", 8, EARLY), Standing(3, "Cy", 8, LATE)]
    )
    assert "⚖️" not in shown(results_of(below))
    # Two winners tied with each other and nobody else: both win, nothing to explain.
    pair = rank_standings([Standing(1, "Ana", 8, EARLY, user_id="U_A"), Standing(2, "Ben", 8, LATE, user_id="U_B")])
    assert "⚖️" not in shown(results_of(pair, count=2))


def test_a_tie_at_the_cut_of_two_winners_names_both_winners_and_who_missed_out() -> None:
    rows = rank_standings(
        [
            Standing(1, "Ana", 8, EARLY, user_id="U_A"),
            Standing(2, "Ben", 8, EARLY + timedelta(minutes=5), user_id="U_B"),
            Standing(3, "Cy", 8, LATE, user_id="U_C"),
        ]
    )
    text = results_of(rows, count=2)["blocks"][2]["text"]["text"]
    assert text.endswith("⚖️ Tied at 8 connects: Ana (15:42) and Ben (15:47) got there first, then Cy (17:08).")


def test_times_in_the_same_minute_show_seconds_and_the_same_instant_says_what_decided() -> None:
    close = results_of(amer_day(tyler_at=EARLY + timedelta(seconds=20)))
    assert "Jordan Brooks got there first (15:42:00), then Tyler Johnson (15:42:20)." in shown(close)
    same = results_of(amer_day(tyler_at=EARLY))
    assert "Jordan Brooks and Tyler Johnson got there at the same moment (15:42:00)" in shown(same)
    assert "got there first" not in shown(same)


def test_winners_that_stand_against_a_corrected_ranking_are_not_explained_by_the_rule() -> None:
    # The wheel spun for Tyler; a void later left Jordan level with him, having got there first.
    assert decided_ties(amer_day(), [3], leaders_win=False) == []
    assert [t.behind[0].name for t in decided_ties(amer_day(), [2], leaders_win=False)] == ["Tyler Johnson"]


def test_the_last_call_names_everyone_sharing_the_lead_and_who_holds_the_tie_break() -> None:
    tied = rank_standings(
        [
            Standing(1, "Kenji Tanaka", 6, LATE),
            Standing(2, "Priya Nair", 6, EARLY),
            Standing(3, "Chloe Wong", 4, EARLY),
        ]
    )
    body = valid(last_call_message(VIEW, tied, 60))["blocks"][0]["text"]["text"]
    assert body.endswith(
        "Priya Nair and Kenji Tanaka are tied for the lead at 6 connects; Priya Nair got there first "
        "and holds the tie-break."
    )
    alone = rank_standings([Standing(1, "Priya Nair", 7, EARLY), Standing(2, "Kenji Tanaka", 6, EARLY)])
    assert valid(last_call_message(VIEW, alone, 60))["blocks"][0]["text"]["text"].endswith(
        "Priya Nair leads with 7 connects."
    )
    four = rank_standings([Standing(i, f"P{i}", 6, EARLY + timedelta(minutes=i)) for i in range(1, 5)])
    body = valid(last_call_message(VIEW, four, 60))["blocks"][0]["text"]["text"]
    assert "P1, P2, P3 and 1 more are tied for the lead at 6 connects; P1 got there first" in body


def test_the_live_standings_notification_names_a_shared_lead() -> None:
    tied = rank_standings([Standing(1, "Kenji Tanaka", 6, LATE), Standing(2, "Priya Nair", 6, EARLY)])
    live = valid(live_standings_message(VIEW, tied, "live", LATE))
    assert live["text"].endswith("Priya Nair and Kenji Tanaka lead with 6 connects")


def test_a_board_of_one_day_dates_it_like_every_other_message() -> None:
    window = period_window("today", LATE, ZoneInfo(NEW_YORK))
    board = Board("AMER", "connect", window, NEW_YORK, amer_day())
    footer = valid(board_message(board))["blocks"][-1]["elements"][0]["text"]
    assert footer.startswith("Thu 05 Jun · America/New_York · ")
    assert "2025-06-05" not in shown(board_message(board))
