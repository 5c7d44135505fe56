"""Wallboard links in the database: only a hash is stored, names are unique per workspace,
a revoked or unknown token opens nothing, and the per-process cache in front of the state
answers from memory until the region changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.activities import log_activity, undo_last
from bot.domain.directory import add_region, join_region, require_region
from bot.domain.errors import Conflict, NotFound
from bot.domain.grammar import LogCommand
from bot.domain.secret_tokens import hash_token
from bot.domain.tv_links import create_link, list_links, region_for_token, revoke_link, tv_url
from bot.tv.cache import WallboardCache
from models import Member, TvLink

TEAM = "T0001"
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # a Tuesday, no competition


@pytest.fixture
def amer(session: Session) -> int:
    add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
    add_region(session, TEAM, "EMEA", "Europe/London", None, actor="test")
    return require_region(session, TEAM, "AMER").id


def test_a_link_stores_only_the_hash_of_a_long_url_safe_token(session: Session, amer: int) -> None:
    made = create_link(session, require_region(session, TEAM, "AMER"), name=None, created_by="cli")
    assert made.name == "amer-tv" and made.path == f"/tv/{made.token}"
    assert len(made.token) >= 32 and set(made.token) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    stored = session.scalars(select(TvLink)).one()
    assert stored.token_hash == hash_token(made.token) and made.token not in json.dumps(
        [stored.token_hash, stored.name, stored.created_by]
    )
    assert tv_url("https://pipeday.example.com/", made.token) == f"https://pipeday.example.com/tv/{made.token}"
    assert tv_url(None, made.token) is None
    opened = region_for_token(session, made.token)
    assert opened is not None and (opened.team_id, opened.region_id) == (TEAM, amer)


def test_names_default_per_region_and_never_repeat(session: Session, amer: int) -> None:
    region = require_region(session, TEAM, "AMER")
    names = [create_link(session, region, name=None, created_by="cli").name for _ in range(3)]
    assert names == ["amer-tv", "amer-tv-2", "amer-tv-3"]
    assert create_link(session, region, name="Lobby", created_by="cli").name == "Lobby"
    with pytest.raises(Conflict, match="already a TV link named Lobby"):
        create_link(session, region, name="Lobby", created_by="cli")
    with pytest.raises(Conflict):
        create_link(session, region, name="x" * 65, created_by="cli")
    assert [link.name for link in list_links(session, TEAM)] == ["Lobby", "amer-tv", "amer-tv-2", "amer-tv-3"]


def test_revoked_unknown_and_malformed_tokens_open_nothing(session: Session, amer: int) -> None:
    region = require_region(session, TEAM, "AMER")
    kept = create_link(session, region, name="kept", created_by="cli")
    gone = create_link(session, region, name="gone", created_by="cli")
    revoked = revoke_link(session, TEAM, "gone", NOW)
    assert revoked.revoked_at == NOW
    assert revoke_link(session, TEAM, "gone", NOW + timedelta(hours=1)).revoked_at == NOW  # idempotent
    with pytest.raises(NotFound):
        revoke_link(session, TEAM, "nonesuch", NOW)
    assert region_for_token(session, kept.token) is not None
    assert region_for_token(session, gone.token) is None
    assert region_for_token(session, "A" * 43) is None
    assert region_for_token(session, kept.token[:20]) is None
    assert region_for_token(session, kept.token + "/../x") is None


def _log(session: Session, user_id: str, count: int, when: datetime, key: str) -> None:
    member = session.scalars(select(Member).where(Member.user_id == user_id)).one()
    log_activity(session, member, LogCommand("connect", float(count)), now=when, idempotency_key=key)


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_cache_answers_from_memory_until_the_region_changes(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        add_region(session, TEAM, "AMER", "America/New_York", "C_AMER", actor="test")
        add_region(session, TEAM, "EMEA", "Europe/London", None, actor="test")
        join_region(session, TEAM, "U_ANA", "Ana", "AMER")
        join_region(session, TEAM, "U_EVE", "Eve", "EMEA")
        token = create_link(session, require_region(session, TEAM, "AMER"), name=None, created_by="t").token
    ticks = Ticks()
    wall = [NOW]
    cache = WallboardCache(session_factory, lambda: wall[0], recheck_after_s=0.5, max_age_s=15, monotonic=ticks)
    linked = cache.link_for(token)
    assert linked is not None
    first = cache.state_for(linked)
    assert first is not None and json.loads(first.body)["phase"] == "week"

    with session_factory.begin() as session:
        _log(session, "U_ANA", 3, NOW, "a1")
    assert cache.state_for(linked) is first  # within the recheck: memory, not the database
    ticks.now += 0.6
    changed = cache.state_for(linked)
    assert changed is not None and changed.etag != first.etag
    assert json.loads(changed.body)["rows"][0]["total"] == 3.0

    with session_factory.begin() as session:
        _log(session, "U_EVE", 9, NOW, "e1")  # another region: AMER's state stands
    ticks.now += 0.6
    same = cache.state_for(linked)
    assert same is not None and same.etag == changed.etag and same.built_at == changed.built_at

    with session_factory.begin() as session:
        undo_last(session, session.scalars(select(Member).where(Member.user_id == "U_ANA")).one(), now=NOW)
    ticks.now += 0.6
    undone = cache.state_for(linked)
    assert undone is not None and json.loads(undone.body)["rows"] == []

    with session_factory.begin() as session:
        session.scalars(select(Member).where(Member.user_id == "U_ANA")).one().role = "leader"
    ticks.now += 0.6
    stale = cache.state_for(linked)
    assert stale is not None and stale.etag == undone.etag  # a role change waits for max_age
    ticks.now += 15
    fresh = cache.state_for(linked)
    assert fresh is not None and json.loads(fresh.body)["leaders"] == [
        {"name": "Ana", "hours": 0.0, "on_target": False}
    ]

    wall[0] = NOW + timedelta(days=7)  # a new week: the phase boundary passed, rebuilt at once
    next_week = cache.state_for(linked)
    assert next_week is not None and next_week is not fresh
    assert json.loads(next_week.body)["week_of"] == "2026-11-30"

    assert cache.link_for(token) is not None  # read again: the last check was long ago
    with session_factory.begin() as session:
        revoke_link(session, TEAM, "amer-tv", NOW)
    assert cache.link_for(token) is not None  # remembered for LINK_TTL_S
    ticks.now += 2.1
    assert cache.link_for(token) is None
