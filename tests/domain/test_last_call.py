"""The last call of a competition day: after the kickoff and the midday standings, before the
results, for every window length, in wall time and in real (UTC) time across DST changes."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.domain.schedule_times import competition_phases, last_call_due, last_call_utc, local_to_utc


def test_a_thirty_minute_window_calls_after_the_kickoff() -> None:
    phases = competition_phases(time(9, 0), time(9, 30))
    assert phases == {
        "kickoff": time(9, 0),
        "standings": time(9, 15),
        "last_call": time(9, 23),  # a quarter of the window (7 minutes) before the end
        "results": time(9, 30),
    }


@pytest.mark.parametrize(
    ("end", "last_call"),
    [
        (time(17, 30), time(16, 30)),  # long days: an hour before the end, as before
        (time(13, 0), time(12, 0)),  # four hours: still an hour
        (time(11, 0), time(10, 30)),  # two hours: half an hour
        (time(10, 0), time(9, 45)),  # one hour: a quarter of an hour
        (time(9, 40), time(9, 30)),
        (time(9, 4), time(9, 3)),  # the shortest window with a last call
    ],
)
def test_the_last_call_is_a_quarter_of_the_window_before_the_end_at_most_an_hour(end: time, last_call: time) -> None:
    assert competition_phases(time(9, 0), end)["last_call"] == last_call


def test_every_window_keeps_kickoff_standings_last_call_results_in_order() -> None:
    for minutes in range(4, 15 * 60):
        end = 9 * 60 + minutes
        phases = competition_phases(time(9, 0), time(end // 60, end % 60))
        assert phases["kickoff"] < phases["standings"] < phases["last_call"] < phases["results"], minutes


def test_a_window_of_three_minutes_has_no_last_call() -> None:
    assert "last_call" not in competition_phases(time(9, 0), time(9, 3))


# --- real time: DST changes and time zones ---------------------------------------------------


@pytest.mark.parametrize(
    ("day", "start", "end", "tz"),
    [
        (date(2026, 3, 8), time(9, 0), time(9, 30), "America/New_York"),  # spring forward (at 02:00)
        (date(2026, 11, 1), time(9, 0), time(9, 30), "America/New_York"),  # fall back
        (date(2026, 3, 29), time(8, 0), time(8, 30), "Europe/London"),
        (date(2026, 10, 4), time(9, 0), time(9, 30), "Australia/Adelaide"),  # a half-hour zone's spring forward
        (date(2026, 3, 8), time(8, 45), time(9, 15), "Asia/Kathmandu"),  # +05:45, no DST
        (date(2026, 9, 5), time(20, 0), time(23, 40), "Pacific/Easter"),  # calls inside the 22:00 gap
        (date(2026, 4, 4), time(21, 40), time(22, 10), "Pacific/Easter"),  # calls in the repeated hour
        (date(2026, 10, 29), time(23, 0), time(23, 30), "Africa/Cairo"),  # the repeated hour, 23:00–24:00
    ],
)
def test_the_last_call_is_after_the_kickoff_in_utc_across_dst(day: date, start: time, end: time, tz: str) -> None:
    call = last_call_utc(day, start, end, tz)
    assert call is not None
    kickoff, results = local_to_utc(day, start, tz), local_to_utc(day, end, tz)
    assert kickoff < call < results
    assert last_call_due(kickoff, results, call)


def test_a_spring_forward_inside_the_window_keeps_the_phases_in_order() -> None:
    # Pacific/Easter springs from 22:00 to 23:00 on Saturday 5 September 2026: a 22:40 kickoff
    # doesn't exist and goes out when the clocks jump (04:00 UTC), before the 23:03 last call.
    day, start, end, tz = date(2026, 9, 5), time(22, 40), time(23, 10), "Pacific/Easter"
    kickoff, wall_call = local_to_utc(day, start, tz), local_to_utc(day, time(23, 3), tz)
    assert kickoff == datetime(2026, 9, 6, 4, 0, tzinfo=UTC) < wall_call
    assert last_call_utc(day, start, end, tz) == wall_call


def test_a_window_inside_the_spring_forward_gap_has_no_last_call() -> None:
    # 22:10–22:50 never happens that Saturday: kickoff, last call and results all fall on the jump.
    day, start, end, tz = date(2026, 9, 5), time(22, 10), time(22, 50), "Pacific/Easter"
    kickoff, results = local_to_utc(day, start, tz), local_to_utc(day, end, tz)
    assert kickoff == results == datetime(2026, 9, 6, 4, 0, tzinfo=UTC)
    assert last_call_utc(day, start, end, tz) is None
    assert not last_call_due(kickoff, results, kickoff)


def test_a_last_call_is_due_only_strictly_inside_the_day() -> None:
    start = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
    end = start + timedelta(minutes=30)
    assert not last_call_due(start - timedelta(minutes=1), end, start - timedelta(minutes=1))
    assert not last_call_due(start, end, start)  # never with the kickoff
    assert last_call_due(start, end, start + timedelta(minutes=23))
    assert not last_call_due(start, end, end)


def test_the_domain_imports_nothing_from_the_scheduler_or_slack_layers() -> None:
    forbidden = ("bot.scheduler", "bot.features", "bot.posting", "bot.cli", "bot.blocks", "bot.render", "bot.slack")
    domain = Path(__file__).resolve().parents[2] / "bot" / "domain"
    offenders = []
    for path in sorted(domain.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            offenders += [f"{path.name}: {name}" for name in names if name.startswith(forbidden)]
    assert offenders == []
