"""The clock with many workspaces (SLACK_CLIENT_ID): every served workspace's posts go out with
its own token; an uninstalled or revoked workspace is skipped without disturbing the others;
rotating tokens are refreshed before they expire (an injected clock); removed workspaces are
purged after 30 days. Installs go through Bolt's OAuth flow objects against the stub."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.directory import add_region
from bot.installs.lifecycle import UNINSTALLED, mark_removed, record_install
from bot.installs.setup import MultiWorkspace, multi_workspace
from bot.scheduler.clock import Clock, make_scheduler
from bot.scheduler.lanes import WorkspaceLanes
from bot.scheduler.workspaces import clock_runtime, purge_due
from models import Region, SentLog, WorkspaceInstall
from models.installations import slack_bots
from tests.support.clock import FakeClock
from tests.support.installs import CLIENT_ID, CLIENT_SECRET, multi_settings
from tests.support.slack_stub import Call, SlackStub
from tests.support.waiting import wait_until

FRIDAY_1601_NY = datetime(2026, 11, 27, 21, 1, tzinfo=UTC)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


class Installs:
    def __init__(self, engine: Engine, session_factory: sessionmaker[Session], slack: SlackStub, fake: FakeClock):
        slack.oauth_app(CLIENT_ID, CLIENT_SECRET)
        self.settings = multi_settings(slack, str(engine.url))
        multi = multi_workspace(self.settings, engine, session_factory, fake)
        assert multi is not None
        self.multi: MultiWorkspace = multi
        self.session_factory, self.slack, self.fake = session_factory, slack, fake

    def install(self, **grant: object) -> Installation:
        """Slack's side (a code) and ours (oauth.v2.access, saved, the workspace recorded)."""
        flow = self.multi.installs.flow
        installation = flow.run_installation(self.slack.grant(**grant))  # type: ignore[arg-type]
        assert installation is not None
        flow.store_installation(None, installation)  # type: ignore[arg-type]
        return installation

    def region(self, team_id: str, name: str = "AMER") -> int:
        with self.session_factory.begin() as session:
            region = add_region(session, team_id, name, "America/New_York", f"C_{team_id}_{name}", actor="test")
            region.created_at = LONG_AGO
            session.flush()
            return region.id

    def clock(self) -> Clock:
        runtime = clock_runtime(self.settings, self.session_factory)
        return Clock(make_scheduler(blocking=False), runtime, clock=self.fake)

    def remove(self, team_id: str) -> None:
        """What the app_uninstalled listener does: tokens deleted, the workspace no longer served."""
        self.multi.installs.store.delete_all(enterprise_id=None, team_id=team_id)
        with self.session_factory.begin() as session:
            mark_removed(session, [team_id], UNINSTALLED, self.fake())


@pytest.fixture
def installs(engine: Engine, session_factory: sessionmaker[Session], slack: SlackStub) -> Iterator[Installs]:
    yield Installs(engine, session_factory, slack, FakeClock(FRIDAY_1601_NY))


def posts(slack: SlackStub) -> dict[str, str | None]:
    """Channel → the workspace whose token posted there (posts Slack took, not refused ones)."""
    taken = {message.channel for message in slack.posted_messages()}
    return {
        c.args["channel"]: slack.team_of_call(c.headers, c.args)
        for c in slack.calls("chat.postMessage")
        if c.args["channel"] in taken
    }


def summary_job(team_id: str, region_id: int) -> str:
    return f"pipeday:{team_id}:{region_id}:weekly_summary"


def test_the_clock_posts_for_every_installed_workspace_with_its_own_token(installs: Installs) -> None:
    installs.install(team_id="T_ACME")
    installs.install(team_id="T_GLOBEX")
    acme, globex = installs.region("T_ACME"), installs.region("T_GLOBEX")
    installs.region("T_GONE")  # data of a workspace Pipeday isn't installed in: nothing scheduled

    clock = installs.clock()
    report = clock.reconcile()  # Friday 16:01 in New York: both summaries are caught up
    assert {job for job in report.added if job.endswith("weekly_summary")} == {
        summary_job("T_ACME", acme),
        summary_job("T_GLOBEX", globex),
    }
    assert clock.lanes is not None and clock.lanes.wait_idle(10)
    assert posts(installs.slack) == {"C_T_ACME_AMER": "T_ACME", "C_T_GLOBEX_AMER": "T_GLOBEX"}
    with installs.session_factory.begin() as session:
        sent = session.scalars(select(SentLog).where(SentLog.kind == "weekly_summary")).all()
        assert sorted((row.team_id, row.status) for row in sent) == [("T_ACME", "sent"), ("T_GLOBEX", "sent")]


def test_a_workspace_removed_mid_run_is_skipped_and_the_others_post(installs: Installs) -> None:
    installs.install(team_id="T_ACME")
    installs.install(team_id="T_GLOBEX")
    acme, globex = installs.region("T_ACME"), installs.region("T_GLOBEX")
    installs.fake.set(FRIDAY_1601_NY - timedelta(days=1))  # nothing due when the jobs are built
    clock = installs.clock()
    clock.reconcile()
    installs.remove("T_ACME")  # app_uninstalled arrives while the jobs are scheduled

    installs.fake.set(FRIDAY_1601_NY)
    skipped = clock.fire(summary_job("T_ACME", acme))
    sent = clock.fire(summary_job("T_GLOBEX", globex))
    assert skipped is not None and skipped.status == "skipped" and "uninstalled" in skipped.detail
    assert sent is not None and sent.status == "sent"
    assert posts(installs.slack) == {"C_T_GLOBEX_AMER": "T_GLOBEX"}
    # The next tick drops the removed workspace's jobs and retries nothing for it.
    report = clock.reconcile()
    assert summary_job("T_ACME", acme) in report.removed
    assert clock.lanes is not None and clock.lanes.wait_idle(10)
    assert posts(installs.slack) == {"C_T_GLOBEX_AMER": "T_GLOBEX"}


def test_a_token_slack_revoked_before_its_event_arrived_is_not_retried(installs: Installs) -> None:
    installs.install(team_id="T_ACME")
    installs.install(team_id="T_GLOBEX")
    acme, globex = installs.region("T_ACME"), installs.region("T_GLOBEX")
    installs.fake.set(FRIDAY_1601_NY - timedelta(days=1))
    clock = installs.clock()
    clock.reconcile()
    installs.slack.uninstall("T_ACME")  # Slack's side only: the event hasn't reached us
    installs.fake.set(FRIDAY_1601_NY)
    assert clock.fire(summary_job("T_GLOBEX", globex)).status == "sent"  # type: ignore[union-attr]
    refused = clock.fire(summary_job("T_ACME", acme))
    assert refused is not None and refused.status == "skipped" and "token_revoked" in refused.detail
    with installs.session_factory.begin() as session:
        row = session.scalars(
            select(SentLog).where(SentLog.team_id == "T_ACME", SentLog.local_date == FRIDAY_1601_NY.date())
        ).one()
        assert row.status == "abandoned"
    assert posts(installs.slack) == {"C_T_GLOBEX_AMER": "T_GLOBEX"}


def test_an_org_wide_install_posts_in_each_granted_workspace(installs: Installs) -> None:
    installs.install(enterprise_id="E_ORG", org_wide=True)
    with installs.session_factory.begin() as session:
        for team_id in ("T_EAST", "T_WEST"):
            record_install(session, team_id, installs.fake(), enterprise_id="E_ORG", org_install=True)
    installs.region("T_EAST")
    installs.region("T_WEST")
    clock = installs.clock()
    clock.reconcile()
    assert clock.lanes is not None and clock.lanes.wait_idle(10)
    # One org token, each call naming the workspace it is for.
    assert posts(installs.slack) == {"C_T_EAST_AMER": "T_EAST", "C_T_WEST_AMER": "T_WEST"}


# --- token rotation ---------------------------------------------------------------------------


def refresh_calls(slack: SlackStub) -> list[Call]:
    return [c for c in slack.calls("oauth.v2.access") if c.args.get("grant_type") == "refresh_token"]


def test_rotating_tokens_are_refreshed_before_they_expire(installs: Installs) -> None:
    # Bolt's own check reads the system clock: keep the fake one near it.
    start = datetime.fromtimestamp(int(time.time()), UTC)
    installs.fake.set(start)
    installs.slack.token_clock = lambda: installs.fake().timestamp()
    installs.install(team_id="T_ACME", rotating=True)
    first = installs.slack.tokens_of("T_ACME")[0]
    clock = installs.clock()
    upkeep = {chore.__name__: chore for chore in clock.runtime.upkeep}["refresh_tokens"]

    installs.fake.set(start + timedelta(hours=9))  # expires in 3 h: not yet
    upkeep(installs.fake())
    assert refresh_calls(installs.slack) == []

    installs.fake.set(start + timedelta(hours=10, minutes=30))  # 1.5 h left: refresh now
    upkeep(installs.fake())
    assert len(refresh_calls(installs.slack)) == 1
    bot = installs.multi.installs.store.find_bot(enterprise_id=None, team_id="T_ACME")
    assert bot is not None and bot.bot_token != first and bot.bot_token in installs.slack.tokens_of("T_ACME")
    assert bot.bot_token_expires_at == int((installs.fake() + timedelta(hours=12)).timestamp())
    with installs.session_factory.begin() as session:
        row = session.get(WorkspaceInstall, "T_ACME")
        assert row is not None and row.refreshed_at == installs.fake() and row.token_error is None
    # When the first token has run out, the clock's client for the workspace has the new one.
    installs.fake.set(start + timedelta(hours=12, minutes=1))
    client = clock.runtime.client_for("T_ACME")
    assert client.token == bot.bot_token
    assert client.chat_postMessage(channel="C_ACME", text="hi")["ok"]
    assert installs.slack.refused_token_calls == []


def test_a_refresh_slack_refuses_is_kept_for_doctor(installs: Installs) -> None:
    start = datetime.fromtimestamp(int(time.time()), UTC)
    installs.fake.set(start)
    installs.install(team_id="T_ACME", rotating=True)
    installs.install(team_id="T_GLOBEX", rotating=True)
    installs.slack.fail("oauth.v2.access", "invalid_refresh_token", status=200, retry_after=None)
    clock = installs.clock()
    upkeep = {chore.__name__: chore for chore in clock.runtime.upkeep}["refresh_tokens"]
    installs.fake.set(start + timedelta(hours=11))
    upkeep(installs.fake())
    with installs.session_factory.begin() as session:
        rows = {row.team_id: row for row in session.scalars(select(WorkspaceInstall))}
    # The first refresh was refused; the other workspace's went through.
    failed = [team for team, row in rows.items() if row.token_error]
    assert len(failed) == 1 and "invalid_refresh_token" in (rows[failed[0]].token_error or "")
    assert rows[failed[0]].token_error_at == installs.fake()
    [ok] = [team for team in rows if team not in failed]
    assert rows[ok].refreshed_at == installs.fake()


# --- purge ------------------------------------------------------------------------------------


def test_a_removed_workspaces_data_is_purged_after_30_days(installs: Installs) -> None:
    installs.install(team_id="T_ACME")
    installs.install(team_id="T_GLOBEX")
    installs.region("T_ACME")
    installs.region("T_GLOBEX")
    installs.remove("T_ACME")
    removed_at = installs.fake()
    store = installs.multi.installs.store

    assert purge_due(store, installs.session_factory, removed_at + timedelta(days=29, hours=23)) == []
    assert purge_due(store, installs.session_factory, removed_at + timedelta(days=30)) == ["T_ACME"]
    with installs.session_factory.begin() as session:
        regions = sorted(session.scalars(select(Region.team_id)))
        acme = session.get(WorkspaceInstall, "T_ACME")
        bots = session.scalar(select(func.count()).select_from(slack_bots).where(slack_bots.c.team_id == "T_GLOBEX"))
    assert regions == ["T_GLOBEX"]
    assert acme is not None and acme.state == "purged" and acme.purged_at == removed_at + timedelta(days=30)
    assert bots == 1


# --- lanes ------------------------------------------------------------------------------------


def test_a_busy_workspace_never_holds_up_another_workspaces_posts() -> None:
    lanes = WorkspaceLanes(threads=4, per_workspace=2)
    release = threading.Event()
    calm_done = threading.Event()
    started: list[str] = []

    def busy(n: int) -> None:
        started.append(f"busy{n}")
        release.wait(10)  # e.g. waiting out Slack's Retry-After

    for n in range(6):
        assert lanes.submit("T_BUSY", f"busy{n}", lambda n=n: busy(n))
    assert not lanes.submit("T_BUSY", "busy0", lambda: None)  # already queued
    assert lanes.submit("T_CALM", "calm", calm_done.set)
    assert calm_done.wait(5), "the calm workspace's post waited for the busy one"
    # The calm post can finish before the busy workspace's second thread has begun: wait for
    # both, then give a third (which two threads at most must never allow) time to show up.
    wait_until(lambda: len(started) == 2, what=lambda: f"the busy workspace's two threads ({started})")
    time.sleep(0.05)
    assert len(started) == 2  # the busy workspace holds two threads at most
    release.set()
    assert lanes.wait_idle(10) and len(started) == 6
    lanes.shutdown()


def test_jobs_of_the_same_schedule_share_one_scheduler_job(installs: Installs) -> None:
    installs.install(team_id="T_ACME")
    installs.install(team_id="T_GLOBEX")
    acme, globex = installs.region("T_ACME"), installs.region("T_GLOBEX")
    installs.fake.set(FRIDAY_1601_NY - timedelta(days=1))
    clock = installs.clock()
    clock.reconcile()
    # Two workspaces' weekly summary and goals kickoff in New York: two scheduler jobs, not four.
    group_jobs = [job for job in clock.scheduler.get_jobs() if job.id.startswith("pipeday-group:")]
    assert len(group_jobs) == 2 and len(clock.scheduler.get_jobs()) == 2
    summary = next(job for job in group_jobs if ":weekly_summary:" in job.id)

    installs.fake.set(FRIDAY_1601_NY)
    summary.func(*summary.args)  # what APScheduler does at Friday 16:00
    assert clock.lanes is not None and clock.lanes.wait_idle(10)
    assert posts(installs.slack) == {"C_T_ACME_AMER": "T_ACME", "C_T_GLOBEX_AMER": "T_GLOBEX"}

    installs.remove("T_ACME")
    assert summary_job("T_ACME", acme) in clock.reconcile().removed
    assert clock.scheduler.get_job(summary.id) is not None  # still T_GLOBEX's
    installs.remove("T_GLOBEX")
    assert summary_job("T_GLOBEX", globex) in clock.reconcile().removed
    assert clock.scheduler.get_jobs() == []
