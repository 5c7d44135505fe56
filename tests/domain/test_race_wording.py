"""When a 👑 leader who can't win leads a running day, its posts speak about the race for the wheel.

Pure: ranking.race and the Block Kit builders, every message checked with slack_sdk.models."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bot.blocks.competition import kickoff_message, last_call_message, live_standings_message
from bot.domain.competition_views import DayView
from bot.domain.ranking import RankedStanding, Standing, race, rank_standings
from tests.support.slack_stub import validate_message_payload

VIEW = DayView(6, "Connect Day", "AMER", "America/New_York", "connect", date(2025, 6, 5), time(8), time(17, 30))
LEADERS_WIN = replace(VIEW, leaders_win=True)
AT = datetime(2025, 6, 5, 19, 42, tzinfo=UTC)
DANA = Standing(1, "Dana Whitfield", 13, AT - timedelta(hours=1), is_leader=True, user_id="U_DANA")
MAYA = Standing(2, "Maya Patel", 5, AT, user_id="U_MAYA")
CARLOS = Standing(3, "Carlos Rivera", 5, AT + timedelta(minutes=20), user_id="U_CARLOS")
EMILY = Standing(4, "Emily Chen", 2, AT, user_id="U_EMILY")


def valid(message: dict[str, Any]) -> dict[str, Any]:
    assert validate_message_payload(message) == []
    return message


def last_call_body(view: DayView, rows: list[RankedStanding]) -> str:
    body: str = valid(last_call_message(view, rows, 60))["blocks"][0]["text"]["text"]
    prefix = "⏰ *Last call:* 60 minutes left in *Connect Day*. "
    assert body.startswith(prefix)
    return body.removeprefix(prefix)


def live_text(view: DayView, rows: list[RankedStanding]) -> str:
    text: str = valid(live_standings_message(view, rows, "live", AT))["text"]
    prefix = "🔴 LIVE · Connect Day — AMER: "
    assert text.startswith(prefix)
    return text.removeprefix(prefix)


def test_an_ineligible_leader_ahead_is_named_with_the_rep_who_leads_the_race_for_the_wheel() -> None:
    rows = rank_standings([DANA, MAYA, EMILY])
    assert last_call_body(VIEW, rows) == (
        "Dana Whitfield 👑 leads with 13 connects; for the wheel, Maya Patel leads with 5 connects."
    )
    assert live_text(VIEW, rows) == (
        "Dana Whitfield 👑 leads with 13 connects; for the wheel, Maya Patel leads with 5 connects"
    )


def test_with_leaders_win_the_leader_ahead_leads_the_race_and_the_wording_is_as_before() -> None:
    rows = rank_standings([DANA, MAYA, EMILY])
    assert last_call_body(LEADERS_WIN, rows) == "Dana Whitfield leads with 13 connects."
    assert live_text(LEADERS_WIN, rows) == "Dana Whitfield leads with 13 connects"
    # A leader sharing the lead with a rep holds the tie-break when leaders can win.
    shared = rank_standings([replace(DANA, total=5), MAYA])
    assert last_call_body(LEADERS_WIN, shared) == (
        "Dana Whitfield and Maya Patel are tied for the lead at 5 connects; Dana Whitfield got there first "
        "and holds the tie-break."
    )


def test_a_tie_among_eligible_reps_behind_an_ineligible_leader_says_who_got_there_first() -> None:
    rows = rank_standings([CARLOS, DANA, EMILY, MAYA])
    assert last_call_body(VIEW, rows) == (
        "Dana Whitfield 👑 leads with 13 connects; for the wheel, Maya Patel and Carlos Rivera are tied "
        "at 5 connects — Maya Patel got there first."
    )
    assert live_text(VIEW, rows).endswith(
        "Maya Patel and Carlos Rivera are tied at 5 connects — Maya Patel got there first"
    )
    # Reached at the same moment: no "got there first" to tell.
    same = rank_standings([DANA, MAYA, replace(CARLOS, reached_at=AT)])
    assert last_call_body(VIEW, same).endswith("for the wheel, Maya Patel and Carlos Rivera are tied at 5 connects.")


def test_a_leader_sharing_the_lead_with_a_rep_who_can_win_never_holds_the_tie_break() -> None:
    rows = rank_standings([replace(DANA, total=5), CARLOS, EMILY])
    assert last_call_body(VIEW, rows) == (
        "Dana Whitfield 👑 and Carlos Rivera are tied for the lead at 5 connects; for the wheel, "
        "Carlos Rivera leads with 5 connects."
    )


def test_when_nobody_who_can_win_has_logged_yet_the_post_says_so_plainly() -> None:
    rows = rank_standings([DANA])
    assert last_call_body(VIEW, rows) == (
        "Dana Whitfield 👑 leads with 13 connects; nobody who can win the wheel has logged any connects yet "
        "— it's anyone's wheel."
    )
    assert live_text(VIEW, rows) == (
        "Dana Whitfield 👑 leads with 13 connects; nobody who can win the wheel has logged any connects"
    )
    verified = replace(VIEW, counts="verified")
    assert last_call_body(verified, rows).startswith(
        "Dana Whitfield 👑 leads with 13 connects; nobody who can win the wheel has any verified connects yet"
    )
    # Nobody at all: as before.
    assert last_call_body(VIEW, []) == "Nobody has logged connects yet — it's anyone's wheel."


def test_names_in_the_race_are_escaped_and_never_mentions() -> None:
    rows = rank_standings([DANA, replace(MAYA, name="Maya <b>&")])
    body = last_call_body(VIEW, rows)
    assert "for the wheel, Maya &lt;b&gt;&amp; leads" in body and "<@" not in body


def test_the_kickoff_says_leaders_rank_but_the_top_eligible_rep_wins_unless_leaders_can_win() -> None:
    context = valid(kickoff_message(VIEW))["blocks"][-1]["elements"][0]["text"]
    assert context.endswith("· leaders rank with 👑; the top eligible rep wins")
    assert "leaders rank" not in str(valid(kickoff_message(LEADERS_WIN))["blocks"])


def test_race_finds_the_lead_and_the_best_eligible_total_in_rank_order() -> None:
    day = race(rank_standings([CARLOS, DANA, EMILY, MAYA]), leaders_win=False)
    assert (day.top, day.contenders, day.lead_is_the_race) == ([DANA], [MAYA, CARLOS], False)
    assert race(rank_standings([CARLOS, DANA, MAYA]), leaders_win=True).contenders == [DANA]
    assert race(rank_standings([CARLOS, MAYA]), leaders_win=False).lead_is_the_race
    nobody = race(rank_standings([DANA]), leaders_win=False)
    assert (nobody.top, nobody.contenders) == ([DANA], [])
    assert race([], leaders_win=False) == race([], leaders_win=True)
