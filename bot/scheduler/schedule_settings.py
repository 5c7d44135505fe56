"""A workspace's schedule settings: `Workspace.settings["schedule"]`, read and validated
(`workspace_schedule`, `parse_schedule_settings`) and changed (`update_schedule_settings`).
All optional:

    {
      "grace_minutes": 60,                                  # catch-up grace
      "weekly_summary": {"weekday": 4, "at": "16:00"},      # Friday 16:00 local (default)
      "goals_kickoff": {"weekday": 0, "at": "09:00"},       # Monday 09:00 local (default)
      "standings": {"enabled": false},                      # any kind can be switched off
      "competitions": {"12": {"last_call": "16:00"}}        # per-competition phase times
    }

What the clock runs from them: bot.scheduler.specs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.domain.calendar_store import WEEKDAY_NAMES
from bot.scheduler.constants import COMPETITION_KINDS, JOB_KINDS
from bot.scheduler.timing import DEFAULT_CATCH_UP_GRACE
from models import Workspace

SETTINGS_KEY = "schedule"
MAX_GRACE = timedelta(hours=24)


class ScheduleSettingsError(ValueError):
    """Workspace schedule settings that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class KindSetting:
    enabled: bool = True
    weekday: int | None = None  # weekly kinds only
    at: time | None = None


@dataclass(frozen=True)
class ScheduleSettings:
    grace: timedelta = DEFAULT_CATCH_UP_GRACE
    kinds: dict[str, KindSetting] = field(default_factory=dict)
    # competition id -> phase kind -> wall time
    competition_times: dict[int, dict[str, time]] = field(default_factory=dict)

    def kind(self, kind: str) -> KindSetting:
        return self.kinds.get(kind, KindSetting())


def parse_schedule_settings(raw: Mapping[str, Any] | None) -> ScheduleSettings:
    """Validate `Workspace.settings["schedule"]`; raises ScheduleSettingsError on bad values."""
    raw = raw or {}
    grace = _parse_grace(raw.get("grace_minutes"))
    kinds = {kind: _parse_kind(kind, raw[kind]) for kind in JOB_KINDS if kind in raw}
    unknown = set(raw) - set(JOB_KINDS) - {"grace_minutes", "competitions"}
    if unknown:
        raise ScheduleSettingsError(f"unknown schedule setting(s) {sorted(unknown)}; known: {', '.join(JOB_KINDS)}")
    competition_times = {
        _parse_competition_id(key): _parse_phase_times(value) for key, value in (raw.get("competitions") or {}).items()
    }
    return ScheduleSettings(grace, kinds, competition_times)


def _parse_grace(value: Any) -> timedelta:
    if value is None:
        return DEFAULT_CATCH_UP_GRACE
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not 0 <= value * 60 <= MAX_GRACE.total_seconds()
    ):
        raise ScheduleSettingsError(f"grace_minutes must be a number of minutes from 0 to 1440, got {value!r}")
    return timedelta(minutes=value)


def _parse_kind(kind: str, value: Any) -> KindSetting:
    if not isinstance(value, Mapping):
        raise ScheduleSettingsError(f"schedule.{kind} must be an object, got {value!r}")
    enabled = value.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ScheduleSettingsError(f"schedule.{kind}.enabled must be true or false, got {enabled!r}")
    weekday, at = value.get("weekday"), value.get("at")
    if kind in COMPETITION_KINDS and (weekday is not None or at is not None):
        raise ScheduleSettingsError(
            f"schedule.{kind} takes only `enabled`: competition posts follow each competition's window "
            "(set per-competition times under `competitions`)"
        )
    return KindSetting(enabled, _parse_weekday(kind, weekday), parse_wall_time(at, f"schedule.{kind}.at"))


def _parse_weekday(kind: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value[:3].lower() in WEEKDAY_NAMES:
        return WEEKDAY_NAMES.index(value[:3].lower())
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return value
    raise ScheduleSettingsError(f"schedule.{kind}.weekday must be 0 (Monday) to 6 or a day name, got {value!r}")


def parse_wall_time(value: Any, where: str) -> time | None:
    """ "16:00" → time(16, 0); None stays None."""
    if value is None:
        return None
    try:
        parsed = time.fromisoformat(str(value))
    except ValueError:
        raise ScheduleSettingsError(f"{where} must be a local time like 16:00, got {value!r}") from None
    if parsed.second or parsed.microsecond or parsed.tzinfo:
        raise ScheduleSettingsError(f"{where} must be whole minutes without a zone, got {value!r}")
    return parsed


def _parse_competition_id(key: Any) -> int:
    if not str(key).isdigit():
        raise ScheduleSettingsError(f"schedule.competitions keys are competition ids, got {key!r}")
    return int(key)


def _parse_phase_times(value: Any) -> dict[str, time]:
    if not isinstance(value, Mapping):
        raise ScheduleSettingsError(f"schedule.competitions entries must be objects, got {value!r}")
    times = {}
    for kind, text in value.items():
        if kind not in COMPETITION_KINDS:
            raise ScheduleSettingsError(
                f"competition phase must be one of {', '.join(COMPETITION_KINDS)}, got {kind!r}"
            )
        parsed = parse_wall_time(text, f"schedule.competitions.{kind}")
        if parsed is not None:
            times[kind] = parsed
    return times


def workspace_schedule(workspace: Workspace) -> ScheduleSettings:
    return parse_schedule_settings((workspace.settings or {}).get(SETTINGS_KEY))


def update_schedule_settings(
    session: Session, workspace: Workspace, change: Mapping[str, Any], *, competition_id: int | None = None
) -> ScheduleSettings:
    """Merge `change` into the workspace's schedule (for one kind, or one competition's phases).

    The result is validated before it is stored.
    """
    settings = dict(workspace.settings or {})
    schedule = {key: value for key, value in (settings.get(SETTINGS_KEY) or {}).items()}
    if competition_id is None:
        for kind, values in change.items():
            schedule[kind] = values if not isinstance(values, Mapping) else {**schedule.get(kind, {}), **values}
    else:
        competitions = dict(schedule.get("competitions") or {})
        competitions[str(competition_id)] = {**competitions.get(str(competition_id), {}), **change}
        schedule["competitions"] = competitions
    parsed = parse_schedule_settings(schedule)
    # JSON columns don't track in-place edits: assign a new dict.
    workspace.settings = {**settings, SETTINGS_KEY: schedule}
    session.flush()
    return parsed
