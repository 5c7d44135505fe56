"""`pipeday member set|list`: a member's job decides their goal defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.domain.goal_store import member_week
from models import AuditLog, Member
from models.db import make_engine, make_session_factory
from tests.support.cli import run_pipeday

TEAM = "T1"


@pytest.fixture
def url(tmp_path: Path) -> str:
    database_url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run_pipeday(database_url, "db", "upgrade")[0] == 0
    assert run_pipeday(database_url, "region", "add", "AMER", "--tz", "America/New_York", "--team", TEAM)[0] == 0
    assert run_pipeday(database_url, "region", "add", "EMEA", "--tz", "Europe/London")[0] == 0
    return database_url


def weekly_goals(url: str, user_id: str) -> dict[str, float]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            member = session.scalars(select(Member).where(Member.user_id == user_id)).one()
            return member_week(session, member, datetime(2026, 11, 24, 15, tzinfo=UTC)).goals
    finally:
        engine.dispose()


def test_member_set_job_sdr_changes_that_members_weekly_goals(url: str) -> None:
    assert run_pipeday(url, "member", "set", "U0AAA", "--region", "AMER", "--name", "Jordan Brooks") == (
        0,
        "U0AAA in T1: region - → AMER; name U0AAA → Jordan Brooks.\n",
    )
    run_pipeday(url, "member", "set", "U0BBB", "--region", "AMER")
    assert weekly_goals(url, "U0AAA")["call"] == 20  # a new member is an AE
    assert run_pipeday(url, "member", "set", "U0AAA", "--job", "SDR") == (0, "U0AAA in T1: job ae → sdr.\n")
    goals = weekly_goals(url, "U0AAA")
    assert goals == {"account": 25, "email": 200, "call": 60, "connect": 15, "meeting": 5}  # the SDR defaults
    assert weekly_goals(url, "U0BBB")["call"] == 20  # nobody else changed

    # Job-level overrides now reach them too.
    run_pipeday(url, "goals", "set", "calls", "80", "--job", "sdr")
    assert weekly_goals(url, "U0AAA")["call"] == 80 and weekly_goals(url, "U0BBB")["call"] == 20

    assert run_pipeday(url, "member", "set", "U0AAA", "--job", "sdr") == (
        0,
        "U0AAA already had those settings: SDR, AMER, Jordan Brooks.\n",
    )
    engine = make_engine(url)
    with make_session_factory(engine).begin() as session:
        audited = session.scalars(select(AuditLog).where(AuditLog.action == "member.update")).all()
        assert [entry.details for entry in audited][-1] == {"job": ["ae", "sdr"]}
    engine.dispose()


def test_member_list_shows_region_role_and_job(url: str) -> None:
    assert run_pipeday(url, "member", "list") == (
        0,
        "No members yet. People join with `/pg join <region>`, or: pipeday member set U… --region R\n",
    )
    run_pipeday(url, "member", "set", "U0AAA", "--region", "AMER", "--name", "Jordan", "--job", "sdr")
    run_pipeday(url, "member", "set", "U0BBB", "--region", "EMEA", "--name", "alex")
    run_pipeday(url, "member", "set", "W0CCC", "--name", "Casey")
    run_pipeday(url, "role", "set", "U0BBB", "manager")
    code, output = run_pipeday(url, "member", "list")
    assert code == 0
    assert output.splitlines() == [
        "U0AAA        AMER       rep      SDR  Jordan",
        "U0BBB        EMEA       manager  AE   alex",
        "W0CCC        -          rep      AE   Casey",
    ]
    assert run_pipeday(url, "member", "list", "--region", "emea")[1] == "U0BBB        EMEA       manager  AE   alex\n"
    code, output = run_pipeday(url, "member", "list", "--region", "APAC")
    assert code == 1 and "There's no region called `APAC`" in output


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (("alice", "--job", "sdr"), 2, "'alice' isn't a Slack member id"),
        (("@U0AAA", "--job", "sdr"), 2, "isn't a Slack member id"),
        (("u0aaa", "--job", "sdr"), 2, "isn't a Slack member id"),
        (("U0AAA",), 2, "Give --job, --region, --name and/or --slack-name"),
        (("U0AAA", "--job", "bdr"), 2, "'bdr' is not one of 'ae', 'sdr'"),
        (("U0AAA", "--region", "MARS"), 1, "There's no region called `MARS`"),
        (("U0AAA", "--name", "   "), 1, "A display name can't be empty"),
        (("U0AAA", "--name", "bad\x1bname"), 1, "can't contain control characters"),
    ],
)
def test_member_set_refuses_bad_input_and_changes_nothing(
    url: str, args: tuple[str, ...], code: int, fragment: str
) -> None:
    result_code, output = run_pipeday(url, "member", "set", *args)
    assert result_code == code and fragment in output, output
    assert run_pipeday(url, "member", "list")[1].startswith("No members yet")
