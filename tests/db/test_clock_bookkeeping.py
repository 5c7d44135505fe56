"""The clock's cheap tick: only workspaces whose scheduling configuration changed are rebuilt
(every input of a job spec counts as a change, nothing else does), and a job is looked at
for a missed firing only once a firing of it has come due since it was last looked at."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import PRESETS
from bot.domain.directory import add_region, ensure_workspace
from bot.scheduler import clock as clock_module
from bot.scheduler.bookkeeping import CatchUpWatch, ConfigWatch, specs_for
from bot.scheduler.clock import Clock, make_scheduler
from bot.scheduler.jobs import JobRuntime
from bot.scheduler.schedule_settings import update_schedule_settings
from models import Competition, Region, Workspace
from tests.support.clock import FakeClock
from tests.support.slack_stub import SlackStub

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # a Tuesday


def seed(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        for team_id in ("T1", "T2"):
            ensure_workspace(session, team_id)
            add_region(session, team_id, "AMER", "America/New_York", f"C_{team_id}", actor="test")
            add_competition(session, team_id, PRESETS["connect-day"], actor="test")


def change_channel(session: Session) -> None:
    region = session.query(Region).filter_by(team_id="T1").one()
    region.channel_id = "C_NEW"


def change_zone(session: Session) -> None:
    session.query(Region).filter_by(team_id="T1").one().tz = "Europe/London"


def change_window(session: Session) -> None:
    session.query(Competition).filter_by(team_id="T1").one().end_local = time(16, 0)


def deactivate(session: Session) -> None:
    session.query(Competition).filter_by(team_id="T1").one().active = False


def change_settings(session: Session) -> None:
    workspace = session.get(Workspace, "T1")
    assert workspace is not None
    update_schedule_settings(session, workspace, {"weekly_summary": {"at": "15:00"}})


def add_another_region(session: Session) -> None:
    add_region(session, "T1", "EMEA", "Europe/London", "C_EMEA", actor="test")


@pytest.mark.parametrize(
    "change", [change_channel, change_zone, change_window, deactivate, change_settings, add_another_region]
)
def test_a_change_to_any_input_of_a_workspaces_jobs_is_seen(session_factory: sessionmaker[Session], change) -> None:  # type: ignore[no-untyped-def]
    seed(session_factory)
    watch = ConfigWatch()
    with session_factory.begin() as session:
        assert watch.changes(session, None) == ({"T1", "T2"}, set())
        assert watch.changes(session, None) == (set(), set())  # nothing changed since
    with session_factory.begin() as session:
        change(session)
    with session_factory.begin() as session:
        assert watch.changes(session, None) == ({"T1"}, set())


def test_a_workspace_no_longer_served_is_gone(session_factory: sessionmaker[Session]) -> None:
    seed(session_factory)
    watch = ConfigWatch()
    with session_factory.begin() as session:
        watch.changes(session, {"T1", "T2"})
        assert watch.changes(session, {"T2"}) == (set(), {"T1"})
        assert watch.changes(session, {"T1", "T2"}) == ({"T1"}, set())


def test_bulk_specs_are_the_per_workspace_specs(session_factory: sessionmaker[Session]) -> None:
    from bot.scheduler.specs import load_job_specs

    seed(session_factory)
    with session_factory.begin() as session:
        bulk = specs_for(session, ["T1", "T2"])
        for team_id in ("T1", "T2"):
            assert bulk[team_id].specs == load_job_specs(session, team_id).specs


def test_a_job_is_looked_at_again_once_its_next_firing_is_due() -> None:
    watch = CatchUpWatch()
    watch.watch("a")
    watch.watch("b")
    assert sorted(watch.due(NOW)) == ["a", "b"]
    watch.watch("a", NOW + timedelta(hours=1))
    watch.watch("b", NOW + timedelta(days=2))
    assert watch.due(NOW + timedelta(minutes=59)) == []
    assert watch.due(NOW + timedelta(hours=1)) == ["a"]
    watch.watch("a", NOW + timedelta(days=7))
    watch.unwatch("b")
    assert watch.due(NOW + timedelta(days=3)) == []
    watch.reset()
    assert watch.due(NOW) == ["a"]


def test_a_quiet_tick_rebuilds_nothing_and_a_change_rebuilds_one_workspace(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(session_factory)
    rebuilt: list[list[str]] = []
    real_specs_for = clock_module.specs_for

    def counting(session: Session, team_ids: list[str]):  # type: ignore[no-untyped-def]
        rebuilt.append(sorted(team_ids))
        return real_specs_for(session, team_ids)

    monkeypatch.setattr(clock_module, "specs_for", counting)
    fake = FakeClock(NOW)
    with SlackStub() as slack:
        runtime = JobRuntime(session_factory, slack.client(), worker_id="test")
        clock = Clock(make_scheduler(blocking=False), runtime, clock=fake)
        first = clock.reconcile()
        assert rebuilt == [["T1", "T2"]] and len(first.added) == 12
        fake.advance(timedelta(minutes=1))
        quiet = clock.reconcile()
        assert rebuilt == [["T1", "T2"]] and (quiet.added, quiet.replaced, quiet.removed) == ([], [], [])
        with session_factory.begin() as session:
            change_channel(session)
        fake.advance(timedelta(minutes=1))
        clock.reconcile()
        assert rebuilt[-1] == ["T1"]
        assert {spec.channel_id for spec in clock._specs.values() if spec.team_id == "T1"} == {"C_NEW"}
