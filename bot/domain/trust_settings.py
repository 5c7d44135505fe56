"""The thresholds of the flag rules, per workspace: `pipeday trust set KEY VALUE`, `pipeday trust show`.

Each rule has one key whose value `off` turns it off; a few more keys tune them. A key never
set uses its default (the issue's numbers). Values are stored as text in `trust_settings` and
parsed here, so a bad value is refused with the range it must be in, and nothing is stored.
"""

from __future__ import annotations

import re
import threading
import time as monotonic_time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.directory import audit, ensure_workspace
from bot.domain.errors import Conflict
from models import TrustSetting

OFF = "off"
_HOURS = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True)
class SettingSpec:
    key: str
    default: str
    meaning: str
    check: Callable[[str], object]  # raises Conflict for a value it can't take
    can_be_off: bool = False


def _number(low: float, high: float, whole: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (low <= value <= high) or (whole and value != int(value)):
            kind = "a whole number" if whole else "a number"
            raise Conflict(f"`{text}` isn't {kind} from {low:g} to {high:g}.")
        return value

    return parse


def parse_hours(text: str) -> tuple[time, time]:
    """`06:00-22:00`: the local hours in which logging is usual."""
    match = _HOURS.match(text.strip())
    if not match:
        raise Conflict(f"`{text}` isn't a span of local hours.", "Use HH:MM-HH:MM, e.g. 06:00-22:00.")
    start = time(int(match.group(1)), int(match.group(2)))
    end_hour, end_minute = int(match.group(3)), int(match.group(4))
    if end_hour == 24 and end_minute:
        raise Conflict(f"`{text}` ends after midnight.", "The latest end is 24:00.")
    end = time.max if end_hour == 24 else time(end_hour, end_minute)
    if end <= start:
        raise Conflict(f"`{text}` ends before it starts.", "Use HH:MM-HH:MM within one day, e.g. 06:00-22:00.")
    return start, end


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "big-log",
        "3",
        "flag one log above N times the member's 95th-percentile day of that type",
        _number(1, 100),
        can_be_off=True,
    ),
    SettingSpec("big-log-percentile", "95", "the percentile of days big-log compares with", _number(50, 100)),
    SettingSpec("history-weeks", "8", "how many weeks of days the percentiles read", _number(1, 52, whole=True)),
    SettingSpec(
        "history-days",
        "10",
        "days of a member's own history before big-log uses it (else the region's days)",
        _number(1, 365, whole=True),
    ),
    SettingSpec(
        "burst", "10", "flag N or more logs by one member within burst-seconds", _number(2, 500, True), can_be_off=True
    ),
    SettingSpec("burst-seconds", "60", "the burst rule's window", _number(1, 3600, whole=True)),
    SettingSpec(
        "hours", "06:00-22:00", "flag logs outside these local hours of the region", parse_hours, can_be_off=True
    ),
    SettingSpec(
        "day-total",
        "99",
        "flag a member's day above the region's Nth-percentile day of that type",
        _number(50, 100),
        can_be_off=True,
    ),
    SettingSpec(
        "late-surge",
        "0.5",
        "flag a competition-day total that grew by more than this share of its final value at the end",
        _number(0.05, 1),
        can_be_off=True,
    ),
    SettingSpec("late-surge-minutes", "10", "the late-surge rule's last minutes", _number(1, 120, whole=True)),
)
SPECS_BY_KEY = {spec.key: spec for spec in SPECS}


@dataclass(frozen=True)
class TrustSettings:
    """A workspace's thresholds, parsed. None: that rule is off."""

    big_log_multiple: float | None = 3.0
    big_log_percentile: float = 95.0
    history_weeks: int = 8
    history_days: int = 10
    burst_logs: int | None = 10
    burst_seconds: int = 60
    hours: tuple[time, time] | None = (time(6), time(22))
    day_total_percentile: float | None = 99.0
    late_surge_share: float | None = 0.5
    late_surge_minutes: int = 10

    @property
    def any_log_rule(self) -> bool:
        """Whether a typed log has anything to be checked against after the ack."""
        return any(
            rule is not None for rule in (self.big_log_multiple, self.burst_logs, self.hours, self.day_total_percentile)
        )


DEFAULTS = TrustSettings()


def settings_from(values: dict[str, str]) -> TrustSettings:
    """Parse stored values over the defaults (a value stored by an older version that no
    longer parses falls back to its default rather than stopping every log's check)."""

    def get(key: str) -> object | None:
        spec = SPECS_BY_KEY[key]
        raw = values.get(key, spec.default)
        if spec.can_be_off and raw == OFF:
            return None
        try:
            return spec.check(raw)
        except Conflict:
            return spec.check(spec.default)

    def number(key: str) -> float:
        value = get(key)
        assert isinstance(value, float)
        return value

    def optional(key: str) -> float | None:
        value = get(key)
        assert value is None or isinstance(value, float)
        return value

    burst = optional("burst")
    hours = get("hours")
    assert hours is None or isinstance(hours, tuple)
    return TrustSettings(
        big_log_multiple=optional("big-log"),
        big_log_percentile=number("big-log-percentile"),
        history_weeks=int(number("history-weeks")),
        history_days=int(number("history-days")),
        burst_logs=None if burst is None else int(burst),
        burst_seconds=int(number("burst-seconds")),
        hours=hours,
        day_total_percentile=optional("day-total"),
        late_surge_share=optional("late-surge"),
        late_surge_minutes=int(number("late-surge-minutes")),
    )


def stored_values(session: Session, team_id: str) -> dict[str, str]:
    rows = session.execute(select(TrustSetting.key, TrustSetting.value).where(TrustSetting.team_id == team_id))
    return {key: value for key, value in rows}


def load_trust_settings(session: Session, team_id: str) -> TrustSettings:
    return settings_from(stored_values(session, team_id))


def normalise_value(key: str, value: str) -> tuple[str, str]:
    """The key and the value as stored, or a Conflict saying what they may be."""
    spec = SPECS_BY_KEY.get(key.strip().lower())
    if spec is None:
        raise Conflict(f"`{key}` isn't a trust setting.", "Settings: " + ", ".join(SPECS_BY_KEY) + ".")
    text = value.strip().lower()
    if text == OFF:
        if not spec.can_be_off:
            raise Conflict(f"{spec.key} can't be off; turn its rule off instead.")
        return spec.key, OFF
    if text == "default":
        return spec.key, spec.default
    parsed = spec.check(text)
    if isinstance(parsed, float):
        return spec.key, f"{parsed:g}"
    return spec.key, text.replace(" ", "")


def set_trust_setting(session: Session, team_id: str, key: str, value: str, *, actor: str, now: datetime) -> str:
    """Store one threshold; returns the key as stored. Audited."""
    stored_key, stored_value = normalise_value(key, value)
    ensure_workspace(session, team_id)
    row = session.scalars(
        select(TrustSetting).where(TrustSetting.team_id == team_id, TrustSetting.key == stored_key)
    ).one_or_none()
    before = row.value if row is not None else SPECS_BY_KEY[stored_key].default
    if row is None:
        session.add(TrustSetting(team_id=team_id, key=stored_key, value=stored_value, updated_by=actor, updated_at=now))
    else:
        row.value, row.updated_by, row.updated_at = stored_value, actor, now
    session.flush()
    audit(session, team_id, actor, "trust.set", stored_key, {"from": before, "to": stored_value})
    return stored_key


@dataclass(frozen=True)
class ShownSetting:
    key: str
    value: str
    default: str
    meaning: str


def show_settings(session: Session, team_id: str) -> list[ShownSetting]:
    stored = stored_values(session, team_id)
    return [ShownSetting(s.key, stored.get(s.key, s.default), s.default, s.meaning) for s in SPECS]


class SettingsCache:
    """Each workspace's settings, read at most once per `ttl_s` per process: the after-ack
    check of every log reads them, and `pipeday trust set` takes effect within `ttl_s`."""

    def __init__(self, ttl_s: float = 30.0, monotonic: Callable[[], float] = monotonic_time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._by_team: dict[str, tuple[float, TrustSettings]] = {}

    def cached(self, team_id: str) -> TrustSettings | None:
        """The settings if read recently, without touching the database; else None."""
        with self._lock:
            found = self._by_team.get(team_id)
        if found is None or self._monotonic() - found[0] >= self._ttl_s:
            return None
        return found[1]

    def get(self, session: Session, team_id: str) -> TrustSettings:
        settings = self.cached(team_id)
        if settings is None:
            settings = load_trust_settings(session, team_id)
            with self._lock:
                self._by_team[team_id] = (self._monotonic(), settings)
        return settings

    def for_teams(self, session: Session, team_ids: Iterable[str]) -> dict[str, TrustSettings]:
        """`get` for each of these workspaces, once each: a flag check's batch names a few."""
        return {team_id: self.get(session, team_id) for team_id in set(team_ids)}
