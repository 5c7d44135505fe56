"""`pipeday competition …`, `pipeday prize …` and `pipeday spin verify` on a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.domain.activities import log_activity
from bot.domain.competition_closing import close_day
from bot.domain.competition_days import ensure_day
from bot.domain.competition_definitions import find_competition
from bot.domain.directory import ensure_member, join_region
from bot.domain.grammar import LogCommand
from bot.domain.spins import spin_for
from models import Region, Spin
from tests.support.cli import run_pipeday, transaction

TEAM = "T1"
THURSDAY_10AM_NY = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run_pipeday(url, "db", "upgrade")[0] == 0
    assert (
        run_pipeday(url, "region", "add", "AMER", "--tz", "America/New_York", "--channel", "C1", "--team", TEAM)[0] == 0
    )
    assert run_pipeday(url, "region", "add", "EMEA", "--tz", "Europe/London", "--team", TEAM)[0] == 0
    return url


def test_the_classics_are_one_command_each(database: str) -> None:
    code, output = run_pipeday(database, "competition", "add", "--preset", "connect-day")
    assert code == 0 and "Connect Day: Thursdays, most connects 08:00–17:30 local, every region" in output
    code, output = run_pipeday(database, "competition", "add", "--preset", "booking-day", "--regions", "EMEA")
    assert code == 0 and "Booking Day: Wednesdays, most meetings 08:00–17:30 local, EMEA" in output

    code, output = run_pipeday(database, "competition", "list")
    lines = output.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].split()[:5] == ["Booking", "Day", "Wednesday", "meeting", "08:00-17:30"] and "EMEA" in lines[0]
    assert lines[1].split()[:5] == ["Connect", "Day", "Thursday", "connect", "08:00-17:30"]
    assert "all regions" in lines[1]

    code, output = run_pipeday(database, "competition", "add-classics")
    assert code == 0 and output.count("exists already") == 2


def test_custom_competition_with_every_option(database: str) -> None:
    code, output = run_pipeday(
        database,
        "competition",
        "add",
        "Call Blitz",
        "--weekday",
        "fri",
        "--metric",
        "dials",
        "--regions",
        "AMER,emea",
        "--start",
        "9:00",
        "--end",
        "12:30",
        "--winners",
        "3",
        "--leaders-win",
    )
    assert code == 0, output
    with transaction(database) as session:
        blitz = find_competition(session, TEAM, "call blitz")
        assert blitz is not None
        assert (blitz.weekday, blitz.metric, blitz.winners_per_region, blitz.leaders_win) == (4, "call", 3, True)
        assert (f"{blitz.start_local:%H:%M}", f"{blitz.end_local:%H:%M}") == ("09:00", "12:30")
        assert len(blitz.region_ids) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Odd Day", "--weekday", "someday", "--metric", "connect"], "isn't a weekday"),
        (["Odd Day", "--weekday", "thu", "--metric", "unicorns"], "isn't an activity type"),
        (["Odd Day", "--weekday", "thu", "--metric", "connect", "--start", "25:00"], "isn't a time of day"),
        (["Odd Day", "--weekday", "thu", "--metric", "connect", "--start", "18:00"], "end after it starts"),
        (["Odd Day", "--weekday", "thu", "--metric", "connect", "--regions", "MARS"], "no region called `MARS`"),
        (["Odd Day"], "--preset connect-day"),
    ],
)
def test_bad_competitions_are_refused(database: str, args: list[str], message: str) -> None:
    code, output = run_pipeday(database, "competition", "add", *args)
    assert code != 0 and message in output
    assert "No prospecting days yet" in run_pipeday(database, "competition", "list")[1]


def test_remove_competition(database: str) -> None:
    run_pipeday(database, "competition", "add-classics")
    assert run_pipeday(database, "competition", "remove", "booking day") == (0, "Removed booking day.\n")
    code, output = run_pipeday(database, "competition", "remove", "Booking Day")
    assert code == 1 and "no competition called" in output and "Connect Day" in output


def test_prizes_add_list_restock_remove(database: str) -> None:
    assert run_pipeday(database, "prize", "add", "Cowboy boots", "--stock", "0")[0] == 0
    assert run_pipeday(database, "prize", "add", "Team lunch", "--weight", "3")[0] == 0
    code, output = run_pipeday(database, "prize", "list")
    boots, lunch = output.splitlines()
    assert "off the wheel" in boots and "100.0%" in lunch

    assert run_pipeday(database, "prize", "restock", "cowboy boots", "1") == (0, "Cowboy boots: stock is now 1.\n")
    boots, lunch = run_pipeday(database, "prize", "list")[1].splitlines()
    assert "25.0%" in boots and "75.0%" in lunch

    code, output = run_pipeday(database, "prize", "restock", "Team lunch", "2")
    assert code == 1 and "unlimited" in output
    code, output = run_pipeday(database, "prize", "add", "Team Lunch")
    assert code == 1 and "already a prize" in output
    code, output = run_pipeday(database, "prize", "add", "Moon", "--weight", "0")
    assert code == 1 and "weight" in output
    assert run_pipeday(database, "prize", "remove", "team lunch")[0] == 0
    assert "Team lunch" not in run_pipeday(database, "prize", "list")[1]


def _spun_award(url: str) -> int:
    """A closed Connect Day in AMER with one spin; returns the spin id."""
    run_pipeday(url, "competition", "add", "--preset", "connect-day")
    run_pipeday(url, "prize", "add", "Cowboy boots", "--stock", "3")
    run_pipeday(url, "prize", "add", "Sticker", "--weight", "2")
    with transaction(url) as session:
        join_region(session, TEAM, "U_ANA", "Ana", "AMER")
        ana = ensure_member(session, TEAM, "U_ANA", "Ana")
        log_activity(session, ana, LogCommand("connect", 4), now=THURSDAY_10AM_NY, idempotency_key=None)
        competition = find_competition(session, TEAM, "Connect Day")
        amer = session.scalars(select(Region).where(Region.name == "AMER")).one()
        assert competition is not None
        day = ensure_day(session, competition, amer, THURSDAY_10AM_NY.date())
        close_day(session, day, THURSDAY_10AM_NY + timedelta(hours=1), closed_by="U_MGR")
        return spin_for(session, day, ana.id, spun_by="U_MGR", now=THURSDAY_10AM_NY + timedelta(hours=2)).spin_id


def test_awards_and_delivery(database: str) -> None:
    spin_id = _spun_award(database)
    code, output = run_pipeday(database, "prize", "awards")
    assert code == 0 and f"#{spin_id}" in output and "Ana (U_ANA) won" in output and output.rstrip().endswith("pending")
    assert run_pipeday(database, "prize", "deliver", str(spin_id))[0] == 0
    assert "delivered by cli" in run_pipeday(database, "prize", "awards", "--status", "delivered")[1]
    assert run_pipeday(database, "prize", "awards", "--status", "pending")[1] == "No pending awards.\n"


def test_spin_verify_recomputes_and_fails_loudly_on_tampering(database: str) -> None:
    spin_id = _spun_award(database)
    code, output = run_pipeday(database, "spin", "verify", str(spin_id))
    assert code == 0, output
    with transaction(database) as session:
        spin = session.get(Spin, spin_id)
        assert spin is not None
        assert spin.seed in output and spin.day.commitment in output and spin.context in output  # type: ignore[operator]
        assert f"falls in segment {spin.winner_index}: {spin.prize_name}" in output
        assert output.rstrip().endswith("✓ verified")
        spin.seed = "f" * 64  # someone edits the database after the fact

    code, output = run_pipeday(database, "spin", "verify", str(spin_id))
    assert code == 1 and "does NOT verify" in output and "does not hash to the commitment" in output
    assert run_pipeday(database, "spin", "verify", "999")[0] == 1
