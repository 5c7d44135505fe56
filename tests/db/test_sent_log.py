"""At-most-once scheduled posts: the sent-log claim, catch-up and skip, retries and give-ups.

Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL (see tests/conftest.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.directory import add_region
from bot.posting import sent_log
from bot.posting.sent_log import SentKey
from bot.scheduler.jobs import (
    JobRuntime,
    firing_at,
    latest_firing,
    run_firing,
)
from bot.scheduler.retries import catch_up_missed, retry_failed
from bot.scheduler.specs import JobSpec, load_job_specs
from models import Region, SentLog
from tests.support.slack_stub import SlackStub

TEAM = "T1"
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
# Friday 27 Nov 2026, 16:00 in New York (EST, UTC-5): the weekly summary's default firing.
FRIDAY_1600_NY = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)
FRIDAY = date(2026, 11, 27)


def make_region(
    session: Session, name: str = "AMER", tz: str = "America/New_York", channel: str | None = "C_AMER"
) -> Region:
    region = add_region(session, TEAM, name, tz, channel, actor="test")
    region.created_at = LONG_AGO  # exists well before every firing the tests look at
    session.flush()
    return region


def region_id(session_factory: sessionmaker[Session]) -> int:
    with session_factory.begin() as session:
        return make_region(session).id


def key_for(region: int, kind: str = "weekly_summary", day: date = FRIDAY) -> SentKey:
    return SentKey(TEAM, region, kind, day)


def claim_in_own_transaction(
    session_factory: sessionmaker[Session], key: SentKey, **kwargs: object
) -> sent_log.Claim | None:
    with session_factory.begin() as session:
        return sent_log.claim(
            session,
            key,
            scheduled_for=FRIDAY_1600_NY,
            now=FRIDAY_1600_NY,
            claimed_by="test",
            **kwargs,  # type: ignore[arg-type]
        )


def status_of(session_factory: sessionmaker[Session], key: SentKey) -> SentLog | None:
    with session_factory.begin() as session:
        return sent_log.find_row(session, key)


# --- the claim itself -----------------------------------------------------------------------


def test_first_claim_wins_and_the_second_is_refused(session_factory: sessionmaker[Session]) -> None:
    key = key_for(region_id(session_factory))
    first = claim_in_own_transaction(session_factory, key)
    assert first is not None and first.attempt == 1
    assert claim_in_own_transaction(session_factory, key) is None
    row = status_of(session_factory, key)
    assert row is not None and (row.status, row.attempts, row.claimed_by) == ("claimed", 1, "test")


def test_claim_keys_differ_by_kind_date_region_and_competition(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        amer = make_region(session).id
        emea = make_region(session, "EMEA", "Europe/London", "C_EMEA").id
    keys = [
        key_for(amer),
        key_for(emea),
        key_for(amer, kind="goals_kickoff"),
        key_for(amer, day=FRIDAY + timedelta(days=7)),
        SentKey(TEAM, amer, "results", FRIDAY, "competition:1"),
        SentKey(TEAM, amer, "results", FRIDAY, "competition:2"),
    ]
    assert all(claim_in_own_transaction(session_factory, key) is not None for key in keys)


@pytest.mark.parametrize("round_", range(5))
def test_two_concurrent_runners_claim_at_most_once(session_factory: sessionmaker[Session], round_: int) -> None:
    key = key_for(region_id(session_factory), day=FRIDAY + timedelta(weeks=round_))
    barrier = threading.Barrier(2)

    def runner(_: int) -> bool:
        barrier.wait()
        return claim_in_own_transaction(session_factory, key) is not None

    with ThreadPoolExecutor(2) as pool:
        won = list(pool.map(runner, range(2)))
    assert sorted(won) == [False, True]
    with session_factory.begin() as session:
        assert session.scalar(select(func.count()).select_from(SentLog)) == 1


def test_a_failed_post_is_retaken_by_exactly_one_of_two_retriers(session_factory: sessionmaker[Session]) -> None:
    key = key_for(region_id(session_factory))
    first = claim_in_own_transaction(session_factory, key)
    assert first is not None
    with session_factory.begin() as session:
        sent_log.mark_failed(session, first, "Slack answered 'channel_not_found'", now=FRIDAY_1600_NY)
    barrier = threading.Barrier(2)

    def retrier(_: int) -> sent_log.Claim | None:
        barrier.wait()
        return claim_in_own_transaction(session_factory, key)

    with ThreadPoolExecutor(2) as pool:
        claims = [c for c in pool.map(retrier, range(2)) if c is not None]
    assert len(claims) == 1 and claims[0].attempt == 2
    row = status_of(session_factory, key)
    assert row is not None and (row.status, row.attempts) == ("claimed", 2)
    assert row.last_error == "Slack answered 'channel_not_found'"  # kept until the retry's outcome


def test_a_sent_post_needs_force_to_be_taken_again(session_factory: sessionmaker[Session]) -> None:
    key = key_for(region_id(session_factory))
    first = claim_in_own_transaction(session_factory, key)
    assert first is not None
    with session_factory.begin() as session:
        sent_log.mark_sent(session, first, channel_id="C_AMER", message_ts="1.000100", now=FRIDAY_1600_NY)
    assert claim_in_own_transaction(session_factory, key) is None
    forced = claim_in_own_transaction(session_factory, key, force=True)
    assert forced is not None and forced.attempt == 2


def test_a_skip_is_recorded_once_and_can_be_taken_over(session_factory: sessionmaker[Session]) -> None:
    key = key_for(region_id(session_factory))
    with session_factory.begin() as session:
        assert sent_log.record_skip(
            session, key, scheduled_for=FRIDAY_1600_NY, reason="too late", now=FRIDAY_1600_NY, claimed_by="clock-a"
        )
    with session_factory.begin() as session:
        assert not sent_log.record_skip(
            session, key, scheduled_for=FRIDAY_1600_NY, reason="too late", now=FRIDAY_1600_NY, claimed_by="clock-b"
        )
    row = status_of(session_factory, key)
    assert row is not None and (row.status, row.last_error) == ("skipped", "too late")
    assert claim_in_own_transaction(session_factory, key) is not None  # e.g. `pipeday jobs run`


# --- whole firings against the Slack stub ----------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[SlackStub]:
    with SlackStub(team_id=TEAM) as stub:
        yield stub


@pytest.fixture
def runtime(session_factory: sessionmaker[Session], slack: SlackStub) -> JobRuntime:
    return JobRuntime(session_factory, slack.client(), worker_id="clock-a")


def summary_spec(session_factory: sessionmaker[Session]) -> JobSpec:
    with session_factory.begin() as session:
        make_region(session)
        specs = load_job_specs(session, TEAM).specs
    return next(spec for spec in specs if spec.kind == "weekly_summary")


def test_the_latest_firing_is_friday_1600_local(session_factory: sessionmaker[Session]) -> None:
    spec = summary_spec(session_factory)
    firing = latest_firing(spec, FRIDAY_1600_NY + timedelta(minutes=10))
    assert firing is not None
    assert (firing.scheduled_for, firing.local_date) == (FRIDAY_1600_NY, FRIDAY)
    earlier = latest_firing(spec, FRIDAY_1600_NY - timedelta(seconds=1))
    assert earlier is not None and earlier.local_date == FRIDAY - timedelta(days=7)


def test_two_clocks_firing_together_post_once(
    session_factory: sessionmaker[Session], runtime: JobRuntime, slack: SlackStub
) -> None:
    spec = summary_spec(session_factory)
    other = JobRuntime(session_factory, runtime.client, worker_id="clock-b")
    barrier = threading.Barrier(2)

    def clock_process(which: JobRuntime) -> str:
        barrier.wait()
        return run_firing(which, firing_at(spec, FRIDAY_1600_NY), now=FRIDAY_1600_NY).status

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(clock_process, [runtime, other]))
    assert statuses == ["duplicate", "sent"]
    assert len(slack.calls("chat.postMessage")) == 1
    assert len(slack.shared_files()) == 1
    row = status_of(session_factory, key_for(spec.region_id))
    assert row is not None and row.status == "sent" and row.claimed_by in ("clock-a", "clock-b")
    assert row.message_ts == slack.shared_files()[0].thread_ts  # the chart went into the summary's thread


def test_sent_row_records_channel_and_message_ts(
    session_factory: sessionmaker[Session], runtime: JobRuntime, slack: SlackStub
) -> None:
    spec = summary_spec(session_factory)
    outcome = run_firing(runtime, firing_at(spec, FRIDAY_1600_NY), now=FRIDAY_1600_NY + timedelta(seconds=2))
    assert outcome.status == "sent"
    row = status_of(session_factory, key_for(spec.region_id))
    assert row is not None
    assert (row.status, row.channel_id, row.attempts) == ("sent", "C_AMER", 1)
    posted_ts = slack.calls("chat.postMessage")[0]
    assert row.message_ts is not None and row.sent_at == FRIDAY_1600_NY + timedelta(seconds=2)
    assert slack.shared_files()[0].thread_ts == row.message_ts
    assert posted_ts.args["channel"] == "C_AMER"


def test_restarted_clock_catches_up_within_grace(
    session_factory: sessionmaker[Session], runtime: JobRuntime, slack: SlackStub
) -> None:
    spec = summary_spec(session_factory)
    # The clock was down at 16:00 and comes back at 16:40: within the one-hour grace.
    outcomes = catch_up_missed(runtime, [spec], FRIDAY_1600_NY + timedelta(minutes=40))
    assert [(o.status, o.local_date) for o in outcomes] == [("sent", FRIDAY)]
    assert len(slack.calls("chat.postMessage")) == 1
    # The next tick finds the row and does nothing.
    assert catch_up_missed(runtime, [spec], FRIDAY_1600_NY + timedelta(minutes=41)) == []
    assert len(slack.calls("chat.postMessage")) == 1


def test_restarted_clock_skips_beyond_grace_with_one_log_line(
    session_factory: sessionmaker[Session], runtime: JobRuntime, slack: SlackStub, caplog: pytest.LogCaptureFixture
) -> None:
    spec = summary_spec(session_factory)
    back_at = FRIDAY_1600_NY + timedelta(hours=2)
    with caplog.at_level(logging.WARNING, logger="bot.scheduler.jobs"):
        outcomes = catch_up_missed(runtime, [spec], back_at)
        # A second restart must not log (or post) the same skip again.
        again = catch_up_missed(runtime, [spec], back_at + timedelta(minutes=5))
    assert [o.status for o in outcomes] == ["skipped"] and again == []
    skip_lines = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skip_lines) == 1 and "120 min late" in skip_lines[0] and "weekly_summary in AMER" in skip_lines[0]
    assert slack.calls("chat.postMessage") == []
    row = status_of(session_factory, key_for(spec.region_id))
    assert row is not None and row.status == "skipped"


def test_firings_before_the_region_existed_are_not_caught_up(
    session_factory: sessionmaker[Session], runtime: JobRuntime, slack: SlackStub
) -> None:
    spec = summary_spec(session_factory)
    with session_factory.begin() as session:
        session.get(Region, spec.region_id).created_at = FRIDAY_1600_NY + timedelta(minutes=1)  # type: ignore[union-attr]
        spec = next(s for s in load_job_specs(session, TEAM).specs if s.kind == "weekly_summary")
    assert catch_up_missed(runtime, [spec], FRIDAY_1600_NY + timedelta(minutes=30)) == []
    assert status_of(session_factory, key_for(spec.region_id)) is None


def test_failed_post_is_retried_on_the_next_tick_then_sent_once(
    session_factory: sessionmaker[Session], runtime: JobRuntime, slack: SlackStub
) -> None:
    spec = summary_spec(session_factory)
    slack.fail("chat.postMessage", error="fatal_error", status=200, retry_after=None, times=1)
    first = run_firing(runtime, firing_at(spec, FRIDAY_1600_NY), now=FRIDAY_1600_NY)
    assert first.status == "failed" and "fatal_error" in first.detail
    row = status_of(session_factory, key_for(spec.region_id))
    assert row is not None and (row.status, row.attempts) == ("failed", 1)
    # The cron job does not fire again that day, and catch-up leaves rows it has seen alone...
    assert catch_up_missed(runtime, [spec], FRIDAY_1600_NY + timedelta(minutes=1)) == []
    # ...but the tick's retry posts it.
    retried = retry_failed(runtime, [spec], FRIDAY_1600_NY + timedelta(minutes=1))
    assert [o.status for o in retried] == ["sent"]
    assert retry_failed(runtime, [spec], FRIDAY_1600_NY + timedelta(minutes=2)) == []
    row = status_of(session_factory, key_for(spec.region_id))
    assert row is not None and (row.status, row.attempts) == ("sent", 2)
    assert len(slack.calls("chat.postMessage")) == 2  # the rejected attempt and the one that landed


def test_a_post_still_failing_after_the_grace_is_abandoned_loudly(
    session_factory: sessionmaker[Session], runtime: JobRuntime, slack: SlackStub, caplog: pytest.LogCaptureFixture
) -> None:
    spec = summary_spec(session_factory)
    slack.fail("chat.postMessage", error="channel_not_found", status=200, retry_after=None, times=None)
    assert run_firing(runtime, firing_at(spec, FRIDAY_1600_NY), now=FRIDAY_1600_NY).status == "failed"
    assert [o.status for o in retry_failed(runtime, [spec], FRIDAY_1600_NY + timedelta(minutes=30))] == ["failed"]
    with caplog.at_level(logging.ERROR, logger="bot.scheduler.jobs"):
        assert retry_failed(runtime, [spec], FRIDAY_1600_NY + timedelta(minutes=61)) == []
    row = status_of(session_factory, key_for(spec.region_id))
    assert row is not None and row.status == "abandoned" and "channel_not_found" in (row.last_error or "")
    assert any("abandoned" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    assert len(slack.calls("chat.postMessage")) == 2


def test_manual_run_ignores_the_grace_but_not_an_earlier_send(
    session_factory: sessionmaker[Session], runtime: JobRuntime, slack: SlackStub
) -> None:
    spec = summary_spec(session_factory)
    late = FRIDAY_1600_NY + timedelta(hours=5)
    assert run_firing(runtime, firing_at(spec, late), now=late, manual=True).status == "sent"
    again = run_firing(runtime, firing_at(spec, late), now=late, manual=True)
    assert again.status == "duplicate" and "already sent" in again.detail
    assert run_firing(runtime, firing_at(spec, late), now=late, manual=True, force=True).status == "sent"
    assert len(slack.calls("chat.postMessage")) == 2


def test_a_failed_chart_upload_does_not_fail_or_repeat_the_summary(
    session_factory: sessionmaker[Session], runtime: JobRuntime, slack: SlackStub
) -> None:
    spec = summary_spec(session_factory)
    slack.fail("files.getUploadURLExternal", error="fatal_error", status=200, retry_after=None, times=None)
    outcome = run_firing(runtime, firing_at(spec, FRIDAY_1600_NY), now=FRIDAY_1600_NY)
    assert outcome.status == "sent" and "chart not uploaded" in outcome.detail
    row = status_of(session_factory, key_for(spec.region_id))
    assert row is not None and row.status == "sent" and "fatal_error" in (row.last_error or "")
    assert retry_failed(runtime, [spec], FRIDAY_1600_NY + timedelta(minutes=1)) == []
    summaries = [c for c in slack.calls("chat.postMessage") if not c.args.get("thread_ts")]
    assert len(summaries) == 1  # posted once; the note in its thread says the chart is missing


def test_abandoning_never_overwrites_a_post_that_completed_meanwhile(session_factory: sessionmaker[Session]) -> None:
    key = key_for(region_id(session_factory))
    claimed = claim_in_own_transaction(session_factory, key)
    assert claimed is not None
    with session_factory.begin() as session:
        sent_log.mark_sent(session, claimed, channel_id="C_AMER", message_ts="1.2", now=FRIDAY_1600_NY)
    with session_factory.begin() as session:
        # A tick that read the row while it was still "claimed" comes too late.
        assert not sent_log.abandon(session, claimed.row_id, "stale", now=FRIDAY_1600_NY, expected_status="claimed")
    row = status_of(session_factory, key)
    assert row is not None and row.status == "sent"
