"""Plausible prospecting activity for the demo week, as the `/pg` commands people would type.

Pure: a world, the dates to play and a seeded `random.Random` give the same commands every
time. SDRs dial and email, AEs book and qualify meetings, leaders log hours and join in on
competition days; Connect Day brings more connects and Booking Day more meetings.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.demo.world import Person, World
from bot.domain.windows import local_time_utc

WORKDAY_START = time(8, 5)
WORKDAY_END = time(17, 20)
LOGS_PER_DAY = 5.0  # an average rep's logs on an ordinary weekday
COMPETITION_DAY_BOOST = 1.5
# The live standings message may be edited once per 30 s; spacing logs within a region
# by at least this keeps every edit immediate (no deferred timers in the demo).
MIN_GAP_IN_REGION = timedelta(seconds=40)

WEIGHTS: dict[str, dict[str, float]] = {
    "sdr": {"call": 30, "email": 24, "connect": 16, "meeting": 8, "account": 10, "referral": 4, "qbm": 2},
    "ae": {
        "call": 14,
        "email": 18,
        "connect": 14,
        "meeting": 14,
        "qbm": 9,
        "opp": 5,
        "account": 8,
        "referral": 6,
        "pov": 3,
    },
    "leader": {"hour": 40, "connect": 30, "call": 18, "meeting": 12},
}
QUANTITIES: dict[str, tuple[int, int]] = {
    "call": (3, 15),
    "email": (5, 25),
    "account": (2, 8),
    "connect": (1, 4),
    "meeting": (1, 2),
    "referral": (1, 2),
    "qbm": (1, 1),
    "opp": (1, 1),
    "pov": (1, 1),
}
WORDS = {
    "call": ("calls", "dials"),
    "email": ("emails",),
    "account": ("accounts",),
    "connect": ("connects", "convos"),
    "meeting": ("meetings", "mtgs", "booked"),
    "referral": ("intros", "referrals"),
    "qbm": ("qbm",),
    "opp": ("opp",),
    "pov": ("pov",),
}
SINGULAR = {
    "connects": "connect",
    "convos": "convo",
    "meetings": "meeting",
    "mtgs": "mtg",
    "intros": "intro",
    "referrals": "referral",
    "calls": "call",
    "dials": "dial",
    "emails": "email",
    "accounts": "account",
}
NOTES = (
    "Acme Corp",
    "Globex",
    "Initech follow-up",
    "Umbrella — CFO",
    "Hooli",
    "Stark Industries",
    "Wayne Enterprises",
    "Soylent — warm intro",
    "Vandelay Industries",
    "Cyberdyne",
)
DEAL_AMOUNTS = ("$18k", "$42k", "$65k", "$120k", "$1.2M")


@dataclass(frozen=True, order=True)
class PlannedCommand:
    at: datetime  # aware UTC
    user_id: str
    text: str
    # Shown in the terminal with its (ephemeral) reply, as a sample of what people see.
    spotlight: bool = False


def plan_activity(world: World, days: Sequence[date], rng: random.Random) -> list[PlannedCommand]:
    """Every command of the stretch, in time order."""
    competition_metrics = {c.weekday: c.metric for c in world.competitions}
    commands: list[PlannedCommand] = []
    for day in days:
        metric = competition_metrics.get(day.weekday())
        for region in world.regions:
            zone = ZoneInfo(region.tz)
            planned = [
                command
                for person in world.in_region(region.name)
                if person.role in ("rep", "leader")
                for command in person_day(person, day, zone, metric, rng)
            ]
            planned += _spotlight_commands(world, region.name, day, zone, rng)
            commands += _spaced(sorted(planned))
    commands += _closing_deals(world, days, rng)
    return sorted(commands)


def person_day(
    person: Person, day: date, zone: ZoneInfo, metric: str | None, rng: random.Random
) -> list[PlannedCommand]:
    if day.weekday() >= 5:
        return []  # prospecting is a weekday sport, even in a demo
    expected = LOGS_PER_DAY * person.energy * (COMPETITION_DAY_BOOST if metric else 1.0)
    if person.role == "leader":
        expected = 2.0 * (2.5 if metric else 1.0)
    count = max(0, round(rng.gauss(expected, expected / 4)))
    return [
        PlannedCommand(_local_moment(day, zone, rng), person.user_id, _log_text(person, metric, rng))
        for _ in range(count)
    ]


def _log_text(person: Person, metric: str | None, rng: random.Random) -> str:
    weights = dict(WEIGHTS["leader" if person.role == "leader" else person.job])
    if metric:
        weights[metric] = weights.get(metric, 5) * 3
    kind = rng.choices(list(weights), weights=list(weights.values()))[0]
    if kind == "hour":
        return f"{rng.choice((1, 1.5, 2, 2.5, 3)):g}h"
    low, high = QUANTITIES[kind]
    if kind == metric == "meeting":
        high += 1
    quantity = rng.randint(low, high)
    word = rng.choice(WORDS[kind])
    if quantity == 1:
        word = SINGULAR.get(word, word)
    note = f" {rng.choice(NOTES)}" if kind in ("meeting", "qbm", "opp", "pov") and rng.random() < 0.6 else ""
    if rng.random() < 0.15:
        return f"log {quantity} {word}{note}"
    return f"{quantity} {word}{note}"


def _spotlight_commands(
    world: World, region: str, day: date, zone: ZoneInfo, rng: random.Random
) -> list[PlannedCommand]:
    """A couple of commands per region and weekday whose replies the terminal shows."""
    if day.weekday() >= 5:
        return []
    reps = [p for p in world.in_region(region) if p.role == "rep"]
    asker, checker = rng.sample(reps, 2)
    return [
        PlannedCommand(_at(day, time(15, rng.randint(0, 59)), zone), asker.user_id, "board", spotlight=True),
        PlannedCommand(_at(day, time(16, rng.randint(30, 59)), zone), checker.user_id, "me", spotlight=True),
    ]


def _closing_deals(world: World, days: Sequence[date], rng: random.Random) -> list[PlannedCommand]:
    """One or two closed-won deals in the stretch: the moment everyone cheers."""
    weekdays = [d for d in days if d.weekday() < 5]
    aes = [p for p in world.players() if p.job == "ae" and p.role == "rep"]
    deals = []
    for _ in range(min(2, len(weekdays))):
        person = rng.choice(aes)
        zone = ZoneInfo(world.region(person.region).tz)
        moment = _at(rng.choice(weekdays), time(rng.randint(9, 16), rng.randint(0, 59), 30), zone)
        deals.append(PlannedCommand(moment, person.user_id, f"deal {rng.choice(DEAL_AMOUNTS)} {rng.choice(NOTES)}"))
    return deals


def _local_moment(day: date, zone: ZoneInfo, rng: random.Random) -> datetime:
    start = WORKDAY_START.hour * 60 + WORKDAY_START.minute
    end = WORKDAY_END.hour * 60 + WORKDAY_END.minute
    minute = rng.randint(start, end)
    return _at(day, time(minute // 60, minute % 60), zone)


def _at(day: date, at: time, zone: ZoneInfo) -> datetime:
    return local_time_utc(day, at, zone)


def _spaced(commands: list[PlannedCommand], busy: Sequence[datetime] = ()) -> list[PlannedCommand]:
    """Nudge commands in one region apart by MIN_GAP_IN_REGION, keeping their order, and out
    of the MIN_GAP_IN_REGION after each `busy` instant (a scheduled post in that region)."""
    spaced: list[PlannedCommand] = []
    for command in commands:
        at = command.at if not spaced else max(command.at, spaced[-1].at + MIN_GAP_IN_REGION)
        for instant in busy:
            if instant <= at < instant + MIN_GAP_IN_REGION:
                at = instant + MIN_GAP_IN_REGION
        spaced.append(PlannedCommand(at, command.user_id, command.text, command.spotlight))
    return spaced


def clear_of(
    commands: Sequence[PlannedCommand], region_of: Mapping[str, str], busy: Mapping[str, Sequence[datetime]]
) -> list[PlannedCommand]:
    """Keep each region's commands MIN_GAP_IN_REGION apart and clear of its scheduled posts,
    so no live standings edit is ever throttled into a (real-time) deferred retry."""
    by_region: dict[str, list[PlannedCommand]] = {}
    for command in sorted(commands):
        by_region.setdefault(region_of[command.user_id], []).append(command)
    return sorted(
        moved for region, planned in by_region.items() for moved in _spaced(planned, sorted(busy.get(region, ())))
    )
