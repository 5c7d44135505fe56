"""The demo's links to features that ship separately (competitions, scheduler, export).

Each `has_…` says whether that part is installed; the demo leaves a missing part out and
says so at the end, instead of faking it.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from importlib.util import find_spec

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.demo.world import World
from models import Member

JobRun = Callable[[datetime], None]


def _installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except ModuleNotFoundError:  # the parent package itself is missing
        return False


def has_competitions() -> bool:
    return _installed("bot.posting.competition_posts") and _installed("bot.domain.prizes")


def has_scheduler() -> bool:
    return _installed("bot.scheduler.jobs")


def has_export() -> bool:
    return _installed("bot.domain.export")


def add_competitions_and_prizes(session_factory: sessionmaker[Session], world: World) -> None:
    """What `pipeday competition add --preset …` and `pipeday prize add …` do."""
    from bot.domain.competitions import PRESETS, add_competition
    from bot.domain.prizes import add_prize

    with session_factory.begin() as session:
        for plan in world.competitions:
            add_competition(session, world.team_id, PRESETS[plan.preset], actor="demo")
        for prize in world.prizes:
            add_prize(session, world.team_id, prize.name, weight=prize.weight, stock=prize.stock, actor="demo")


def set_jobs(session_factory: sessionmaker[Session], world: World) -> None:
    """SDR or AE decides default goals; there is no slash command for it, so set it directly."""
    with session_factory.begin() as session:
        for person in world.people:
            session.execute(
                update(Member)
                .where(Member.team_id == world.team_id, Member.user_id == person.user_id)
                .values(job=person.job)
            )


def scheduled_jobs(system: object, world: World, first: datetime, last: datetime) -> list[tuple[datetime, JobRun]] | None:
    """Every scheduled job of the stretch with its firing time, or None without the scheduler."""
    if not has_scheduler():
        return None
    raise NotImplementedError("wire the scheduler in once bot.scheduler.jobs has landed")
