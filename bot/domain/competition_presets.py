"""What `pipeday competition add` asks for, and the two classics: plain data, importable without
the database layer (`--preset`'s choices are shown by `--help`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

DEFAULT_START, DEFAULT_END = time(8, 0), time(17, 30)


@dataclass(frozen=True)
class CompetitionSpec:
    """What `pipeday competition add` asks for; region names, empty = every region."""

    name: str
    weekday: int
    metric: str
    start: time = DEFAULT_START
    end: time = DEFAULT_END
    regions: tuple[str, ...] = ()
    winners: int = 1
    leaders_win: bool = False
    counts: str = "all"  # "all" activity, or only "verified" (recorded by a system)
    review: str = "flags"  # review before the spin: "always", "flags" (a flagged winner) or "never"
    max_per_log: int | None = None  # the biggest single log of the metric during the window


# The two classics from the playbook, one command each (`--preset`).
PRESETS: dict[str, CompetitionSpec] = {
    "connect-day": CompetitionSpec("Connect Day", weekday=3, metric="connect"),
    "booking-day": CompetitionSpec("Booking Day", weekday=2, metric="meeting"),
}
