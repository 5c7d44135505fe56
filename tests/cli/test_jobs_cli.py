"""`pipeday jobs list|run|schedule` and `pipeday clock`, through the real CLI entry point.

Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL: the CLI gets a DATABASE_URL
pointing at the test database (and, on PostgreSQL, at the test's own schema).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli.main import cli
from bot.domain.activities import log_activity
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import CompetitionSpec
from bot.domain.directory import add_region, get_member, join_region
from bot.domain.grammar import LogCommand
from bot.posting.live_standings import LiveStandingsRefresher
from bot.scheduler.jobs import (
    CLAIM_LEASE,
    JobRuntime,
    RunOutcome,
    firing_at,
    run_firing,
)
from bot.scheduler.retries import retry_failed
from bot.scheduler.specs import load_job_specs
from bot.scheduler.takeover import take_over_stale_claims
from models import Base, CompetitionDay, SentLog
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


# --- manual runs never use up a future post (issue 12, item 6) ------------------------------------

TUESDAY_1500 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # Connect Day is on Thursday the 26th


@pytest.fixture
def connect_day(amer: int, session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        competition = add_competition(
            session, TEAM, CompetitionSpec("Connect Day", 3, "connect", start=time(8), end=time(17, 30)), actor="test"
        )
        competition.created_at = LONG_AGO
        join_region(session, TEAM, "U_ANA", "Ana", "AMER")
        ana = get_member(session, TEAM, "U_ANA")
        assert ana is not None
        log_activity(
            session, ana, LogCommand("connect", 7), now=datetime(2026, 11, 26, 15, tzinfo=UTC), idempotency_key=None
        )


def frozen_now(monkeypatch: pytest.MonkeyPatch, now: datetime) -> None:
    monkeypatch.setattr("bot.cli.jobs.utc_now", lambda: now)


def database_rows(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table: what "records nothing" is checked against."""
    with engine.connect() as connection:
        return {
            table.name: sorted(map(tuple, connection.execute(table.select())), key=repr)
            for table in Base.metadata.sorted_tables
        }


def test_a_run_for_a_post_still_to_come_is_refused_and_points_to_preview(
    database_url: str,
    connect_day: None,
    slack: SlackStub,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen_now(monkeypatch, TUESDAY_1500)
    before = database_rows(engine)

    code, output = invoke(
        database_url, slack, "jobs", "run", "kickoff", "--region", "AMER", "--at", "2026-11-26T08:00", "--team", TEAM
    )

    assert code == 1
    assert "kickoff (Connect Day) in AMER for 2026-11-26 is due at Thu 08:00 EST" in output
    assert "--preview" in output and "Traceback" not in output
    # Later on its own day (Thursday 07:00 in New York), the 08:00 kickoff is still to come.
    frozen_now(monkeypatch, datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    code, output = invoke(database_url, slack, "jobs", "run", "kickoff", "--region", "AMER", "--team", TEAM)
    assert code == 1 and "--preview" in output
    # --force is about sending twice, not early.
    code, output = invoke(
        database_url, slack, "jobs", "run", "weekly_summary", "--region", "AMER", "--at", "2026-11-27T16:00",
        "--force", "--team", TEAM,
    )  # fmt: skip
    assert code == 1 and "due at Fri 16:00 EST" in output
    assert slack.calls() == []
    assert database_rows(engine) == before


@pytest.mark.parametrize(
    ("kind", "at", "expected"),
    [
        ("kickoff", "2026-11-26T08:00", ["Connect Day starts now in AMER", "The second message is the live standings"]),
        ("standings", "2026-11-26T12:45", ["Connect Day"]),
        ("last_call", "2026-11-26T16:30", ["Last call: 60 minutes left"]),
        ("results", "2026-11-26T17:30", ["Connect Day results — AMER", "Winner: @Ana", "commitment is a stand-in"]),
        (
            "weekly_summary",
            "2026-11-27T16:00",
            ["Weekly summary — AMER", "The chart of the week goes in its thread.", "What the prospecting days changed"],
        ),
        ("goals_kickoff", "2026-11-30T09:00", ["goals"]),
    ],
)
def test_preview_prints_a_future_post_and_sends_and_records_nothing(
    database_url: str,
    connect_day: None,
    slack: SlackStub,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    at: str,
    expected: list[str],
) -> None:
    frozen_now(monkeypatch, TUESDAY_1500)
    before = database_rows(engine)

    code, output = invoke(
        database_url, slack, "jobs", "run", kind, "--region", "AMER", "--at", at, "--preview", "--team", TEAM
    )

    assert code == 0, output
    assert output.startswith(f"Preview: {kind}")
    assert "to C_AMER (not sent, nothing recorded)" in output
    for text in expected:
        assert text in output, output
    assert slack.calls() == []
    assert database_rows(engine) == before


def test_preview_needs_no_slack_token(
    database_url: str, connect_day: None, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen_now(monkeypatch, TUESDAY_1500)
    before = database_rows(engine)
    code, output = invoke(
        database_url, None, "jobs", "run", "results", "--region", "AMER", "--at", "2026-11-26T17:30", "--preview"
    )
    assert code == 0, output
    assert "Ana" in output  # the results as they stand
    assert database_rows(engine) == before


def test_a_run_for_a_post_that_is_due_still_posts_at_most_once(
    database_url: str,
    connect_day: None,
    slack: SlackStub,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen_now(monkeypatch, datetime(2026, 11, 26, 13, 30, tzinfo=UTC))  # Thursday 08:30 in New York
    code, output = invoke(database_url, slack, "jobs", "run", "kickoff", "--region", "AMER", "--team", TEAM)
    assert code == 0, output
    assert output.count("kickoff (Connect Day) in AMER for 2026-11-26: sent") == 1
    code, output = invoke(database_url, slack, "jobs", "run", "kickoff", "--region", "AMER", "--team", TEAM)
    assert code == 1 and "already sent" in output and "--force" in output
    kickoffs = [c for c in slack.calls("chat.postMessage") if "starts now" in c.args.get("text", "")]
    assert len(kickoffs) == 1
    with session_factory.begin() as session:
        row = session.scalars(select(SentLog).where(SentLog.kind == "kickoff")).one()
        assert (row.status, row.local_date.isoformat()) == ("sent", "2026-11-26")


def test_a_run_as_at_a_past_slot_is_claimed_now_so_the_clock_never_takes_it_over_mid_post(
    database_url: str,
    connect_day: None,
    slack: SlackStub,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_now = datetime(2026, 11, 26, 13, 40, tzinfo=UTC)  # Thursday 08:40 in New York: the 08:00 slot is 40 min old
    frozen_now(monkeypatch, real_now)
    released = slack.hold("chat.postMessage")  # Slack is slow: the manual run's post is still on its way
    ran: dict[str, tuple[int, str]] = {}
    command = ("jobs", "run", "kickoff", "--region", "AMER", "--at", "2026-11-26T08:00", "--team", TEAM)
    manual = threading.Thread(target=lambda: ran.update(cli=invoke(database_url, slack, *command)))
    manual.start()
    taken: list[RunOutcome] = []
    try:
        slack.wait_for_held("chat.postMessage", 1)
        with session_factory.begin() as session:
            specs = load_job_specs(session, TEAM).specs
        the_clock = JobRuntime(session_factory, slack.client(), worker_id="clock", clock=lambda: real_now)
        # The clock's tick a few seconds later: the claim is seconds old, not older than the lease.
        tick = threading.Thread(
            target=lambda: taken.extend(take_over_stale_claims(the_clock, specs, real_now + timedelta(seconds=5)))
        )
        tick.start()
        tick.join(timeout=5)  # returns at once unless the clock is posting the kickoff too
    finally:
        released.set()
        manual.join(timeout=30)
        tick.join(timeout=30)
    code, output = ran["cli"]
    assert code == 0 and "kickoff (Connect Day) in AMER for 2026-11-26: sent" in output, output
    assert taken == []
    kickoffs = [c for c in slack.calls("chat.postMessage") if "starts now" in c.args.get("text", "")]
    assert len(kickoffs) == 1
    with session_factory.begin() as session:
        row = session.scalars(select(SentLog).where(SentLog.kind == "kickoff")).one()
        # Claimed at the real time; the slot stays 08:00 New York.
        assert (row.claimed_at, row.scheduled_for) == (real_now, datetime(2026, 11, 26, 13, 0, tzinfo=UTC))
        day = session.scalars(select(CompetitionDay)).one()
        assert day.kickoff_posted_at == real_now and real_now - day.kickoff_posted_at < CLAIM_LEASE


def test_a_run_on_a_day_without_the_competition_names_no_name_it_was_not_given(
    database_url: str, connect_day: None, slack: SlackStub
) -> None:
    code, output = invoke(database_url, slack, "jobs", "run", "kickoff", "--region", "AMER", "--at", "2026-11-24T08:00")
    assert code == 1 and "No competition runs in AMER on Tuesday 2026-11-24" in output
    assert "(with that name)" not in output
    code, output = invoke(
        database_url, slack, "jobs", "run", "kickoff", "--region", "AMER", "--at", "2026-11-26T08:00",
        "--competition", "Booking Day",
    )  # fmt: skip
    assert code == 1 and "No competition called Booking Day runs in AMER on Thursday 2026-11-26" in output


def test_jobs_run_prints_its_result_once(database_url: str, amer: int, slack: SlackStub) -> None:
    # A real process: the log handler `pipeday` sets up writes to the terminal too.
    root = Path(__file__).resolve().parents[2]
    command = ["jobs", "run", "weekly_summary", "--region", "AMER", "--at", "2026-11-27T16:00", "--team", TEAM]
    result = subprocess.run(
        [sys.executable, "-c", "from bot.cli.main import cli; cli()", *command],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": database_url,
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_API_URL": slack.base_url,
        },
    )
    assert result.returncode == 0, result.stderr
    both = result.stdout + result.stderr
    assert both.count("weekly_summary in AMER") == 1, both
    assert "weekly_summary in AMER for 2026-11-27: sent" in result.stdout


def test_a_standings_run_says_what_happened_to_the_live_message(
    database_url: str,
    connect_day: None,
    slack: SlackStub,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen_now(monkeypatch, datetime(2026, 11, 26, 18, 0, tzinfo=UTC))  # Thursday 13:00 in New York
    run = ("jobs", "run", "--region", "AMER", "--team", TEAM)
    code, output = invoke(database_url, slack, *run[:2], "standings", *run[2:], "--at", "2026-11-26T12:45")
    assert code == 0 and "sent — posted" in output, output  # the live message, posted
    code, output = invoke(database_url, slack, *run[:2], "standings", *run[2:], "--at", "2026-11-26T12:46", "--force")
    assert code == 0 and "sent — the live standings were already up to date" in output, output

    # A log 5 s after the live message was posted: the edit must wait for Slack's spacing.
    with session_factory.begin() as session:
        ana = get_member(session, TEAM, "U_ANA")
        assert ana is not None
        logged = log_activity(
            session,
            ana,
            LogCommand("connect", 1),
            now=datetime(2026, 11, 26, 17, 45, 5, tzinfo=UTC),
            idempotency_key=None,
        ).activity
        assert LiveStandingsRefresher.mark_touched(session, logged)
    code, output = invoke(
        database_url, slack, *run[:2], "standings", *run[2:], "--at", "2026-11-26T12:45:10", "--force"
    )
    assert code == 0, output
    assert "sent — the live standings were edited moments ago; this edit follows at 17:45:30 UTC" in output
    assert "throttled; deferred" not in output
    # The command saw it through before exiting (the edit's time is long past on the real clock).
    assert "Ana — 8 connects" in json.dumps(slack.calls("chat.update")[-1].args["blocks"], ensure_ascii=False)


def test_the_clock_runtime_takes_the_secret_key_from_settings(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clock's fetch retries decrypt sources' API tokens: its runtime carries PIPEDAY_SECRET_KEY."""
    from bot.cli.common import CliState
    from bot.cli.jobs import _runtime

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PIPEDAY_SECRET_KEY", "a-key-from-the-environment")
    assert _runtime(CliState()).secret_key == "a-key-from-the-environment"
