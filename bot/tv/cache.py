"""What keeps 500 TVs polling every two seconds cheap: per-process memory of each region's
last state, and of which tokens are live.

A poll is answered from memory while the region's state is fresh: checked against the
database less than `recheck_after_s` ago and no phase boundary (`valid_until`) passed. Past
that, one small indexed read (bot.domain.wallboard.region_fingerprint) tells whether anything
was logged, undone, voided, closed or spun in the region (or a manager changed something the
audit log records: goals, regions, competitions); only then, or every `max_age_s` at the latest
(new names: what the fingerprint doesn't see), is the state rebuilt. The
ETag is the SHA-256 of the state's bytes, so every worker gives the same state the same tag
and an unchanged state costs the TV a 304.

A log shows on the TV within `recheck_after_s` + the page's poll interval (0.5 + 2 s).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.tv_links import LinkedRegion, looks_like_token, region_for_token
from bot.domain.wallboard import build_state, region_fingerprint
from bot.render.wheel_gif import final_rotation, segment_colours
from models import Region

RECHECK_AFTER_S = 0.5
MAX_AGE_S = 15.0
# A revoked link stops answering within this long.
LINK_TTL_S = 2.0
MAX_REMEMBERED_LINKS = 10_000


@dataclass(frozen=True)
class CachedState:
    etag: str  # unquoted hex
    body: bytes
    fingerprint: tuple[Any, ...]
    valid_until: datetime | None
    built_at: float  # monotonic seconds
    checked_at: float


@dataclass(frozen=True)
class _RememberedLink:
    linked: LinkedRegion
    checked_at: float


class WallboardCache:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Callable[[], datetime],
        *,
        recheck_after_s: float = RECHECK_AFTER_S,
        max_age_s: float = MAX_AGE_S,
        link_ttl_s: float = LINK_TTL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session_factory = session_factory
        self._clock = clock
        self._recheck_after_s = recheck_after_s
        self._max_age_s = max_age_s
        self._link_ttl_s = link_ttl_s
        self._monotonic = monotonic
        self._links: dict[str, _RememberedLink] = {}
        self._states: dict[int, CachedState] = {}
        self._guard = threading.Lock()
        self._region_locks: dict[int, threading.Lock] = {}

    def link_for(self, token: str) -> LinkedRegion | None:
        """The region a live token opens; unknown and revoked tokens are never remembered."""
        if not looks_like_token(token):
            return None
        now = self._monotonic()
        remembered = self._links.get(token)
        if remembered is not None and now - remembered.checked_at < self._link_ttl_s:
            return remembered.linked
        with self._session_factory() as session:
            linked = region_for_token(session, token)
        if linked is None:
            self._links.pop(token, None)
            return None
        if len(self._links) >= MAX_REMEMBERED_LINKS:
            self._links.clear()  # crude, and never reached by real TVs: a flood of live tokens
        self._links[token] = _RememberedLink(linked, now)
        return linked

    def state_for(self, linked: LinkedRegion) -> CachedState | None:
        """The region's current state; None when the region is gone."""
        cached = self._states.get(linked.region_id)
        if cached is not None and self._fresh(cached):
            return cached
        lock = self._lock_for(linked.region_id)
        if cached is not None and not lock.acquire(blocking=False):
            # Another thread is refreshing this region: the state it had a moment ago will do
            # (the TV asks again in two seconds), rather than a thread waiting in line.
            return cached
        if cached is None:
            lock.acquire()
        try:
            cached = self._states.get(linked.region_id)
            if cached is not None and self._fresh(cached):
                return cached  # another thread refreshed it while this one waited
            refreshed = self._refresh(linked, cached)
            if refreshed is None:
                self._states.pop(linked.region_id, None)
            else:
                self._states[linked.region_id] = refreshed
            return refreshed
        finally:
            lock.release()

    def _fresh(self, cached: CachedState) -> bool:
        if self._monotonic() - cached.checked_at >= self._recheck_after_s:
            return False
        return cached.valid_until is None or self._clock() < cached.valid_until

    def _refresh(self, linked: LinkedRegion, cached: CachedState | None) -> CachedState | None:
        started = self._monotonic()
        now = self._clock()
        # Fingerprint and state from one snapshot: PostgreSQL's default (read committed) would let
        # a log land between the standings and the ticker, a state no moment ever had. SQLite's
        # read transactions are snapshots already.
        with self._session_factory() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            fingerprint = region_fingerprint(session, linked.team_id, linked.region_id)
            if (
                cached is not None
                and cached.fingerprint == fingerprint
                and (cached.valid_until is None or now < cached.valid_until)
                and started - cached.built_at < self._max_age_s
            ):
                return CachedState(cached.etag, cached.body, fingerprint, cached.valid_until, cached.built_at, started)
            region = session.get(Region, linked.region_id)
            if region is None or region.team_id != linked.team_id:
                return None
            built = build_state(session, region, now)
        body = state_bytes(dress_for_page(built.body))
        return CachedState(state_etag(body), body, fingerprint, built.valid_until, started, started)

    def _lock_for(self, region_id: int) -> threading.Lock:
        with self._guard:
            lock = self._region_locks.get(region_id)
            if lock is None:
                lock = self._region_locks[region_id] = threading.Lock()
            return lock


def state_bytes(body: dict[str, Any]) -> bytes:
    """Canonical JSON: the same state is the same bytes (and ETag) in every worker."""
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def state_etag(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:40]


def dress_for_page(body: dict[str, Any]) -> dict[str, Any]:
    """The wheel as the GIF draws it: each segment's colour, and the rotation (degrees
    clockwise, under one turn) at which the pointer sits where the verifiable draw fell —
    bot.render.wheel_gif's own `final_rotation`, so the page and the GIF stop on one spot."""
    spin = body.get("spin")
    if not spin:
        return body
    shares = [segment["share"] for segment in spin["segments"]]
    colours = segment_colours(len(shares))
    segments = [
        {**segment, "colour": "#{:02x}{:02x}{:02x}".format(*colour)}
        for segment, colour in zip(spin["segments"], colours, strict=True)
    ]
    stop = final_rotation(shares, spin["winner_index"], turns=0, jitter=spin["jitter"]) % 360.0
    return {**body, "spin": {**spin, "segments": segments, "stop_degrees": round(stop, 4)}}
