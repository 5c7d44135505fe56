"""`pipeday goals|ramp|holiday|workdays …` against a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli


def invoke(tmp_path: Path, *args: str) -> tuple[int, str]:
    environment = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "SLACK_BOT_TOKEN": ""}
    result = CliRunner().invoke(cli, list(args), env=environment)
    return result.exit_code, result.output


def test_goals_overrides_and_listing(tmp_path: Path) -> None:
    invoke(tmp_path, "db", "upgrade")
    invoke(tmp_path, "region", "add", "AMER", "--tz", "America/New_York", "--team", "T1")
    assert invoke(tmp_path, "goals", "set", "calls", "30", "--region", "amer", "--team", "T1") == (
        0,
        "calls: 30 a week for region AMER in T1.\n",
    )
    code, output = invoke(tmp_path, "goals", "set", "email", "0", "--member", "U1", "--member", "U2")
    assert code == 0 and output.count("emails: 0 a week") == 2
    code, output = invoke(tmp_path, "goals", "set", "qbm", "3", "--job", "sdr")
    assert code == 0 and "every SDR" in output
    code, output = invoke(tmp_path, "goals", "list")
    assert code == 0
    assert "default ae   accounts 10, meetings 5, referrals 5, emails 100, calls 20" in output
    assert "region AMER" in output and "member U1" in output and "job sdr" in output
    assert "Ramp: off" in output
    assert (
        invoke(tmp_path, "goals", "clear", "calls", "--region", "AMER")[1]
        == "Removed calls override for region AMER.\n"
    )


def test_goals_refuse_bad_input(tmp_path: Path) -> None:
    invoke(tmp_path, "db", "upgrade")
    invoke(tmp_path, "region", "add", "AMER", "--tz", "UTC", "--team", "T1")
    code, output = invoke(tmp_path, "goals", "set", "calls", "2.5")
    assert code == 1 and "whole numbers" in output
    code, output = invoke(tmp_path, "goals", "set", "sprockets", "2")
    assert code == 2 and "unknown activity" in output
    code, output = invoke(tmp_path, "goals", "set", "calls", "2", "--region", "AMER", "--job", "ae")
    assert code == 2 and "Choose one of" in output


def test_ramp_holidays_and_workdays(tmp_path: Path) -> None:
    invoke(tmp_path, "db", "upgrade")
    invoke(tmp_path, "region", "add", "AMER", "--tz", "UTC", "--team", "T1")
    code, output = invoke(tmp_path, "ramp", "set", "--start", "0.6", "--step", "0.1", "--weeks", "2")
    assert code == 0 and "goals now at 60%; +10% after 2 hit weeks in a row, up to 100%" in output
    code, output = invoke(tmp_path, "ramp", "show")
    assert "Goals at 60%" in output and "100% → 60%" in output
    code, output = invoke(tmp_path, "ramp", "set", "--start", "1.2", "--step", "0.1", "--weeks", "2")
    assert (code, output) == (1, "Error: --start is a fraction of the goal between 0 and 1, e.g. 0.6.\n")
    assert invoke(tmp_path, "ramp", "off")[1] == "Ramp off: full targets apply.\n"

    assert invoke(tmp_path, "holiday", "add", "2026-12-25", "Christmas", "Day")[0] == 0
    assert invoke(tmp_path, "holiday", "list")[1] == "2026-12-25 Fri  Christmas Day\n"
    assert invoke(tmp_path, "holiday", "add", "25/12/2026")[0] == 2
    assert invoke(tmp_path, "holiday", "remove", "2026-12-25")[1] == "Removed 2026-12-25.\n"

    assert invoke(tmp_path, "workdays", "set", "sun-thu")[1] == "Working days for T1: Sun, Mon, Tue, Wed, Thu.\n"
    assert invoke(tmp_path, "workdays", "show")[1] == "Working days: Sun, Mon, Tue, Wed, Thu.\n"
    assert invoke(tmp_path, "workdays", "set", "funday")[0] == 1


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--start", "60"), "--start is a fraction of the goal between 0 and 1, e.g. 0.6."),
        (("--start", "nan"), "--start is a fraction of the goal between 0 and 1, e.g. 0.6."),
        (("--start", "1.1", "--max", "1.2"), None),
        (("--start", "1.3", "--max", "1.2"), "--start is a fraction of the goal between 0 and --max (1.2), e.g. 0.6."),
        (("--start", "0.6", "--max", "0"), "--max is the highest fraction of the goal the ramp reaches"),
        (("--start", "0.6", "--step", "0"), "--step is the fraction of the goal added after each run of hit weeks"),
        (("--start", "0.6", "--threshold", "-1"), "--threshold is the team's share of its goals"),
    ],
)
def test_ramp_refusals_name_the_flags_typed(tmp_path: Path, flags: tuple[str, ...], message: str | None) -> None:
    invoke(tmp_path, "db", "upgrade")
    invoke(tmp_path, "region", "add", "AMER", "--tz", "UTC", "--team", "T1")
    defaults = {"--step": "0.1", "--weeks": "2"}
    given = dict(zip(flags[::2], flags[1::2], strict=True))
    args = [part for flag, value in {**defaults, **given}.items() for part in (flag, value)]
    code, output = invoke(tmp_path, "ramp", "set", *args)
    if message is None:
        assert code == 0, output
        return
    assert code == 1 and message in output, output
    for internal in ("start_fraction", "max_fraction", "team_hit_threshold", "weeks_to_step", "Traceback"):
        assert internal not in output


def test_weeks_out_of_range_names_the_flag(tmp_path: Path) -> None:
    invoke(tmp_path, "db", "upgrade")
    code, output = invoke(tmp_path, "ramp", "set", "--start", "0.6", "--step", "0.1", "--weeks", "0", "--team", "T1")
    assert code == 2 and "'--weeks'" in output and "weeks_to_step" not in output


def test_holiday_added_again_without_a_name_keeps_its_name(tmp_path: Path) -> None:
    invoke(tmp_path, "db", "upgrade")
    invoke(tmp_path, "holiday", "add", "2026-12-25", "Christmas", "--team", "T1")
    assert invoke(tmp_path, "holiday", "add", "2026-12-25")[1] == "Holiday Fri 25 Dec 2026 (Christmas) added for T1.\n"
    assert invoke(tmp_path, "holiday", "list")[1] == "2026-12-25 Fri  Christmas\n"
    invoke(tmp_path, "holiday", "add", "2026-12-25", "Xmas")
    assert invoke(tmp_path, "holiday", "list")[1] == "2026-12-25 Fri  Xmas\n"


@pytest.mark.parametrize(
    ("days", "echoed"),
    [
        ("sun-thu", "Sun, Mon, Tue, Wed, Thu"),
        ("fri-tue", "Fri, Sat, Sun, Mon, Tue"),
        ("mon,wed,fri", "Mon, Wed, Fri"),
        ("thu,mon", "Mon, Thu"),
        ("mon-sun", "Mon, Tue, Wed, Thu, Fri, Sat, Sun"),
    ],
)
def test_workdays_are_echoed_in_the_order_of_the_teams_week(tmp_path: Path, days: str, echoed: str) -> None:
    invoke(tmp_path, "db", "upgrade")
    assert invoke(tmp_path, "workdays", "set", days, "--team", "T1")[1] == f"Working days for T1: {echoed}.\n"


def test_goals_set_help_and_errors_say_activity(tmp_path: Path) -> None:
    code, output = invoke(tmp_path, "goals", "set", "--help")
    assert code == 0 and "goals set [OPTIONS] ACTIVITY TARGET" in output
    assert "TYPE" not in output and "ACTIVITY (calls, emails" in output
    invoke(tmp_path, "db", "upgrade")
    code, output = invoke(tmp_path, "goals", "set", "sprockets", "2", "--team", "T1")
    assert code == 2 and "Invalid value for ACTIVITY" in output
