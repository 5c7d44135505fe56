"""`pipeday trust …`, `pipeday flags …` and `pipeday competition set` on a real database (and a
Slack stub where a void tells the member)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli.main import cli
from bot.domain.activities import log_activity
from bot.domain.directory import ensure_member, join_region
from bot.domain.flag_store import store_drafts
from bot.domain.grammar import LogCommand
from bot.domain.trust_baselines import Distribution
from bot.domain.trust_rules import LogFacts, big_log_flag, hours_flag
from bot.domain.trust_settings import DEFAULTS
from models import Activity, AuditLog, Competition
from tests.support.cli import run_pipeday, transaction
from tests.support.slack_stub import SlackStub

TEAM = "T1"
FIVE_AM_NY = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run_pipeday(url, "db", "upgrade")[0] == 0
    assert run_pipeday(url, "region", "add", "AMER", "--tz", "America/New_York", "--team", TEAM)[0] == 0
    return url


def night_flag(url: str, user: str = "U0ANA") -> int:
    """A 5 a.m. log of 4 connects and its hours flag, as the after-ack check would raise it."""
    with transaction(url) as session:
        join_region(session, TEAM, user, "Ana", "AMER")
        result = log_activity(
            session, ensure_member(session, TEAM, user, "Ana"), LogCommand("connect", 4), now=FIVE_AM_NY,
            idempotency_key=None,
        )  # fmt: skip
        draft = hours_flag(LogFacts.of(result), DEFAULTS)
        assert draft is not None
        (flag_id,) = store_drafts(session, [draft], FIVE_AM_NY)
        return flag_id


def test_trust_settings_show_and_set(database: str) -> None:
    code, output = run_pipeday(database, "trust", "show", "--team", TEAM)
    assert code == 0 and "big-log" in output and "06:00-22:00" in output
    code, output = run_pipeday(database, "trust", "set", "hours", "07:00-21:00", "--team", TEAM)
    assert code == 0 and output.startswith("hours = 07:00-21:00")
    assert "07:00-21:00 (default 06:00-22:00)" in run_pipeday(database, "trust", "show", "--team", TEAM)[1]
    code, output = run_pipeday(database, "trust", "set", "burst", "1", "--team", TEAM)
    assert code == 1 and "isn't a whole number from 2 to 500" in output and "Traceback" not in output
    code, output = run_pipeday(database, "trust", "set", "quiet", "1", "--team", TEAM)
    assert code == 1 and "isn't a trust setting" in output
    with transaction(database) as session:
        actions = session.scalars(select(AuditLog.action).where(AuditLog.action == "trust.set")).all()
        assert actions == ["trust.set"]


def test_competition_review_and_cap_are_set_and_listed(database: str) -> None:
    code, output = run_pipeday(database, "competition", "add", "--preset", "connect-day", "--review", "always")
    assert code == 0 and "every winner reviewed" in output
    code, output = run_pipeday(
        database, "competition", "set", "connect day", "--max-per-log", "20", "--review", "flags"
    )
    assert code == 0 and output.strip() == "Connect Day: flagged winners reviewed, at most 20 per log."
    assert "at most 20 per log" in run_pipeday(database, "competition", "list")[1]
    code, output = run_pipeday(database, "competition", "set", "Connect Day", "--no-max-per-log")
    assert code == 0 and "per log" not in output
    code, output = run_pipeday(database, "competition", "set", "Connect Day", "--max-per-log", "0")
    assert code == 2 and "0 is not in the range 1<=x<=500" in output
    assert "Nothing to change" in run_pipeday(database, "competition", "set", "Connect Day")[1]
    assert "no competition called" in run_pipeday(database, "competition", "set", "Nope", "--review", "never")[1]
    with transaction(database) as session:
        competition = session.scalars(select(Competition)).one()
        assert (competition.review, competition.max_per_log) == ("flags", None)


def test_flags_list_keep_and_void_without_slack(database: str) -> None:
    first, second = night_flag(database), night_flag(database, "U0BEN")
    code, output = run_pipeday(database, "flags", "list", "--team", TEAM)
    assert code == 0 and f"#{first}" in output and f"#{second}" in output
    assert "hours: 4 connects logged at 05:00 America/New_York, outside 06:00–22:00" in output
    assert "covers 1 log: 4 connects, at 05:00" in output

    code, output = run_pipeday(database, "flags", "keep", str(first), "--reason", "Early call block", "--team", TEAM)
    assert code == 0 and f"Kept flag #{first}" in output
    code, output = run_pipeday(database, "flags", "void", str(first), "--reason", "No", "--team", TEAM)
    assert code == 1 and "already kept by cli: “Early call block”" in output

    code, output = run_pipeday(database, "flags", "void", str(second), "--reason", "From bed", "--as", "ben")
    assert code == 2 and "isn't a Slack member id" in output
    code, output = run_pipeday(
        database, "flags", "void", str(second), "--reason", "From bed", "--as", "U0MGR", "--team", TEAM
    )
    assert code == 0 and f"Voided flag #{second}: 4 connects no longer counted" in output
    assert "SLACK_BOT_TOKEN isn't set: the member wasn't told" in output
    with transaction(database) as session:
        voided = session.scalars(select(Activity).where(Activity.voided_at.is_not(None))).all()
        assert [(a.member.user_id, a.quantity) for a in voided] == [("U0BEN", 4.0)]
        audit = session.scalars(select(AuditLog).where(AuditLog.action == "flag.void")).one()
        assert (audit.actor, audit.details["reason"]) == ("U0MGR", "From bed")

    assert "No open flags." in run_pipeday(database, "flags", "list", "--team", TEAM)[1]
    code, output = run_pipeday(database, "flags", "list", "--state", "all", "--team", TEAM)
    assert "voided by U0MGR" in output and "kept by cli" in output


def test_a_void_from_the_cli_tells_the_member_through_slack(database: str) -> None:
    with SlackStub(team_id=TEAM) as stub:
        flag_id = night_flag(database)
        env = {"DATABASE_URL": database, "SLACK_BOT_TOKEN": "xoxb-t", "SLACK_API_URL": stub.base_url}
        result = CliRunner().invoke(
            cli, ["flags", "void", str(flag_id), "--reason", "Not real", "--as", "U0MGR"], env=env
        )
        assert result.exit_code == 0, result.output
        (dm,) = [c for c in stub.calls("chat.postMessage") if c.args["channel"] == "DU0ANA"]
        assert "<@U0MGR> voided your 4 connects logged Tue 24 Nov 05:00" in str(dm.args["blocks"])
        # An operator who doesn't say who they are is "a manager" to the member.
        unnamed = night_flag(database, "U0BEN")
        result = CliRunner().invoke(cli, ["flags", "void", str(unnamed), "--reason", "Not real"], env=env)
        assert result.exit_code == 0, result.output
        (dm,) = [c for c in stub.calls("chat.postMessage") if c.args["channel"] == "DU0BEN"]
        assert "A manager voided your 4 connects" in str(dm.args["blocks"])
        assert stub.errors == []


def test_open_flags_on_undone_logs_leave_the_list(database: str) -> None:
    night_flag(database)
    with transaction(database) as session:
        session.scalars(select(Activity)).one().deleted_at = FIVE_AM_NY + timedelta(minutes=1)
    assert "No open flags." in run_pipeday(database, "flags", "list", "--team", TEAM)[1]


def test_flags_list_shows_the_day_as_it_counts_now_beside_a_big_logs_figure(database: str) -> None:
    with transaction(database) as session:
        join_region(session, TEAM, "U0ANA", "Ana", "AMER")
        ana = ensure_member(session, TEAM, "U0ANA", "Ana")
        noon = FIVE_AM_NY + timedelta(hours=7)
        result = log_activity(session, ana, LogCommand("connect", 12), now=noon, idempotency_key=None)
        usual = Distribution(days=23, percentiles={95.0: 3.0})  # 3 × 3 = 9 < 12
        draft = big_log_flag(LogFacts.of(result), DEFAULTS, usual, None)
        assert draft is not None
        store_drafts(session, [draft], noon)
        log_activity(session, ana, LogCommand("connect", 6), now=noon + timedelta(hours=1), idempotency_key=None)

    output = run_pipeday(database, "flags", "list", "--team", TEAM)[1]
    assert "big-log: 12 connects in one log (of 18 in the day now); 3× this member's" in output
