"""The demo's cast and setting: three regions, their people, the prospecting days and prizes.

Everything here is plain data. `build_world(rng)` only draws each person's temperament
(how busy they are, what they lean towards), so one seed always gives the same week.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

DEMO_TEAM_ID = "T0DEMO"
DEMO_TEAM_NAME = "Acme Cloud (demo)"
DEMO_TEAM_DOMAIN = "acme-cloud-demo"
# A fixed week (Mon 2 June 2025, no DST change anywhere) so a seed replays exactly.
DEMO_WEEK_MONDAY = date(2025, 6, 2)
ADMIN_USER_ID = "U0ADMIN01"


@dataclass(frozen=True)
class RegionSpec:
    name: str
    tz: str
    channel_id: str
    channel_name: str


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    region: str
    role: str  # rep, leader or manager
    job: str  # sdr or ae
    # How much they log compared with an average rep (0.5 = half, 1.5 = half again).
    energy: float = 1.0

    @property
    def handle(self) -> str:
        """The Slack `user_name` a slash command carries: maya.patel."""
        return self.name.lower().replace(" ", ".")


@dataclass(frozen=True)
class PrizeSpec:
    name: str
    weight: float
    stock: int | None = None


@dataclass(frozen=True)
class CompetitionPlan:
    preset: str  # a key of bot.domain.competition_presets.PRESETS
    name: str
    weekday: int  # 0 = Monday
    metric: str


@dataclass(frozen=True)
class World:
    team_id: str
    regions: tuple[RegionSpec, ...]
    people: tuple[Person, ...]
    prizes: tuple[PrizeSpec, ...]
    competitions: tuple[CompetitionPlan, ...]
    admin_user_id: str = ADMIN_USER_ID

    def region(self, name: str) -> RegionSpec:
        return next(r for r in self.regions if r.name == name)

    def in_region(self, name: str) -> list[Person]:
        return [p for p in self.people if p.region == name]

    def manager_of(self, region: str) -> Person:
        return next(p for p in self.people if p.region == region and p.role == "manager")

    def players(self) -> list[Person]:
        """Everyone who logs activity: reps and leaders (managers run the show)."""
        return [p for p in self.people if p.role in ("rep", "leader")]

    def names(self) -> dict[str, str]:
        """Slack ids → display names, for rendering mentions in the terminal."""
        ids = {p.user_id: p.name for p in self.people}
        ids |= {r.channel_id: r.channel_name for r in self.regions}
        ids[self.admin_user_id] = "Pipeday admin"
        return ids


REGIONS = (
    RegionSpec("AMER", "America/New_York", "C0AMER001", "pg-amer"),
    RegionSpec("EMEA", "Europe/London", "C0EMEA001", "pg-emea"),
    RegionSpec("APAC", "Asia/Singapore", "C0APAC001", "pg-apac"),
)

# (name, region, role, job); five reps per region, a leader in AMER and EMEA, a manager each.
CAST = (
    ("Maya Patel", "AMER", "rep", "sdr"),
    ("Jordan Brooks", "AMER", "rep", "sdr"),
    ("Carlos Rivera", "AMER", "rep", "ae"),
    ("Emily Chen", "AMER", "rep", "ae"),
    ("Tyler Johnson", "AMER", "rep", "sdr"),
    ("Sophie Martin", "EMEA", "rep", "sdr"),
    ("Lukas Becker", "EMEA", "rep", "ae"),
    ("Amara Okafor", "EMEA", "rep", "sdr"),
    ("Oliver Hughes", "EMEA", "rep", "ae"),
    ("Elena Rossi", "EMEA", "rep", "sdr"),
    ("Priya Nair", "APAC", "rep", "sdr"),
    ("Kenji Tanaka", "APAC", "rep", "ae"),
    ("Mei Lin Tan", "APAC", "rep", "sdr"),
    ("Arjun Mehta", "APAC", "rep", "ae"),
    ("Chloe Wong", "APAC", "rep", "sdr"),
    ("Dana Whitfield", "AMER", "leader", "ae"),
    ("Henrik Larsen", "EMEA", "leader", "ae"),
    ("Marcus Reed", "AMER", "manager", "ae"),
    ("Isabelle Dubois", "EMEA", "manager", "ae"),
    ("Wei Zhang", "APAC", "manager", "ae"),
)

PRIZES = (
    PrizeSpec("Cowboy boots", weight=1, stock=3),
    PrizeSpec("Team lunch", weight=3),
    PrizeSpec("Noise-cancelling headphones", weight=1, stock=2),
    PrizeSpec("Extra PTO day", weight=0.5, stock=2),
    PrizeSpec("Coffee on me", weight=4),
    PrizeSpec("$50 gift card", weight=2),
)

COMPETITIONS = (
    CompetitionPlan("booking-day", "Booking Day", weekday=2, metric="meeting"),
    CompetitionPlan("connect-day", "Connect Day", weekday=3, metric="connect"),
)


def build_world(rng: random.Random) -> World:
    people = tuple(
        Person(
            user_id=f"U0{index:02d}{name.split()[0].upper()[:5]}",
            name=name,
            region=region,
            role=role,
            job=job,
            energy=round(rng.uniform(0.6, 1.5), 2),
        )
        for index, (name, region, role, job) in enumerate(CAST, start=1)
    )
    return World(DEMO_TEAM_ID, REGIONS, people, PRIZES, COMPETITIONS)


def played_days(days: int) -> list[date]:
    """The local dates the demo plays: up to a whole week, Monday first.

    Shorter runs start later in the week so they still include Booking Day (Wednesday)
    and Connect Day (Thursday): `--days 2` plays Wednesday and Thursday.
    """
    if not 1 <= days <= 7:
        raise ValueError(f"the demo plays 1 to 7 days, got {days}")
    first = DEMO_WEEK_MONDAY + timedelta(days=min(2, 7 - days))
    return [first + timedelta(days=offset) for offset in range(days)]
