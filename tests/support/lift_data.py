"""Datasets for the lift report's tests: a region, its people, logs put straight into the
table (thousands of them, so no per-log domain call), and competition days as rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import insert
from sqlalchemy.orm import Session

from bot.domain.competition_days import ensure_day
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import CompetitionSpec
from bot.domain.directory import add_region, ensure_workspace
from models import Activity, Competition, Member, Region
from models.competitions import DAY_CLOSED

TEAM = "T0001"
NEW_YORK = ZoneInfo("America/New_York")
# Friday 27 Nov 2026, 16:00 in New York: the period's last day is Thursday 26 Nov.
NOW = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)


def local(day: date, hour: int, minute: int = 0, zone: ZoneInfo = NEW_YORK, fold: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone).replace(fold=fold).astimezone(UTC)


def make_region(session: Session, name: str = "AMER", tz: str = "America/New_York") -> Region:
    ensure_workspace(session, TEAM)
    return add_region(session, TEAM, name, tz, f"C_{name}", actor="test")


def add_people(session: Session, region: Region, role: str, count: int, prefix: str) -> list[Member]:
    people = [
        Member(team_id=TEAM, user_id=f"U{prefix}{n:03d}", display_name=f"{prefix} {n}", region_id=region.id, role=role)
        for n in range(count)
    ]
    session.add_all(people)
    session.flush()
    return people


@dataclass(frozen=True)
class Log:
    member: Member
    type: str
    quantity: float
    at: datetime


def store_logs(session: Session, logs: Iterable[Log]) -> None:
    rows = [
        {
            "team_id": TEAM,
            "member_id": log.member.id,
            "region_id": log.member.region_id,
            "type": log.type,
            "quantity": float(log.quantity),
            "occurred_at": log.at,
            "logged_by": log.member.user_id,
            "source": "slash",
        }
        for log in logs
    ]
    if rows:
        session.execute(insert(Activity), rows)


def competition(session: Session, name: str, weekday: int, metric: str) -> Competition:
    return add_competition(session, TEAM, CompetitionSpec(name, weekday, metric), actor="test")


def ran_on(session: Session, contest: Competition, region: Region, days: Iterable[date]) -> None:
    for day in days:
        ensure_day(session, contest, region, day).status = DAY_CLOSED
    session.flush()


def weekdays_back(last: date, weekday: int, weeks: int) -> list[date]:
    """The `weeks` dates of `weekday` up to `last`, latest first."""
    latest = last - timedelta(days=(last.weekday() - weekday) % 7)
    return [latest - timedelta(weeks=n) for n in range(weeks)]


def seed_connects(
    session: Session,
    reps: list[Member],
    first: date,
    last: date,
    competition_days: set[date],
    *,
    ordinary_rate: float,
    competition_rate: float,
    seed: int,
) -> None:
    """Every rep, every weekday: a call (so they are at work) and Poisson-many connects,
    at `competition_rate` on `competition_days` and `ordinary_rate` otherwise."""
    rng = np.random.default_rng(seed)
    logs = []
    day = first
    while day <= last:
        if day.weekday() < 5:
            rate = competition_rate if day in competition_days else ordinary_rate
            for rep in reps:
                logs.append(Log(rep, "call", 5, local(day, 9)))
                connects = int(rng.poisson(rate))
                if connects:
                    logs.append(Log(rep, "connect", connects, local(day, 14)))
        day += timedelta(days=1)
    store_logs(session, logs)
