"""API keys for the batch API: made once, stored as a SHA-256 only (bot.domain.secret_tokens), revoked by name."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.activity_sources import require_own_name
from bot.domain.directory import ensure_workspace
from bot.domain.errors import Conflict, NotFound
from bot.domain.secret_tokens import hash_token, new_token
from bot.domain.text_input import require_plain_text
from models import ApiKey

KEY_PREFIX = "pd_"
SHOWN_PREFIX_LENGTH = 10  # "pd_" and 7 random characters: enough to tell keys apart
# last_used_at moves at most this often: a busy key mustn't write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewKey:
    name: str
    key: str  # shown once, never stored


@dataclass(frozen=True)
class KeyOwner:
    """Who presented a valid key: the workspace it logs into, and its name (the default source)."""

    team_id: str
    name: str


def require_key_name(name: str) -> str:
    # Not slash, home, …: the key's name is its items' source (stored as api:<name>).
    return require_own_name(require_plain_text(name, "Key names"), "key name")


def create_key(session: Session, team_id: str, name: str) -> NewKey:
    cleaned = require_key_name(name)
    if session.scalars(select(ApiKey).where(ApiKey.team_id == team_id, ApiKey.name == cleaned)).first():
        raise Conflict(f"There's already a key named {cleaned}.", "Pick another name, or revoke that one first.")
    ensure_workspace(session, team_id)
    key = new_token(KEY_PREFIX)
    session.add(ApiKey(team_id=team_id, name=cleaned, prefix=key[:SHOWN_PREFIX_LENGTH], key_hash=hash_token(key)))
    session.flush()
    return NewKey(cleaned, key)


def list_keys(session: Session, team_id: str) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).where(ApiKey.team_id == team_id).order_by(ApiKey.name)))


def revoke_key(session: Session, team_id: str, name: str, now: datetime) -> ApiKey:
    found = session.scalars(select(ApiKey).where(ApiKey.team_id == team_id, ApiKey.name == name.strip())).first()
    if found is None:
        raise NotFound(f"There's no key named {name}.", "`pipeday apikey list` shows them.")
    if found.revoked_at is None:
        found.revoked_at = now
    return found


@dataclass(frozen=True)
class FoundKey:
    owner: KeyOwner
    key_id: int
    last_used_at: datetime | None

    def use_is_due(self, now: datetime) -> bool:
        return _use_is_due(self.last_used_at, now)


def find_key(session: Session, presented: str) -> FoundKey | None:
    """The live key presented, read only (a batch's request needn't write to find it);
    compares hashes in constant time."""
    if not presented.startswith(KEY_PREFIX) or len(presented) < SHOWN_PREFIX_LENGTH:
        return None
    presented_hash = hash_token(presented)
    candidates = session.scalars(
        select(ApiKey).where(ApiKey.prefix == presented[:SHOWN_PREFIX_LENGTH], ApiKey.revoked_at.is_(None))
    )
    for candidate in candidates:
        if hmac.compare_digest(candidate.key_hash, presented_hash):
            return FoundKey(KeyOwner(candidate.team_id, candidate.name), candidate.id, candidate.last_used_at)
    return None


def note_key_used(session: Session, key_id: int, now: datetime) -> None:
    """Write down the key's use, unless another request did within LAST_USED_RESOLUTION."""
    key = session.get(ApiKey, key_id)
    if key is not None and _use_is_due(key.last_used_at, now):
        key.last_used_at = now


def _use_is_due(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether a key's use is worth writing down: once per LAST_USED_RESOLUTION."""
    return last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION
