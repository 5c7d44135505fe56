"""The clock end to end: a real APScheduler scheduler, the database and the stub Web API.

Only `test_a_real_scheduler_fires_a_job_one_second_from_now` waits on real time (about a
second); everything else drives the clock's methods with an injected `now`.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.job import Job
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.activities import log_activity
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import CompetitionSpec
from bot.domain.directory import add_region, ensure_member, ensure_workspace, join_region
from bot.domain.goals import RampPolicy
from bot.domain.grammar import LogCommand
from bot.domain.ramp_store import configure_ramp
from bot.domain.wheel import SeedSource, new_seed
from bot.posting.live_standings import DEFERRED_TRIES, LiveStandingsRefresher, refresh_live_standings
from bot.scheduler.clock import RECONCILE_JOB_ID, Clock, make_scheduler, spec_trigger
from bot.scheduler.jobs import JobRuntime
from bot.scheduler.schedule_settings import update_schedule_settings
from bot.scheduler.specs import JobSpec
from bot.scheduler.timing import LocalSchedule
from models import CompetitionDay, Region, SentLog, Workspace
from tests.support.clock import FakeClock
from tests.support.slack_stub import SlackStub

TEAM = "T0001"
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
FRIDAY_1600_NY = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)


def add(session: Session, name: str, tz: str, channel: str | None, created: datetime = LONG_AGO) -> Region:
    region = add_region(session, TEAM, name, tz, channel, actor="test")
    region.created_at = created
    session.flush()
    return region


def make_clock(
    session_factory: sessionmaker[Session],
    slack: SlackStub,
    fake: FakeClock,
    trigger_for=spec_trigger,  # type: ignore[no-untyped-def]
    seed_source: SeedSource = new_seed,
) -> Clock:
    runtime = JobRuntime(session_factory, slack.client(), worker_id="clock-test", seed_source=seed_source, clock=fake)
    clock = Clock(make_scheduler(blocking=False), runtime, clock=fake, trigger_for=trigger_for)
    return clock


def test_a_real_scheduler_fires_a_job_one_second_from_now(
    session_factory: sessionmaker[Session], slack: SlackStub
) -> None:
    with session_factory.begin() as session:
        # Created an hour before this Friday's 16:00: nothing from earlier weeks to catch up.
        add(session, "AMER", "America/New_York", "C_AMER", created=FRIDAY_1600_NY - timedelta(hours=1))
    fake = FakeClock(FRIDAY_1600_NY - timedelta(seconds=5))
    fire_at = datetime.now(UTC) + timedelta(seconds=1)

    def one_second_from_now(spec: JobSpec) -> BaseTrigger:
        # The summary fires on the real clock a second from now; the rest keep their cron.
        return DateTrigger(run_date=fire_at) if spec.kind == "weekly_summary" else spec_trigger(spec)

    clock = make_clock(session_factory, slack, fake, one_second_from_now)
    clock.start()
    try:
        assert slack.calls("chat.postMessage") == []  # nothing was due at start-up
        fake.set(FRIDAY_1600_NY + timedelta(seconds=1))  # ...and by the time the job fires, it is due
        posted = slack.wait_for("chat.postMessage", timeout=5)
        slack.wait_for("files.completeUploadExternal", timeout=5)
    finally:
        clock.scheduler.shutdown(wait=True)
    assert datetime.now(UTC) >= fire_at
    assert posted[0].args["channel"] == "C_AMER"
    assert "Weekly summary — AMER" in posted[0].args["text"]
    with session_factory.begin() as session:
        row = session.scalars(select(SentLog)).one()
        assert (row.kind, row.status, row.local_date.isoformat(), row.claimed_by) == (
            "weekly_summary",
            "sent",
            "2026-11-27",
            "clock-test",
        )
    assert len(slack.calls("chat.postMessage")) == 1


def test_jobs_are_built_per_region_competition_and_kind_with_stable_ids(
    session_factory: sessionmaker[Session], slack: SlackStub
) -> None:
    with session_factory.begin() as session:
        amer = add(session, "AMER", "America/New_York", "C_AMER")
        emea = add(session, "EMEA", "Europe/London", "C_EMEA")
        add(session, "APAC", "Asia/Kolkata", None)  # no channel: nothing to post there
        competition = add_competition(
            session, TEAM, CompetitionSpec("Connect Day", 3, "connect", regions=("AMER",)), actor="test"
        )
        ids = (amer.id, emea.id, competition.id)
    clock = make_clock(session_factory, slack, FakeClock(FRIDAY_1600_NY - timedelta(hours=3)))
    report = clock.reconcile()
    amer_id, emea_id, competition_id = ids
    expected = {
        f"pipeday:{TEAM}:{amer_id}:weekly_summary",
        f"pipeday:{TEAM}:{amer_id}:goals_kickoff",
        f"pipeday:{TEAM}:{emea_id}:weekly_summary",
        f"pipeday:{TEAM}:{emea_id}:goals_kickoff",
        *(
            f"pipeday:{TEAM}:{amer_id}:{kind}:c{competition_id}"
            for kind in ("kickoff", "standings", "last_call", "results")
        ),
    }
    assert set(report.added) == expected
    assert {job.id for job in clock.scheduler.get_jobs()} == expected
    assert [p.message for p in report.problems] == [
        "region APAC has no channel: nothing is scheduled there (pipeday region set APAC --channel C…)"
    ]
    job = clock.scheduler.get_job(f"pipeday:{TEAM}:{amer_id}:kickoff:c{competition_id}")
    assert (job.misfire_grace_time, job.coalesce, job.max_instances) == (3600, True, 1)
    assert job.trigger.timezone == ZoneInfo("America/New_York")
    # Reconciling again with nothing changed keeps every job as it is.
    again = clock.reconcile()
    assert (again.added, again.replaced, again.removed) == ([], [], [])


def test_configuration_changes_are_picked_up_without_a_restart(
    session_factory: sessionmaker[Session], slack: SlackStub
) -> None:
    with session_factory.begin() as session:
        amer_id = add(session, "AMER", "America/New_York", "C_AMER").id
    clock = make_clock(session_factory, slack, FakeClock(FRIDAY_1600_NY - timedelta(days=2)))
    clock.start(paused=True)  # a running scheduler, so next run times are real
    try:
        summary_id = f"pipeday:{TEAM}:{amer_id}:weekly_summary"
        before = clock.scheduler.get_job(summary_id).next_run_time
        assert before.astimezone(ZoneInfo("America/New_York")).strftime("%a %H:%M") == "Fri 16:00"
        assert RECONCILE_JOB_ID in {job.id for job in clock.scheduler.get_jobs()}

        with session_factory.begin() as session:
            workspace = session.get(Workspace, TEAM)
            assert workspace is not None
            update_schedule_settings(session, workspace, {"weekly_summary": {"weekday": "thu", "at": "15:30"}})
            tokyo_id = add(session, "JAPAN", "Asia/Tokyo", "C_JP").id
        report = clock.reconcile()
        assert report.replaced == [summary_id]
        assert set(report.added) == {
            f"pipeday:{TEAM}:{tokyo_id}:weekly_summary",
            f"pipeday:{TEAM}:{tokyo_id}:goals_kickoff",
        }
        moved = clock.scheduler.get_job(summary_id).next_run_time.astimezone(ZoneInfo("America/New_York"))
        assert moved.strftime("%a %H:%M") == "Thu 15:30"
        tokyo = clock.scheduler.get_job(f"pipeday:{TEAM}:{tokyo_id}:weekly_summary").next_run_time
        assert tokyo.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%a %H:%M") == "Thu 15:30"

        with session_factory.begin() as session:
            workspace = session.get(Workspace, TEAM)
            assert workspace is not None
            update_schedule_settings(session, workspace, {"goals_kickoff": {"enabled": False}})
            session.delete(session.get(Region, tokyo_id))
        report = clock.reconcile()
        assert set(report.removed) == {
            f"pipeday:{TEAM}:{amer_id}:goals_kickoff",
            f"pipeday:{TEAM}:{tokyo_id}:weekly_summary",
            f"pipeday:{TEAM}:{tokyo_id}:goals_kickoff",
        }
        assert {job.id for job in clock.scheduler.get_jobs()} == {summary_id, RECONCILE_JOB_ID}
    finally:
        clock.scheduler.shutdown(wait=False)


def test_a_bad_window_is_reported_and_the_rest_still_scheduled(
    session_factory: sessionmaker[Session], slack: SlackStub
) -> None:
    with session_factory.begin() as session:
        amer_id = add(session, "AMER", "America/New_York", "C_AMER").id
        # add_competition refuses a window that ends before it starts, but rows written by
        # hand (or before that rule) exist.
        competition = add_competition(
            session, TEAM, CompetitionSpec("Night Owls", 1, "call", start=time(4, 0), end=time(9, 0)), actor="test"
        )
        competition.end_local = time(3, 0)
        owls = competition.id
    report = make_clock(session_factory, slack, FakeClock(FRIDAY_1600_NY)).reconcile()
    assert any("competition Night Owls" in p.message and "end after it starts" in p.message for p in report.problems)
    assert f"pipeday:{TEAM}:{amer_id}:weekly_summary" in report.added
    assert not any(f":c{owls}" in job_id for job_id in report.added)


# A Sunday competition from midnight, in zones where a daylight-saving change touches it: the
# kickoff's UTC instant on spring-forward day and on fall-back day, then a week later.
MIDNIGHT_KICKOFFS = {
    # 00:00 is skipped on 8 March (the first moment is 01:00 CDT) and happens twice on 1 November.
    "America/Havana": (
        datetime(2026, 3, 8, 5, tzinfo=UTC),
        datetime(2026, 11, 1, 4, tzinfo=UTC),
        datetime(2026, 11, 8, 5, tzinfo=UTC),
    ),
    # 00:00 is skipped on 6 September (the first moment is 01:00 -03); it goes back at Saturday 24:00.
    "America/Santiago": (
        datetime(2026, 9, 6, 4, tzinfo=UTC),
        datetime(2026, 4, 5, 4, tzinfo=UTC),
        datetime(2026, 4, 12, 4, tzinfo=UTC),
    ),
    # The changes are at 02:00 and 03:00: midnight itself is untouched, the standings are not.
    "Australia/Sydney": (
        datetime(2026, 10, 3, 14, tzinfo=UTC),
        datetime(2026, 4, 4, 13, tzinfo=UTC),
        datetime(2026, 4, 11, 14, tzinfo=UTC),
    ),
}


@pytest.mark.parametrize("tz", MIDNIGHT_KICKOFFS)
def test_a_midnight_competition_fires_once_and_on_time_on_both_dst_days(
    tz: str, session_factory: sessionmaker[Session], slack: SlackStub
) -> None:
    spring, fall, week_after_fall = MIDNIGHT_KICKOFFS[tz]
    with session_factory.begin() as session:
        region_id = add(session, "NIGHT", tz, "C_NIGHT").id
        competition = add_competition(
            session, TEAM, CompetitionSpec("All Day", 6, "call", start=time(0, 0), end=time(3, 0)), actor="test"
        )
        competition_id = competition.id
    clock = make_clock(session_factory, slack, FakeClock(LONG_AGO))
    report = clock.reconcile()
    assert report.problems == []
    kickoff = clock.scheduler.get_job(f"pipeday:{TEAM}:{region_id}:kickoff:c{competition_id}")

    def firings(after: datetime, count: int) -> list[datetime]:
        fired, previous, now = [], None, after
        for _ in range(count):
            fire = kickoff.trigger.get_next_fire_time(previous, now)
            fired.append(fire.astimezone(UTC))
            previous, now = fire, fire + timedelta(seconds=1)
        return fired

    assert firings(spring - timedelta(days=1), 1) == [spring]
    assert firings(fall - timedelta(days=1), 2) == [fall, week_after_fall]  # once on fall-back day
    zone = ZoneInfo(tz)
    assert spring.astimezone(zone).weekday() == fall.astimezone(zone).weekday() == 6
    # Standings at 01:30 and the last call at 02:15 fire once on the fall-back day as well.
    for kind in ("standings", "last_call", "results"):
        job = clock.scheduler.get_job(f"pipeday:{TEAM}:{region_id}:{kind}:c{competition_id}")
        first = job.trigger.get_next_fire_time(None, fall - timedelta(days=1))
        second = job.trigger.get_next_fire_time(first, first + timedelta(seconds=1))
        assert second - first >= timedelta(days=6), (kind, first, second)


def test_a_midnight_kickoff_skipped_by_spring_forward_posts_at_the_first_moment_of_the_day(
    session_factory: sessionmaker[Session], slack: SlackStub
) -> None:
    with session_factory.begin() as session:
        region_id = add(session, "HAVANA", "America/Havana", "C_HAV").id
        competition = add_competition(
            session, TEAM, CompetitionSpec("All Day", 6, "call", start=time(0, 0), end=time(23, 59)), actor="test"
        )
        competition.created_at = LONG_AGO
        competition_id = competition.id
    first_moment = datetime(2026, 3, 8, 5, tzinfo=UTC)  # 01:00 CDT: 00:00 never happens that Sunday
    fake = FakeClock(first_moment - timedelta(minutes=5))
    clock = make_clock(session_factory, slack, fake)
    clock.reconcile()
    job = clock.scheduler.get_job(f"pipeday:{TEAM}:{region_id}:kickoff:c{competition_id}")
    assert job.trigger.get_next_fire_time(None, fake()) == first_moment
    fake.set(first_moment + timedelta(seconds=1))
    outcome = clock.fire(job.id)
    assert outcome is not None and outcome.status == "sent" and outcome.local_date == date(2026, 3, 8)
    assert clock.fire(job.id).status == "duplicate"  # type: ignore[union-attr]
    with session_factory.begin() as session:
        day = session.scalars(select(CompetitionDay)).one()
        assert (day.local_date, day.window_start) == (date(2026, 3, 8), first_moment)
    assert sum("All Day starts now" in c.args.get("text", "") for c in slack.calls("chat.postMessage")) == 1


def test_the_clock_tick_catches_up_a_summary_missed_while_down(
    session_factory: sessionmaker[Session], slack: SlackStub
) -> None:
    with session_factory.begin() as session:
        add(session, "AMER", "America/New_York", "C_AMER", created=FRIDAY_1600_NY - timedelta(days=1))
    clock = make_clock(session_factory, slack, FakeClock(FRIDAY_1600_NY + timedelta(minutes=20)))
    report = clock.reconcile()  # what start() does first
    assert [(o.job_id.rsplit(":", 1)[-1], o.status) for o in report.outcomes] == [("weekly_summary", "sent")]
    assert len(slack.calls("chat.postMessage")) == 1
    # The cron job for the same firing (e.g. still in the executor's queue) then does nothing.
    job_id = next(o.job_id for o in report.outcomes)
    outcome = clock.fire(job_id)
    assert outcome is not None and outcome.status == "duplicate"
    assert len(slack.calls("chat.postMessage")) == 1


@pytest.mark.parametrize(
    ("tz", "kind_weekday_at", "expected_utc"),
    [
        # Weekly summary, Friday 16:00 local, around each zone's spring-forward.
        ("America/New_York", (4, time(16)), ["2026-03-06 21:00", "2026-03-13 20:00", "2026-03-20 20:00"]),
        ("Europe/London", (4, time(16)), ["2026-03-27 16:00", "2026-04-03 15:00", "2026-04-10 15:00"]),
        ("Asia/Kolkata", (4, time(16)), ["2026-03-06 10:30", "2026-03-13 10:30", "2026-03-20 10:30"]),
        # Goals kickoff, Monday 09:00 local, the morning after spring-forward and after fall-back.
        ("America/New_York", (0, time(9)), ["2026-03-02 14:00", "2026-03-09 13:00", "2026-03-16 13:00"]),
        ("Europe/London", (0, time(9)), ["2026-10-19 08:00", "2026-10-26 09:00", "2026-11-02 09:00"]),
        # A Sunday kickoff at 08:00, hours after London falls back at 02:00 that same morning.
        ("Europe/London", (6, time(8)), ["2026-10-18 07:00", "2026-10-25 08:00", "2026-11-01 08:00"]),
        ("America/New_York", (6, time(8)), ["2026-10-25 12:00", "2026-11-01 13:00", "2026-11-08 13:00"]),
    ],
)
def test_clock_triggers_keep_local_wall_time_across_dst(
    tz: str, kind_weekday_at: tuple[int, time], expected_utc: list[str]
) -> None:
    weekday, at = kind_weekday_at
    spec = JobSpec(TEAM, 1, "R", "C1", LocalSchedule("weekly_summary", weekday, at, tz), timedelta(hours=1), LONG_AGO)
    trigger = spec_trigger(spec)
    start = datetime.strptime(expected_utc[0], "%Y-%m-%d %H:%M").replace(tzinfo=UTC) - timedelta(days=1)
    fired, previous = [], None
    now = start
    for _ in expected_utc:
        fire = trigger.get_next_fire_time(previous, now)
        fired.append(fire.astimezone(UTC).strftime("%Y-%m-%d %H:%M"))
        assert fire.astimezone(ZoneInfo(tz)).time() == at  # always the same wall-clock time
        previous, now = fire, fire + timedelta(seconds=1)
    assert fired == expected_utc


def test_web_workers_never_load_a_scheduler() -> None:
    root = Path(__file__).resolve().parents[2]
    probe = (
        "import sys, bot.app, bot.web; "
        "print(sorted(m for m in sys.modules if m.startswith('apscheduler.schedulers') or m == 'bot.scheduler.clock'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    assert result.stdout.strip() == "[]"


def test_a_workspace_without_regions_schedules_nothing(
    session_factory: sessionmaker[Session], slack: SlackStub
) -> None:
    with session_factory.begin() as session:
        ensure_workspace(session, TEAM)
    report = make_clock(session_factory, slack, FakeClock(FRIDAY_1600_NY)).reconcile()
    assert (report.added, report.problems, report.outcomes) == ([], [], [])


def test_a_competition_day_runs_from_kickoff_to_results_through_the_clock(
    session_factory: sessionmaker[Session], slack: SlackStub
) -> None:
    with session_factory.begin() as session:
        amer_id = add(session, "AMER", "America/New_York", "C_AMER").id
        competition = add_competition(session, TEAM, CompetitionSpec("Connect Day", 3, "connect"), actor="test")
        competition.created_at = LONG_AGO
        competition_id = competition.id
        ana = join_region(session, TEAM, "U_ANA", "Ana", "AMER")
        assert ana.region.id == amer_id
    # Thursday 26 Nov 2026 in New York (EST): 08:00 kickoff, 12:45 standings, 16:30 last call, 17:30 results.
    fake = FakeClock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    seed = "c10c" * 16
    clock = make_clock(session_factory, slack, fake, seed_source=lambda: seed)
    clock.reconcile()
    job = f"pipeday:{TEAM}:{amer_id}:{{}}:c{competition_id}"

    def fire(kind: str, at_utc: datetime) -> str:
        fake.set(at_utc)
        outcome = clock.fire(job.format(kind))
        assert outcome is not None
        return outcome.status

    assert fire("kickoff", datetime(2026, 11, 26, 13, 0, 2, tzinfo=UTC)) == "sent"
    with session_factory.begin() as session:
        member = ensure_member(session, TEAM, "U_ANA", "Ana")
        log_activity(
            session, member, LogCommand("connect", 6), now=datetime(2026, 11, 26, 15, tzinfo=UTC), idempotency_key=None
        )
    assert fire("standings", datetime(2026, 11, 26, 17, 45, 1, tzinfo=UTC)) == "sent"
    assert fire("last_call", datetime(2026, 11, 26, 21, 30, 1, tzinfo=UTC)) == "sent"
    assert fire("results", datetime(2026, 11, 26, 22, 30, 1, tzinfo=UTC)) == "sent"
    assert fire("results", datetime(2026, 11, 26, 22, 31, tzinfo=UTC)) == "duplicate"

    texts = [call.args.get("text", "") for call in slack.calls("chat.postMessage")]
    assert any("Connect Day starts now in AMER" in text for text in texts), texts
    assert any("Last call" in text for text in texts), texts
    assert all(call.args["channel"] == "C_AMER" for call in slack.calls("chat.postMessage"))
    with session_factory.begin() as session:
        rows = {
            row.kind: row for row in session.scalars(select(SentLog).where(SentLog.local_date == date(2026, 11, 26)))
        }
        day = session.scalars(select(CompetitionDay)).one()
        assert day.status == "closed" and day.results_ts is not None and day.closed_by == "scheduler"
        assert day.commitment == hashlib.sha256(seed.encode("utf-8")).hexdigest()  # the runtime's seed source
    assert {kind: row.status for kind, row in rows.items()} == dict.fromkeys(
        ("kickoff", "standings", "last_call", "results"), "sent"
    )
    assert all(row.subject == f"competition:{competition_id}" for row in rows.values())


class LiveDay:
    """A Connect Day in AMER with its live message, a clock, and the web process's side."""

    def __init__(self, session_factory: sessionmaker[Session], slack: SlackStub) -> None:
        with session_factory.begin() as session:
            add(session, "AMER", "America/New_York", "C_AMER")
            competition = add_competition(session, TEAM, CompetitionSpec("Connect Day", 3, "connect"), actor="test")
            competition.created_at = LONG_AGO
            join_region(session, TEAM, "U_ANA", "Ana", "AMER")
        self.session_factory, self.slack = session_factory, slack
        self.fake = FakeClock(at(17, 44))
        self.clock = make_clock(session_factory, slack, self.fake)
        self.clock.reconcile()
        self.web = slack.client()

    def log_from_the_web(self, when: datetime) -> None:
        """What a log does in the web process: mark the day, then try the (throttled) edit."""
        with self.session_factory.begin() as session:
            member = ensure_member(session, TEAM, "U_ANA", "Ana")
            logged = log_activity(session, member, LogCommand("connect", 1), now=when, idempotency_key=None).activity
            day_ids = LiveStandingsRefresher.mark_touched(session, logged)
        assert len(day_ids) == 1
        refresh_live_standings(self.web, self.session_factory, day_ids[0], when)

    def fire_standings_throttled(self) -> Job:
        self.log_from_the_web(at(17, 44, 50))  # posts the live message
        self.log_from_the_web(at(17, 44, 55))  # pending, throttled until 17:45:20
        self.fake.set(at(17, 45, 1))
        standings = next(job.id for job in self.clock.scheduler.get_jobs() if ":standings:" in job.id)
        assert self.clock.fire(standings).status == "sent"  # type: ignore[union-attr]
        return self.next_retry()

    def next_retry(self) -> Job:
        [retry] = self.deferred()
        self.clock.scheduler.remove_job(retry.id)  # the test runs it, at the time it chooses
        return retry

    def deferred(self) -> list[Job]:
        return [job for job in self.clock.scheduler.get_jobs() if isinstance(job.trigger, DateTrigger)]

    def edits(self) -> int:
        return len(self.slack.calls("chat.update"))


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, 26, hour, minute, second, tzinfo=UTC)  # Thursday, EST = UTC-5


def test_a_throttled_standings_edit_is_retried_at_the_time_it_runs_until_it_lands(
    session_factory: sessionmaker[Session], slack: SlackStub
) -> None:
    day = LiveDay(session_factory, slack)
    first_retry = day.fire_standings_throttled()
    assert first_retry.trigger.run_date == at(17, 45, 20)

    # The web process edits at 17:45:20 and a new log is pending again when the retry runs, late.
    day.log_from_the_web(at(17, 45, 20))
    day.log_from_the_web(at(17, 45, 22))
    edits = day.edits()
    day.fake.set(at(17, 45, 25))
    first_retry.func()
    second_retry = day.next_retry()  # throttled again: it asks for another try instead of giving up
    assert second_retry.trigger.run_date == at(17, 45, 50)
    assert day.edits() == edits

    day.fake.set(at(17, 45, 51))
    second_retry.func()
    assert day.edits() == edits + 1
    assert "Ana — 4 connects" in json.dumps(slack.calls("chat.update")[-1].args["blocks"], ensure_ascii=False)
    assert day.deferred() == []
    with session_factory.begin() as session:
        row = session.scalars(select(CompetitionDay)).one()
        assert (row.live_pending, row.live_last_edit_at) == (False, at(17, 45, 51))


def test_a_standings_edit_that_never_gets_its_turn_stops_retrying(
    session_factory: sessionmaker[Session], slack: SlackStub, caplog: pytest.LogCaptureFixture
) -> None:
    day = LiveDay(session_factory, slack)
    retry = day.fire_standings_throttled()
    tries = 0
    for edited_at in (at(17, 45, 20), at(17, 45, 50), at(17, 46, 20)):
        # Each time, the web process takes the slot just before the retry runs, and more is pending.
        day.log_from_the_web(edited_at)
        day.log_from_the_web(edited_at + timedelta(seconds=1))
        day.fake.set(edited_at + timedelta(seconds=2))
        retry.func()
        tries += 1
        if not day.deferred():
            break
        retry = day.next_retry()

    assert tries == DEFERRED_TRIES
    assert "still not current after 3 tries" in caplog.text


def test_goals_kickoff_posts_this_weeks_goals_with_the_ramp(
    session_factory: sessionmaker[Session], slack: SlackStub
) -> None:
    with session_factory.begin() as session:
        amer_id = add(session, "AMER", "America/New_York", "C_AMER").id
        join_region(session, TEAM, "U_ANA", "Ana", "AMER")
        sdr = join_region(session, TEAM, "U_BEN", "Ben", "AMER")
        ensure_member(session, TEAM, "U_BEN", "Ben").job = "sdr"
        assert sdr.region.id == amer_id
        configure_ramp(
            session,
            TEAM,
            RampPolicy(start_fraction=0.5, step=0.1, weeks_to_step=1, team_hit_threshold=0.01),
            actor="test",
            now=datetime(2026, 11, 10, tzinfo=UTC),
        )
        ana = ensure_member(session, TEAM, "U_ANA", "Ana")
        # Last week (16–22 Nov) Ana logged enough for the team to clear the 1% threshold.
        log_activity(
            session, ana, LogCommand("call", 20), now=datetime(2026, 11, 17, 15, tzinfo=UTC), idempotency_key=None
        )
    monday_0900 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # 09:00 EST
    fake = FakeClock(monday_0900 - timedelta(minutes=1))
    clock = make_clock(session_factory, slack, fake)
    clock.reconcile()
    fake.set(monday_0900 + timedelta(seconds=3))
    outcome = clock.fire(f"pipeday:{TEAM}:{amer_id}:goals_kickoff")
    assert outcome is not None and outcome.status == "sent", outcome
    posted = [c for c in slack.calls("chat.postMessage") if "goals" in c.args.get("text", "")]
    assert len(posted) == 1 and posted[0].args["channel"] == "C_AMER"
    blocks = json.dumps(posted[0].json_arg("blocks"), ensure_ascii=False)
    # The ramp stepped from 50% to 60% for this week: AE calls 20 × 0.6 = 12, SDR calls 60 × 0.6 = 36.
    assert "*AEs* (1)" in blocks and "12 calls" in blocks
    assert "*SDRs* (1)" in blocks and "36 calls" in blocks
    assert "from 50% to 60%" in blocks


def test_the_ramp_waits_until_the_judged_week_is_over_in_every_region(
    session_factory: sessionmaker[Session], slack: SlackStub
) -> None:
    with session_factory.begin() as session:
        sgp_id = add(session, "APAC", "Asia/Singapore", "C_APAC").id
        la_id = add(session, "WEST", "America/Los_Angeles", "C_WEST").id
        join_region(session, TEAM, "U_ANA", "Ana", "WEST")
        configure_ramp(
            session,
            TEAM,
            RampPolicy(start_fraction=0.5, step=0.1, weeks_to_step=1, team_hit_threshold=0.01),
            actor="test",
            now=datetime(2026, 11, 10, tzinfo=UTC),
        )
        ana = ensure_member(session, TEAM, "U_ANA", "Ana")
        log_activity(
            session, ana, LogCommand("call", 20), now=datetime(2026, 11, 17, 18, tzinfo=UTC), idempotency_key=None
        )
    # Monday 09:00 in Singapore is Sunday 17:00 in Los Angeles: the week isn't over there yet.
    singapore_0900 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    fake = FakeClock(singapore_0900 - timedelta(minutes=1))
    clock = make_clock(session_factory, slack, fake)
    clock.reconcile()
    fake.set(singapore_0900 + timedelta(seconds=3))
    assert clock.fire(f"pipeday:{TEAM}:{sgp_id}:goals_kickoff").status == "sent"  # type: ignore[union-attr]
    apac = json.dumps(slack.calls("chat.postMessage")[-1].json_arg("blocks"), ensure_ascii=False)
    assert "from 50% to 60%" not in apac
    los_angeles_0900 = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    fake.set(los_angeles_0900 + timedelta(seconds=3))
    assert clock.fire(f"pipeday:{TEAM}:{la_id}:goals_kickoff").status == "sent"  # type: ignore[union-attr]
    west = json.dumps(slack.calls("chat.postMessage")[-1].json_arg("blocks"), ensure_ascii=False)
    assert "from 50% to 60%" in west
