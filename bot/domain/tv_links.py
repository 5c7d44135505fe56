"""Wallboard links: a region's live board at `/tv/<token>`, made once, revoked by name.

The token is 256 random bits in url-safe text (43 characters) and only its SHA-256 is stored
(bot.domain.secret_tokens), so the database never holds a working link. An unknown and a
revoked token look the same from outside: `region_for_token` answers None for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.directory import ensure_workspace
from bot.domain.errors import Conflict, NotFound
from bot.domain.secret_tokens import hash_token, new_token
from bot.domain.text_input import require_plain_text
from models import Region, TvLink

MAX_LINK_NAME = 64
TV_PATH_PREFIX = "/tv/"
# Tokens are token_urlsafe(32): 43 characters from this alphabet; anything else is not ours.
_TOKEN_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
MIN_TOKEN_LENGTH, MAX_TOKEN_LENGTH = 32, 128


def tv_path(token: str) -> str:
    return f"{TV_PATH_PREFIX}{token}"


def tv_url(public_url: str | None, token: str) -> str | None:
    """The full URL, or None without PIPEDAY_PUBLIC_URL (callers then show the path)."""
    return f"{public_url.rstrip('/')}{tv_path(token)}" if public_url else None


@dataclass(frozen=True)
class NewLink:
    name: str
    region: str
    token: str  # shown once, never stored

    @property
    def path(self) -> str:
        return tv_path(self.token)


@dataclass(frozen=True)
class LinkedRegion:
    """What a live token opens: one region of one workspace."""

    link_id: int
    team_id: str
    region_id: int


def require_link_name(name: str) -> str:
    cleaned = require_plain_text(name, "Link names").strip()
    if not cleaned or len(cleaned) > MAX_LINK_NAME:
        raise Conflict(f"A link name is 1 to {MAX_LINK_NAME} characters.")
    return cleaned


def create_link(session: Session, region: Region, *, name: str | None, created_by: str) -> NewLink:
    """A new link to `region`'s wallboard; without a name, `<region>-tv`, `<region>-tv-2`…"""
    taken = set(session.scalars(select(TvLink.name).where(TvLink.team_id == region.team_id)))
    if name is None:
        cleaned = _free_default_name(region, taken)
    else:
        cleaned = require_link_name(name)
        if cleaned in taken:
            raise Conflict(
                f"There's already a TV link named {cleaned}.",
                "Pick another name (`--name`); `pipeday tv list` shows them.",
            )
    ensure_workspace(session, region.team_id)
    token = new_token()
    session.add(
        TvLink(
            team_id=region.team_id,
            region_id=region.id,
            name=cleaned,
            token_hash=hash_token(token),
            created_by=created_by,
        )
    )
    session.flush()
    return NewLink(cleaned, region.name, token)


def _free_default_name(region: Region, taken: set[str]) -> str:
    base = f"{region.name.lower()}-tv"[:MAX_LINK_NAME]
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def list_links(session: Session, team_id: str) -> list[TvLink]:
    return list(session.scalars(select(TvLink).where(TvLink.team_id == team_id).order_by(TvLink.name)))


def revoke_link(session: Session, team_id: str, name: str, now: datetime) -> TvLink:
    """Turn a link off for good (its TV shows "this link was turned off"); idempotent."""
    found = session.scalars(select(TvLink).where(TvLink.team_id == team_id, TvLink.name == name.strip())).first()
    if found is None:
        raise NotFound(f"There's no TV link named {name}.", "`pipeday tv list` shows them.")
    if found.revoked_at is None:
        found.revoked_at = now
    return found


def looks_like_token(presented: str) -> bool:
    return MIN_TOKEN_LENGTH <= len(presented) <= MAX_TOKEN_LENGTH and set(presented) <= _TOKEN_ALPHABET


def region_for_token(session: Session, presented: str) -> LinkedRegion | None:
    """The region a live token opens, or None (unknown, revoked or malformed: all alike)."""
    if not looks_like_token(presented):
        return None
    row = session.execute(
        select(TvLink.id, TvLink.team_id, TvLink.region_id).where(
            TvLink.token_hash == hash_token(presented), TvLink.revoked_at.is_(None)
        )
    ).first()
    return None if row is None else LinkedRegion(row.id, row.team_id, row.region_id)
