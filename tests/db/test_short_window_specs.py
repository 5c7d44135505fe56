"""The clock's jobs for a short competition window: the last call is scheduled after the
kickoff, and a configured last call outside the window is reported instead of scheduled."""

from __future__ import annotations

from datetime import time

from sqlalchemy.orm import Session

from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import CompetitionSpec
from bot.domain.directory import add_region, ensure_workspace
from bot.scheduler.schedule_settings import update_schedule_settings
from bot.scheduler.specs import load_job_specs

TEAM = "T1"


def phase_times(session: Session) -> dict[str, time]:
    return {spec.kind: spec.schedule.at for spec in load_job_specs(session, TEAM).specs if spec.competition_id}


def test_a_thirty_minute_window_calls_last_after_its_kickoff(session: Session) -> None:
    add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
    add_competition(session, TEAM, CompetitionSpec("Power Half", 3, "call", time(9, 0), time(9, 30)), actor="test")
    assert phase_times(session) == {
        "kickoff": time(9, 0),
        "standings": time(9, 15),
        "last_call": time(9, 23),
        "results": time(9, 30),
    }


def test_a_configured_last_call_before_the_kickoff_is_reported_not_scheduled(session: Session) -> None:
    add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
    competition = add_competition(
        session, TEAM, CompetitionSpec("Power Half", 3, "call", time(9, 0), time(9, 30)), actor="test"
    )
    update_schedule_settings(
        session, ensure_workspace(session, TEAM), {"last_call": "08:50"}, competition_id=competition.id
    )
    assert "last_call" not in phase_times(session)
    (problem,) = load_job_specs(session, TEAM).problems
    assert "last_call of Power Half in AMER not scheduled: 08:50 is not after the kickoff (09:00)" in problem.message
