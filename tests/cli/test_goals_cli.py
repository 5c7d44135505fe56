"""`pipeday goals|ramp|holiday|workdays …` against a real SQLite file."""

from __future__ import annotations

from pathlib import Path

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
    assert code == 1 and "start_fraction" in output
    assert invoke(tmp_path, "ramp", "off")[1] == "Ramp off: full targets apply.\n"

    assert invoke(tmp_path, "holiday", "add", "2026-12-25", "Christmas", "Day")[0] == 0
    assert invoke(tmp_path, "holiday", "list")[1] == "2026-12-25 Fri  Christmas Day\n"
    assert invoke(tmp_path, "holiday", "add", "25/12/2026")[0] == 2
    assert invoke(tmp_path, "holiday", "remove", "2026-12-25")[1] == "Removed 2026-12-25.\n"

    assert invoke(tmp_path, "workdays", "set", "sun-thu")[1] == "Working days for T1: Mon, Tue, Wed, Thu, Sun.\n"
    assert invoke(tmp_path, "workdays", "show")[1] == "Working days: Mon, Tue, Wed, Thu, Sun.\n"
    assert invoke(tmp_path, "workdays", "set", "funday")[0] == 1
