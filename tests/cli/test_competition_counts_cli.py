"""`pipeday competition add … --count verified|all`: stored, said back, and listed."""

from __future__ import annotations

from bot.domain.competition_definitions import find_competition
from tests.cli.test_competition_cli import database  # noqa: F401  (the fixture)
from tests.support.cli import run_pipeday, transaction

TEAM = "T1"


def test_a_competition_can_count_verified_activity_only(database: str) -> None:  # noqa: F811
    code, output = run_pipeday(database, "competition", "add", "--preset", "connect-day", "--count", "verified")
    assert code == 0, output
    assert "counting verified activity only" in output
    code, output = run_pipeday(database, "competition", "add", "Call Blitz", "--weekday", "fri", "--metric", "call")
    assert code == 0 and "counting all activity" in output

    code, output = run_pipeday(database, "competition", "list")
    lines = {line.split()[0] + " " + line.split()[1]: line for line in output.splitlines()}
    assert "verified activity only" in lines["Connect Day"]
    assert "all activity" in lines["Call Blitz"]
    with transaction(database) as session:
        connect_day = find_competition(session, TEAM, "Connect Day")
        assert connect_day is not None and connect_day.counts == "verified"


def test_count_takes_only_all_or_verified(database: str) -> None:  # noqa: F811
    code, output = run_pipeday(database, "competition", "add", "--preset", "connect-day", "--count", "typed")
    assert code == 2 and "typed" in output
    code, output = run_pipeday(database, "competition", "list")
    assert "Connect Day" not in output
