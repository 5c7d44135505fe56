"""A verified-only competition day says so wherever a person meets it (kickoff, live standings,
last call, results, `/pg days`, the log reply, App Home); an `all` day says nothing new.

The blocks are pure and validated like Slack would; which typed log misses which verified-only
day is read from a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.blocks.competition import (
    VERIFIED_ONLY_NOTE,
    days_message,
    kickoff_message,
    last_call_message,
    live_standings_message,
    results_message,
)
from bot.blocks.home import HomeData, StandingSummary, home_view
from bot.blocks.replies import logged_message
from bot.domain.activities import LoggedActivity, LogResult
from bot.domain.competition_closing import close_day
from bot.domain.competition_days import ensure_day
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import PRESETS
from bot.domain.competition_views import (
    CompetitionView,
    DayView,
    WinnerView,
    day_view,
    today_view,
    verified_only_day_missed,
)
from bot.domain.directory import add_region
from bot.domain.ranking import Standing, rank_standings
from models import Competition, Region
from tests.support.slack_stub import validate_message_payload, validate_view

AT = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # Thursday 10:00 in New York
ALL_DAY = DayView(
    7,
    "Connect Day",
    "AMER",
    "America/New_York",
    "connect",
    date(2026, 11, 26),
    time(8),
    time(17, 30),
    date(2026, 12, 3),
)
VERIFIED_DAY = replace(ALL_DAY, competition="Dialer Day", counts="verified")
ROWS = rank_standings([Standing(1, "Ana", 5, AT, user_id="U_ANA"), Standing(2, "Ben", 2, AT, user_id="U_BEN")])
WINNERS = [WinnerView(1, 1, "U_ANA", 5, None)]
COMMITMENT = "ab" * 32
MISSED_LINE = "Today's Dialer Day counts verified connects only: this one is on your board, not in the competition."


def text_of(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False)


def day_messages(view: DayView) -> dict[str, dict[str, Any]]:
    """Every channel post about the day, with and without standings."""
    messages: dict[str, dict[str, Any]] = {"kickoff": kickoff_message(view)}
    for state in ("live", "ended", "final"):
        messages[f"{state} standings"] = live_standings_message(view, ROWS, state, AT)
        messages[f"{state}, nobody"] = live_standings_message(view, [], state, AT)
    messages["last call"] = last_call_message(view, ROWS, 20)
    messages["last call, nobody"] = last_call_message(view, [], 20)
    messages["results"] = results_message(view, ROWS, WINNERS, COMMITMENT, leaders_win=False)
    messages["results, nobody"] = results_message(view, [], [], COMMITMENT, leaders_win=False)
    return messages


def test_every_post_about_a_verified_only_day_carries_the_note_and_invites_no_typed_log() -> None:
    for name, posted in day_messages(VERIFIED_DAY).items():
        assert validate_message_payload(posted) == [], name
        contexts = [b["elements"][0]["text"] for b in posted["blocks"] if b["type"] == "context"]
        assert VERIFIED_ONLY_NOTE in contexts, name
        assert "/pg 1 connect" not in text_of(posted), name
        assert "Nobody logged" not in text_of(posted), name  # people may have typed some: none was verified
    assert "most verified connects by 17:30" in kickoff_message(VERIFIED_DAY)["text"]
    assert "No verified connects yet." in text_of(live_standings_message(VERIFIED_DAY, [], "live", AT))
    assert "No verified connects. Next Dialer Day: Thu 03 Dec" in text_of(
        live_standings_message(VERIFIED_DAY, [], "ended", AT)
    )
    assert "No verified connects yet — it's anyone's wheel." in text_of(last_call_message(VERIFIED_DAY, [], 20))
    assert "No verified connects today." in text_of(results_message(VERIFIED_DAY, [], [], COMMITMENT, False))


def test_posts_about_an_all_day_say_nothing_about_verified_activity() -> None:
    verified = day_messages(replace(VERIFIED_DAY, competition=ALL_DAY.competition))
    for name, posted in day_messages(ALL_DAY).items():
        assert validate_message_payload(posted) == [], name
        assert "verified" not in text_of(posted).lower(), name
        assert posted != verified[name], name  # the same day counting verified activity only reads differently
    assert "Log as you go: `/pg 1 connect`" in text_of(kickoff_message(ALL_DAY))
    assert "Be the first: `/pg 1 connect`" in text_of(live_standings_message(ALL_DAY, [], "live", AT))


def test_the_note_in_a_results_post_sits_under_the_standings_and_winners() -> None:
    blocks = results_message(VERIFIED_DAY, ROWS, WINNERS, COMMITMENT, leaders_win=False)["blocks"]
    kinds = [(b["type"], text_of(b)) for b in blocks]
    note = next(i for i, (_, text) in enumerate(kinds) if VERIFIED_ONLY_NOTE in text)
    assert "Ana — 5 connects" in kinds[note - 2][1] and "Winner" in kinds[note - 1][1]


def test_days_lists_which_competitions_count_verified_activity_only() -> None:
    connect = CompetitionView("Connect Day", "Thursday", "connect", time(8), time(17, 30), [], 1, False)
    dialer = replace(connect, name="Dialer Day", counts="verified")
    listing = days_message([connect, dialer], [ALL_DAY, VERIFIED_DAY], "AMER")
    assert validate_message_payload(listing) == []
    lines = "\n".join(b["text"]["text"] for b in listing["blocks"] if b["type"] == "section").split("\n")
    (connect_line,) = [line for line in lines if "*Connect Day* — every" in line]
    (dialer_line,) = [line for line in lines if "*Dialer Day* — every" in line]
    assert "verified" not in connect_line and dialer_line.endswith("top rep wins · verified activity only")
    (today_all,) = [line for line in lines if "Today in AMER:* Connect Day" in line]
    (today_verified,) = [line for line in lines if "Today in AMER:* Dialer Day" in line]
    assert "verified" not in today_all and today_all.endswith("Check `/pg board`.")
    assert today_verified.endswith(f"{VERIFIED_ONLY_NOTE} Check `/pg board verified`.")


def log_result(quantity: float = 3, note: str | None = None) -> LogResult:
    activity = LoggedActivity(1, "T1", 1, 1, "connect", quantity, None, note, AT)
    return LogResult(activity, False, today_total=quantity, week_total=quantity, region_name="AMER")


def test_the_log_reply_adds_one_line_when_a_verified_only_day_misses_the_log() -> None:
    usual = logged_message(log_result(note="Acme"))
    missed = logged_message(log_result(note="Acme"), "Dialer Day")
    assert validate_message_payload(missed) == []
    usual_lines = usual["blocks"][0]["text"]["text"].split("\n")
    missed_lines = missed["blocks"][0]["text"]["text"].split("\n")
    assert missed_lines == [*usual_lines, MISSED_LINE]
    assert missed["blocks"][1:] == usual["blocks"][1:] and missed["text"] == usual["text"]
    assert "verified" not in text_of(usual)


def test_the_log_reply_escapes_the_competitions_name() -> None:
    reply = logged_message(log_result(), "Calls & <Coffee>")
    assert "Today's Calls &amp; &lt;Coffee&gt; counts verified connects only" in text_of(reply)


def home(today: list[DayView]) -> dict[str, Any]:
    standing = StandingSummary("Today's connects — AMER", 2, 5, 3, "connects", "connect")
    return home_view(HomeData("Ana", "AMER", None, None, 1.0, standing, user_id="U_ANA", competitions_today=today))


def test_app_home_says_when_todays_competition_counts_verified_activity_only() -> None:
    view = home([ALL_DAY, VERIFIED_DAY])
    assert validate_view(view) == []
    notes = [text_of(b) for b in view["blocks"] if "verified" in text_of(b)]
    assert notes == [
        text_of(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "Today's Dialer Day counts verified activity only (from your dialer/CRM), "
                        "not typed logs.",
                    }
                ],
            }
        )
    ]
    standing = next(i for i, b in enumerate(view["blocks"]) if "#2* of 5" in text_of(b))
    assert "Dialer Day" in text_of(view["blocks"][standing + 1])
    assert home([ALL_DAY]) == home([])


# --- which typed log a verified-only day misses (a real database) ---------------------------------

TEAM = "T1"
NY_10AM = AT


def region(session: Session, name: str = "AMER", tz: str = "America/New_York") -> Region:
    add_region(session, TEAM, name, tz, f"C_{name}", actor="test")
    return session.scalars(select(Region).where(Region.team_id == TEAM, Region.name == name)).one()


def competition(session: Session, name: str, counts: str, **changes: Any) -> Competition:
    spec = replace(PRESETS["connect-day"], name=name, counts=counts, **changes)
    return add_competition(session, TEAM, spec, actor="test")


def a_log(where: Region, at: datetime = NY_10AM, source: str = "slash", type: str = "connect") -> LoggedActivity:
    return LoggedActivity(1, TEAM, 1, where.id, type, 1.0, None, None, at, source)


def test_a_typed_log_in_a_verified_only_window_names_the_day(session: Session) -> None:
    amer = region(session)
    competition(session, "Dialer Day", "verified")
    assert verified_only_day_missed(session, a_log(amer), amer.tz) == "Dialer Day"
    assert verified_only_day_missed(session, a_log(amer, source="home"), amer.tz) == "Dialer Day"


def test_only_typed_logs_of_the_metric_inside_the_window_of_the_region_miss_the_day(session: Session) -> None:
    amer, emea = region(session), region(session, "EMEA", "Europe/London")
    competition(session, "Dialer Day", "verified", regions=("AMER",))
    assert verified_only_day_missed(session, a_log(amer, source="aircall"), amer.tz) is None  # verified
    assert verified_only_day_missed(session, a_log(amer, type="call"), amer.tz) is None  # not the metric
    assert verified_only_day_missed(session, a_log(emea, at=NY_10AM), emea.tz) is None  # another region
    before = NY_10AM.replace(hour=12, minute=59)  # 07:59 in New York; the day runs 08:00–17:30
    assert verified_only_day_missed(session, a_log(amer, at=before), amer.tz) is None
    assert verified_only_day_missed(session, a_log(amer, at=before + timedelta(minutes=1)), amer.tz) == "Dialer Day"
    end = NY_10AM.replace(hour=22, minute=30)  # 17:30: the window is half-open
    assert verified_only_day_missed(session, a_log(amer, at=end - timedelta(seconds=1)), amer.tz) == "Dialer Day"
    assert verified_only_day_missed(session, a_log(amer, at=end), amer.tz) is None
    wednesday = NY_10AM - timedelta(days=1)
    assert verified_only_day_missed(session, a_log(amer, at=wednesday), amer.tz) is None
    assert verified_only_day_missed(session, replace(a_log(amer), region_id=None), None) is None


def test_an_all_competition_misses_no_typed_log_until_it_counts_verified_only(session: Session) -> None:
    amer = region(session)
    connect = competition(session, "Connect Day", "all")
    assert verified_only_day_missed(session, a_log(amer), amer.tz) is None
    connect.counts = "verified"
    session.flush()
    assert verified_only_day_missed(session, a_log(amer), amer.tz) == "Connect Day"


def test_a_day_that_has_begun_keeps_its_own_counts_and_a_closed_day_misses_nothing(session: Session) -> None:
    amer = region(session)
    dialer = competition(session, "Dialer Day", "all")
    day = ensure_day(session, dialer, amer, NY_10AM.date())
    day.counts = "verified"  # the day began verified-only; the competition has changed since
    session.flush()
    assert verified_only_day_missed(session, a_log(amer), amer.tz) == "Dialer Day"
    dialer.counts, day.counts = "verified", "all"
    session.flush()
    assert verified_only_day_missed(session, a_log(amer), amer.tz) is None
    day.counts = "verified"
    close_day(session, day, NY_10AM, closed_by="test")
    assert verified_only_day_missed(session, a_log(amer), amer.tz) is None


def test_views_carry_the_days_own_counts(session: Session) -> None:
    amer = region(session)
    dialer = competition(session, "Dialer Day", "verified")
    assert today_view(dialer, amer, NY_10AM).verified_only
    day = ensure_day(session, dialer, amer, NY_10AM.date())
    dialer.counts = "all"  # a later change never rewrites a day that has begun
    assert day_view(day).verified_only and not today_view(dialer, amer, NY_10AM).verified_only
