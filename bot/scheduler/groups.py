"""One APScheduler job per distinct schedule, for many workspaces.

A thousand workspaces with three regions and the two classic prospecting days are 30,000 jobs
but only a few dozen distinct schedules (a kind of post, a weekday, a local time, a zone and
a grace): every New York region's Connect Day kickoff fires at the same instant. APScheduler
pays per job (a signature check, a trigger computation and a sorted insert each), so with
many workspaces the clock registers one APScheduler job per distinct schedule, and when it
fires it hands each member job to its workspace's lane (bot.scheduler.lanes). Member jobs
keep their own ids for everything else (the sent log, `pipeday jobs`, the tick's reports).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger

from bot.scheduler.specs import JobSpec
from bot.scheduler.timing import LocalSchedule

GROUP_PREFIX = "pipeday-group:"
GroupKey = tuple[LocalSchedule, timedelta]


def group_id(key: GroupKey) -> str:
    schedule, grace = key
    return f"{GROUP_PREFIX}{schedule.kind}:{schedule.weekday}:{schedule.at:%H%M}:{schedule.tz}:{int(grace.total_seconds())}"


class SharedTriggers:
    def __init__(
        self,
        scheduler: BaseScheduler,
        trigger_for: Callable[[JobSpec], BaseTrigger],
        fire_group: Callable[[GroupKey], object],
    ) -> None:
        self._scheduler = scheduler
        self._trigger_for = trigger_for
        self._fire_group = fire_group
        self._lock = threading.Lock()
        self._members: dict[GroupKey, set[str]] = {}
        self._group_of: dict[str, GroupKey] = {}

    def place(self, spec: JobSpec) -> None:
        """Schedule `spec` with the others of its schedule (replacing where it was)."""
        key: GroupKey = (spec.schedule, spec.grace)
        with self._lock:
            if self._group_of.get(spec.job_id) == key:
                return
            emptied = self._leave(spec.job_id)
            members = self._members.setdefault(key, set())
            first = not members
            members.add(spec.job_id)
            self._group_of[spec.job_id] = key
        if emptied is not None:
            self._scheduler.remove_job(group_id(emptied))
        if first:
            self._scheduler.add_job(
                self._fire_group,
                self._trigger_for(spec),
                args=[key],
                id=group_id(key),
                name=f"{spec.kind} at {spec.schedule.at:%H:%M} {spec.schedule.tz}, for every workspace",
                replace_existing=True,
                misfire_grace_time=max(1, int(spec.grace.total_seconds())),
                coalesce=True,
                max_instances=1,
            )

    def is_placed(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._group_of

    def remove(self, job_id: str) -> None:
        with self._lock:
            emptied = self._leave(job_id)
        if emptied is not None:
            self._scheduler.remove_job(group_id(emptied))

    def members(self, key: GroupKey) -> list[str]:
        with self._lock:
            return sorted(self._members.get(key, ()))

    @property
    def groups(self) -> int:
        with self._lock:
            return len(self._members)

    def _leave(self, job_id: str) -> GroupKey | None:
        """Take `job_id` out of its group (lock held); the group's key when it is now empty."""
        key = self._group_of.pop(job_id, None)
        if key is None:
            return None
        members = self._members[key]
        members.discard(job_id)
        if members:
            return None
        del self._members[key]
        return key
