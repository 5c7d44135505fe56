"""`pipeday jobs list|run|schedule` and `pipeday clock`, through the real CLI entry point.

Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL: the CLI gets a DATABASE_URL
pointing at the test database (and, on PostgreSQL, at the test's own schema).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli.main import cli
from bot.domain.activities import log_activity
from bot.domain.competitions import CompetitionSpec, add_competition
from bot.domain.directory import add_region, get_member, join_region
from bot.domain.grammar import LogCommand
from bot.scheduler.jobs import JobRuntime, firing_at, retry_failed, run_firing
from bot.scheduler.specs import load_job_specs
from models import SentLog
from tests.support.slack_stub import SlackStub

TEAM = "T0000001"
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def database_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)  # a PostgreSQL test URL names its schema


@pytest.fixture
def slack() -> Iterator[SlackStub]:
    with SlackStub(team_id=TEAM) as stub:
        yield stub
    assert stub.errors == [], stub.errors


@pytest.fixture
def amer(session_factory: sessionmaker[Session]) -> int:
    with session_factory.begin() as session:
        region = add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
        region.created_at = LONG_AGO
        return region.id


def invoke(database_url: str, slack: SlackStub | None, *args: str) -> tuple[int, str]:
    env = {"DATABASE_URL": database_url, "SLACK_BOT_TOKEN": "", "SLACK_API_URL": ""}
    if slack is not None:
        env.update(SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=slack.base_url)
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.output


def test_list_shows_every_job_with_next_run_in_local_time_and_utc(
    database_url: str, amer: int, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as session:
        add_region(session, TEAM, "INDIA", "Asia/Kolkata", "C_IN", actor="test")
        add_region(session, TEAM, "UKI", "Europe/London", None, actor="test")
        add_competition(session, TEAM, CompetitionSpec("Connect Day", 3, "connect", regions=("AMER",)), actor="test")
    # Tuesday 24 Nov 2026, 15:00 UTC.
    code, output = invoke(database_url, None, "jobs", "list", "--at", "2026-11-24T15:00:00+00:00")
    assert code == 0, output
    lines = output.splitlines()

    def line(fragment: str) -> str:
        return next(candidate for candidate in lines if fragment in candidate)

    assert (
        "every Fri 16:00 America/New_York  next: Fri 2026-11-27 16:00 EST = 2026-11-27 21:00 UTC  last: never"
        in line("weekly_summary in AMER")
    )
    assert "every Mon 09:00 Asia/Kolkata  next: Mon 2026-11-30 09:00 IST = 2026-11-30 03:30 UTC" in line(
        "goals_kickoff in INDIA"
    )
    assert "every Thu 08:00 America/New_York  next: Thu 2026-11-26 08:00 EST = 2026-11-26 13:00 UTC" in line(
        "kickoff (Connect Day) in AMER"
    )
    assert "every Thu 12:45" in line("standings (Connect Day)")
    assert "every Thu 16:30" in line("last_call (Connect Day)")
    assert "every Thu 17:30" in line("results (Connect Day)")
    assert "region UKI has no channel" in line("UKI")
    assert not any("(Connect Day) in INDIA" in candidate for candidate in lines)  # AMER only


def test_run_posts_once_per_local_day_unless_forced(
    database_url: str, amer: int, slack: SlackStub, session_factory: sessionmaker[Session]
) -> None:
    at = "2026-11-27T16:00"  # region-local: Friday 16:00 in New York
    code, output = invoke(database_url, slack, "jobs", "run", "weekly_summary", "--region", "amer", "--at", at)
    assert code == 0, output
    assert "weekly_summary in AMER for 2026-11-27: sent" in output
    assert [c.args["channel"] for c in slack.calls("chat.postMessage")] == ["C_AMER"]

    code, output = invoke(database_url, slack, "jobs", "run", "weekly_summary", "--region", "AMER", "--at", at)
    assert code == 1 and "already sent" in output and "--force" in output
    # Later the same local day (and still Friday in New York at 04:30 UTC Saturday): refused too.
    code, output = invoke(
        database_url, slack, "jobs", "run", "weekly_summary", "--region", "AMER", "--at", "2026-11-28T04:30:00+00:00"
    )
    assert code == 1 and "already sent" in output
    assert len(slack.calls("chat.postMessage")) == 1

    code, output = invoke(
        database_url, slack, "jobs", "run", "weekly_summary", "--region", "AMER", "--at", at, "--force"
    )
    assert code == 0, output
    assert len(slack.calls("chat.postMessage")) == 2
    with session_factory.begin() as session:
        row = session.scalars(select(SentLog)).one()
        assert (row.status, row.attempts, row.local_date.isoformat()) == ("sent", 2, "2026-11-27")


def test_run_a_competition_post_for_that_days_competition(
    database_url: str, amer: int, slack: SlackStub, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as session:
        add_competition(
            session, TEAM, CompetitionSpec("Connect Day", 3, "connect", start=time(8), end=time(17, 30)), actor="test"
        )
        join_region(session, TEAM, "U_ANA", "Ana", "AMER")
        ana = get_member(session, TEAM, "U_ANA")
        assert ana is not None
        log_activity(
            session, ana, LogCommand("connect", 7), now=datetime(2026, 11, 26, 15, tzinfo=UTC), idempotency_key=None
        )
    code, output = invoke(database_url, slack, "jobs", "run", "kickoff", "--region", "AMER", "--at", "2026-11-24T08:00")
    assert code == 1 and "No competition" in output and "Tuesday 2026-11-24" in output

    code, output = invoke(database_url, slack, "jobs", "run", "results", "--region", "AMER", "--at", "2026-11-26T17:30")
    assert code == 0, output
    assert "results (Connect Day) in AMER for 2026-11-26: sent" in output
    texts = [c.args.get("text", "") for c in slack.calls("chat.postMessage")]
    assert any("Connect Day" in t for t in texts), texts


def test_run_refuses_unknown_regions_and_needs_a_token(database_url: str, amer: int, slack: SlackStub) -> None:
    code, output = invoke(database_url, slack, "jobs", "run", "weekly_summary", "--region", "MARS")
    assert code == 1 and "no region called MARS" in output
    code, output = invoke(database_url, None, "jobs", "run", "weekly_summary", "--region", "AMER")
    assert code == 1 and "SLACK_BOT_TOKEN" in output
    code, output = invoke(database_url, slack, "jobs", "run", "teatime", "--region", "AMER")
    assert code == 2 and "teatime" in output


def test_schedule_moves_a_weekly_job_to_any_time_of_day(
    database_url: str, amer: int, session_factory: sessionmaker[Session]
) -> None:
    code, output = invoke(
        database_url, None, "jobs", "schedule", "weekly_summary", "--day", "thu", "--at", "15:00", "--team", TEAM
    )
    assert code == 0, output
    code, output = invoke(database_url, None, "jobs", "list", "--at", "2026-11-24T15:00:00+00:00")
    assert "weekly_summary in AMER  every Thu 15:00 America/New_York  next: Thu 2026-11-26 15:00 EST" in output

    # Any time of day: 02:30 is skipped on spring-forward Sunday in New York, so that day it
    # goes out when the clocks jump to 03:00 EDT.
    code, output = invoke(
        database_url, None, "jobs", "schedule", "goals_kickoff", "--day", "sun", "--at", "02:30", "--team", TEAM
    )
    assert code == 0, output
    code, output = invoke(database_url, None, "jobs", "list", "--at", "2027-03-13T15:00:00+00:00")
    assert (
        "goals_kickoff in AMER  every Sun 02:30 America/New_York  next: Sun 2027-03-14 03:00 EDT = 2027-03-14 07:00 UTC"
        in output
    )
    code, output = invoke(database_url, None, "jobs", "schedule", "goals_kickoff", "--off", "--team", TEAM)
    assert code == 0
    code, output = invoke(database_url, None, "jobs", "list", "--at", "2026-11-24T15:00:00+00:00")
    assert "goals_kickoff in AMER" in output and "[off]" in output


def test_schedule_moves_one_competitions_post(
    database_url: str, amer: int, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as session:
        add_competition(session, TEAM, CompetitionSpec("Booking Day", 2, "meeting"), actor="test")
    code, output = invoke(
        database_url,
        None,
        "jobs",
        "schedule",
        "last_call",
        "--competition",
        "booking day",
        "--at",
        "16:00",
        "--team",
        TEAM,
    )
    assert code == 0, output
    code, output = invoke(database_url, None, "jobs", "list", "--at", "2026-11-24T15:00:00+00:00")
    assert "last_call (Booking Day) in AMER  every Wed 16:00" in output
    code, output = invoke(
        database_url, None, "jobs", "schedule", "results", "--competition", "Nope", "--at", "17:00", "--team", TEAM
    )
    assert code == 1 and "no competition called Nope" in output


def test_clock_needs_a_token(database_url: str) -> None:
    code, output = invoke(database_url, None, "clock")
    assert code == 1 and "SLACK_BOT_TOKEN" in output


def test_a_failed_weekly_summary_is_listed_with_its_error_until_the_clock_retries_it(
    database_url: str, amer: int, slack: SlackStub, session_factory: sessionmaker[Session]
) -> None:
    friday_1600 = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)
    runtime = JobRuntime(session_factory, slack.client(), worker_id="clock-test")
    with session_factory.begin() as session:
        summary = next(s for s in load_job_specs(session, TEAM).specs if s.kind == "weekly_summary")
    slack.fail("chat.postMessage", error="internal_error", status=500, retry_after=None, times=1)
    assert run_firing(runtime, firing_at(summary, friday_1600), now=friday_1600).status == "failed"

    code, output = invoke(database_url, None, "jobs", "list", "--at", "2026-11-27T21:05:00+00:00")
    assert code == 0, output
    assert "Posts that did not go out (1):" in output
    assert (
        "! failed: weekly_summary in AMER for 2026-11-27, 1 attempt(s): Slack answered 'internal_error' "
        "— the clock retries it on its next tick"
    ) in output

    later = friday_1600 + timedelta(minutes=1)
    assert [o.status for o in retry_failed(runtime, [summary], later)] == ["sent"]
    code, output = invoke(database_url, None, "jobs", "list", "--at", "2026-11-27T21:05:00+00:00")
    assert "Posts that did not go out" not in output
    assert [m.channel for m in slack.posted_messages()] == ["C_AMER"]


def test_an_abandoned_post_is_listed_with_the_command_that_sends_it(
    database_url: str, amer: int, slack: SlackStub, session_factory: sessionmaker[Session]
) -> None:
    friday_1600 = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)
    runtime = JobRuntime(session_factory, slack.client(), worker_id="clock-test")
    with session_factory.begin() as session:
        summary = next(s for s in load_job_specs(session, TEAM).specs if s.kind == "weekly_summary")
    slack.fail("chat.postMessage", error="internal_error", status=500, retry_after=None, times=None)
    run_firing(runtime, firing_at(summary, friday_1600), now=friday_1600)
    retry_failed(runtime, [summary], friday_1600 + timedelta(hours=2))  # past the grace: given up

    code, output = invoke(database_url, None, "jobs", "list", "--at", "2026-11-27T23:05:00+00:00")

    assert code == 0, output
    assert "! abandoned: weekly_summary in AMER for 2026-11-27" in output and "internal_error" in output
    assert "pipeday jobs run weekly_summary --region AMER --at 2026-11-27T16:00 --force" in output
