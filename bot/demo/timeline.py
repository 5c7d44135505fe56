"""The demo's simulated time: a queue of things to do at simulated instants, and the stretch
of days it plays, from the first local midnight anywhere to the last."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.demo.world import World
from bot.domain.windows import local_midnight_utc


@dataclass(order=True)
class Event:
    """Something to do at a simulated instant; `sequence` keeps ties in insertion order."""

    at: datetime
    sequence: int
    run: Callable[[], None] = field(compare=False)


class Timeline:
    """A queue of things to do at simulated instants; ties keep insertion order."""

    def __init__(self) -> None:
        self._heap: list[Event] = []
        self._sequence = itertools.count()

    def add(self, at: datetime, run: Callable[[], None]) -> None:
        heapq.heappush(self._heap, Event(at, next(self._sequence), run))

    def pop(self) -> Event | None:
        return heapq.heappop(self._heap) if self._heap else None


def stretch_bounds(world: World, days: list[date]) -> tuple[datetime, datetime]:
    """From the first local midnight anywhere to the last local midnight anywhere, in UTC."""
    zones = [ZoneInfo(region.tz) for region in world.regions]
    first = min(local_midnight_utc(days[0], zone) for zone in zones)
    last = max(local_midnight_utc(days[-1] + timedelta(days=1), zone) for zone in zones)
    return first, last
