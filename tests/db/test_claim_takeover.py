"""A clock killed mid-post: its claim is taken over once the lease runs out, and the post goes
out once — unless Slack already has it (message metadata carries the claim's key).

Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL. Time is injected, never slept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.competition_days import DayKey, day_for_key
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import CompetitionSpec
from bot.domain.directory import add_region
from bot.domain.post_claims import claim_once
from bot.posting import sent_log
from bot.posting.sent_log import SentKey
from bot.posting.slack_messages import post_message
from bot.scheduler.clock import Clock, make_scheduler
from bot.scheduler.jobs import CLAIM_LEASE, JobRuntime
from bot.scheduler.retries import catch_up_missed, retry_failed
from bot.scheduler.specs import JobSpec, load_job_specs
from bot.scheduler.takeover import take_over_stale_claims
from models import CompetitionDay, SentLog
from tests.support.clock import FakeClock
from tests.support.slack_stub import Call, SlackStub

TEAM = "T1"
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
FRIDAY_1600_NY = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)
FRIDAY = date(2026, 11, 27)
# Thursday 26 Nov 2026 08:00 in New York: Connect Day's kickoff.
THURSDAY_0800_NY = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
THURSDAY = date(2026, 11, 26)
DEAD_CLOCK = "clock-host:4242"


@pytest.fixture
def slack() -> Iterator[SlackStub]:
    with SlackStub(team_id=TEAM) as stub:
        yield stub
    assert stub.errors == [], stub.errors


@pytest.fixture
def fake_now() -> FakeClock:
    return FakeClock(FRIDAY_1600_NY)


@pytest.fixture
def runtime(session_factory: sessionmaker[Session], slack: SlackStub, fake_now: FakeClock) -> JobRuntime:
    slack.ts_clock = fake_now  # message ts follow the injected time, as Slack's follow real time
    return JobRuntime(session_factory, slack.client(), worker_id="clock-b", clock=fake_now)


def specs_of(session_factory: sessionmaker[Session], *, competition: bool = False) -> list[JobSpec]:
    with session_factory.begin() as session:
        region = add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
        region.created_at = LONG_AGO
        if competition:
            added = add_competition(
                session, TEAM, CompetitionSpec("Connect Day", 3, "connect", regions=("AMER",)), actor="test"
            )
            added.created_at = LONG_AGO
        session.flush()
        return load_job_specs(session, TEAM).specs


def spec_of(specs: list[JobSpec], kind: str) -> JobSpec:
    return next(spec for spec in specs if spec.kind == kind)


def killed_mid_post(session_factory: sessionmaker[Session], key: SentKey, at: datetime) -> None:
    """What a clock leaves behind when it is killed after claiming and before confirming."""
    with session_factory.begin() as session:
        claimed = sent_log.claim(session, key, scheduled_for=at, now=at, claimed_by=DEAD_CLOCK)
    assert claimed is not None


def row_of(session_factory: sessionmaker[Session], key: SentKey) -> SentLog:
    with session_factory.begin() as session:
        row = sent_log.find_row(session, key)
    assert row is not None
    return row


def metadata_of(call: Call) -> dict[str, object]:
    value = call.args.get("metadata")
    return dict(json.loads(value) if isinstance(value, str) else value or {})


def test_a_killed_clocks_claim_is_taken_over_after_the_lease_and_posted_once(
    session_factory: sessionmaker[Session], runtime: JobRuntime, slack: SlackStub, fake_now: FakeClock
) -> None:
    specs = specs_of(session_factory)
    summary = spec_of(specs, "weekly_summary")
    key = SentKey(TEAM, summary.region_id, "weekly_summary", FRIDAY)
    killed_mid_post(session_factory, key, FRIDAY_1600_NY)
    clock = Clock(make_scheduler(blocking=False), runtime, clock=fake_now)

    fake_now.set(FRIDAY_1600_NY + CLAIM_LEASE - timedelta(minutes=1))
    clock.reconcile()  # the lease still runs: the dead clock might yet be posting
    assert slack.calls("chat.postMessage") == []
    assert row_of(session_factory, key).status == "claimed"

    fake_now.set(FRIDAY_1600_NY + CLAIM_LEASE + timedelta(minutes=1))
    clock.reconcile()

    (posted,) = slack.calls("chat.postMessage")
    assert posted.args["channel"] == "C_AMER" and "Weekly summary — AMER" in posted.args["text"]
    assert metadata_of(posted) == {"event_type": "pipeday_post", "event_payload": {"key": key.token}}
    (asked,) = slack.calls("conversations.history")  # Slack was asked first, with metadata
    assert asked.args["channel"] == "C_AMER" and str(asked.args["include_all_metadata"]).lower() in ("1", "true")
    row = row_of(session_factory, key)
    assert (row.status, row.attempts, row.claimed_by) == ("sent", 2, "clock-b")
    assert row.message_ts == slack.posted_messages("C_AMER")[0].ts

    fake_now.advance(CLAIM_LEASE * 2)
    clock.reconcile()
    assert len(slack.calls("chat.postMessage")) == 1


def test_a_post_slack_already_has_is_marked_sent_not_posted_again(
    session_factory: sessionmaker[Session], runtime: JobRuntime, slack: SlackStub, fake_now: FakeClock
) -> None:
    summary = spec_of(specs_of(session_factory), "weekly_summary")
    key = SentKey(TEAM, summary.region_id, "weekly_summary", FRIDAY)
    killed_mid_post(session_factory, key, FRIDAY_1600_NY)
    # Last week's summary carries another key; it must not pass for this one.
    fake_now.set(FRIDAY_1600_NY - timedelta(days=7))
    post_message(slack.client(), "C_AMER", {"text": "last week"}, post_key=f"{key.token}-other")
    # The dead clock's post reached Slack; the clock died before recording it.
    fake_now.set(FRIDAY_1600_NY + timedelta(seconds=20))
    post_message(slack.client(), "C_AMER", {"text": "Weekly summary — AMER"}, post_key=key.token)
    landed = slack.posted_messages("C_AMER")[-1].ts

    outcomes = take_over_stale_claims(runtime, [summary], FRIDAY_1600_NY + CLAIM_LEASE + timedelta(minutes=1))

    assert [o.status for o in outcomes] == ["sent"] and "found in Slack" in outcomes[0].detail
    assert len(slack.calls("chat.postMessage")) == 2  # the two above, nothing more
    row = row_of(session_factory, key)
    assert (row.status, row.channel_id, row.message_ts) == ("sent", "C_AMER", landed)
    later = FRIDAY_1600_NY + CLAIM_LEASE + timedelta(minutes=2)
    assert retry_failed(runtime, [summary], later) == [] and catch_up_missed(runtime, [summary], later) == []


def test_a_claim_with_its_ts_stored_is_marked_sent_without_asking_slack(
    session_factory: sessionmaker[Session], runtime: JobRuntime, slack: SlackStub
) -> None:
    summary = spec_of(specs_of(session_factory), "weekly_summary")
    key = SentKey(TEAM, summary.region_id, "weekly_summary", FRIDAY)
    killed_mid_post(session_factory, key, FRIDAY_1600_NY)
    with session_factory.begin() as session:
        row = session.scalars(select(SentLog)).one()
        row.channel_id, row.message_ts = "C_AMER", "1795813200.000100"

    outcomes = take_over_stale_claims(runtime, [summary], FRIDAY_1600_NY + CLAIM_LEASE + timedelta(minutes=1))

    assert [o.status for o in outcomes] == ["sent"]
    assert slack.calls("chat.postMessage") == [] and slack.calls("conversations.history") == []


def test_a_killed_kickoff_is_posted_once_though_its_day_claim_was_left_behind_too(
    session_factory: sessionmaker[Session], runtime: JobRuntime, slack: SlackStub
) -> None:
    kickoff = spec_of(specs_of(session_factory, competition=True), "kickoff")
    assert kickoff.competition_id is not None
    key = SentKey(TEAM, kickoff.region_id, "kickoff", THURSDAY, kickoff.subject)
    killed_mid_post(session_factory, key, THURSDAY_0800_NY)
    with session_factory.begin() as session:  # the day's own once-only claim, stamped by the dead clock
        day = day_for_key(session, DayKey(TEAM, kickoff.region_id, kickoff.competition_id, THURSDAY))
        assert claim_once(session, day, "kickoff_posted_at", THURSDAY_0800_NY)

    outcomes = take_over_stale_claims(runtime, [kickoff], THURSDAY_0800_NY + CLAIM_LEASE + timedelta(minutes=1))

    assert [o.status for o in outcomes] == ["sent"]
    kickoffs = [c for c in slack.calls("chat.postMessage") if metadata_of(c).get("event_payload") == {"key": key.token}]
    assert len(kickoffs) == 1 and "Connect Day" in kickoffs[0].args["text"]
    with session_factory.begin() as session:
        assert session.scalars(select(CompetitionDay.kickoff_posted_at)).one() is not None


def test_when_slack_cannot_say_the_claim_is_abandoned_with_the_reason(
    session_factory: sessionmaker[Session], runtime: JobRuntime, slack: SlackStub
) -> None:
    summary = spec_of(specs_of(session_factory), "weekly_summary")
    key = SentKey(TEAM, summary.region_id, "weekly_summary", FRIDAY)
    killed_mid_post(session_factory, key, FRIDAY_1600_NY)
    slack.fail("conversations.history", error="missing_scope", status=200, retry_after=None, times=None)

    take_over_stale_claims(runtime, [summary], FRIDAY_1600_NY + CLAIM_LEASE + timedelta(minutes=1))

    row = row_of(session_factory, key)
    assert row.status == "abandoned" and "channels:history" in (row.last_error or "")
    assert "--force" in (row.last_error or "")
    assert slack.calls("chat.postMessage") == []


def test_a_slack_500_while_checking_keeps_the_claim_for_the_next_lease(
    session_factory: sessionmaker[Session], runtime: JobRuntime, slack: SlackStub
) -> None:
    summary = spec_of(specs_of(session_factory), "weekly_summary")
    key = SentKey(TEAM, summary.region_id, "weekly_summary", FRIDAY)
    killed_mid_post(session_factory, key, FRIDAY_1600_NY)
    slack.fail("conversations.history", error="internal_error", status=500, retry_after=None, times=1)
    first = FRIDAY_1600_NY + CLAIM_LEASE + timedelta(minutes=1)

    assert [o.status for o in take_over_stale_claims(runtime, [summary], first)] == ["failed"]
    assert row_of(session_factory, key).status == "claimed" and slack.calls("chat.postMessage") == []
    assert take_over_stale_claims(runtime, [summary], first + timedelta(minutes=1)) == []  # a fresh lease
    assert [o.status for o in take_over_stale_claims(runtime, [summary], first + CLAIM_LEASE * 2)] == ["sent"]
    assert len(slack.calls("chat.postMessage")) == 1


def test_a_claim_too_late_to_post_is_abandoned_not_posted(
    session_factory: sessionmaker[Session], runtime: JobRuntime, slack: SlackStub
) -> None:
    summary = spec_of(specs_of(session_factory), "weekly_summary")
    key = SentKey(TEAM, summary.region_id, "weekly_summary", FRIDAY)
    killed_mid_post(session_factory, key, FRIDAY_1600_NY)

    # Back three days later: Friday's summary would be news from the past.
    take_over_stale_claims(runtime, [summary], FRIDAY_1600_NY + timedelta(days=3))

    row = row_of(session_factory, key)
    assert row.status == "abandoned" and "grace" in (row.last_error or "")
    assert slack.calls("chat.postMessage") == []
