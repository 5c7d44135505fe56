"""Webhook sources: `pipeday source add|list|remove` and the lookup a delivery starts with.

Each source has an unguessable id (its URL's last segment) and a signing secret, stored
encrypted because checking a signature needs the secret itself.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.directory import ensure_workspace
from bot.domain.errors import Conflict, NotFound
from bot.domain.secret_box import SecretBox
from bot.domain.text_input import require_plain_text
from models import WebhookSource

BUILT_KINDS = ("generic",)
PLANNED_KINDS = ("hubspot", "outreach", "salesloft", "aircall")
MAX_SOURCE_NAME = 64


@dataclass(frozen=True)
class NewSource:
    id: str
    kind: str
    name: str
    secret: str  # shown once; stored only encrypted


def hook_path(kind: str, source_id: str) -> str:
    return f"/hooks/{kind}/{source_id}"


def add_source(session: Session, team_id: str, kind: str, name: str | None, box: SecretBox) -> NewSource:
    kind = kind.strip().lower()
    if kind in PLANNED_KINDS:
        raise Conflict(f"The {kind} adapter is not built yet.", f"Built so far: {', '.join(BUILT_KINDS)}.")
    if kind not in BUILT_KINDS:
        raise Conflict(f"There's no source kind {kind!r}.", f"Built so far: {', '.join(BUILT_KINDS)}.")
    cleaned = require_plain_text(name if name is not None else kind, "Source names")
    if not cleaned or len(cleaned) > MAX_SOURCE_NAME:
        raise Conflict(f"A source name is 1 to {MAX_SOURCE_NAME} characters.")
    if _named(session, team_id, cleaned) is not None:
        raise Conflict(f"There's already a source named {cleaned}.", "Pick another with --name, or remove that one.")
    ensure_workspace(session, team_id)
    secret = secrets.token_urlsafe(32)
    source = WebhookSource(
        id=secrets.token_urlsafe(24), team_id=team_id, kind=kind, name=cleaned, secret_encrypted=box.encrypt(secret)
    )
    session.add(source)
    session.flush()
    return NewSource(source.id, kind, cleaned, secret)


def list_sources(session: Session, team_id: str) -> list[WebhookSource]:
    return list(
        session.scalars(select(WebhookSource).where(WebhookSource.team_id == team_id).order_by(WebhookSource.name))
    )


def remove_source(session: Session, team_id: str, name: str) -> WebhookSource:
    found = _named(session, team_id, name.strip())
    if found is None:
        raise NotFound(f"There's no source named {name}.", "`pipeday source list` shows them.")
    session.delete(found)
    return found


def find_source(session: Session, kind: str, source_id: str) -> WebhookSource | None:
    return session.scalars(
        select(WebhookSource).where(WebhookSource.id == source_id, WebhookSource.kind == kind)
    ).first()


def source_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(WebhookSource)) or 0)


def _named(session: Session, team_id: str, name: str) -> WebhookSource | None:
    return session.scalars(
        select(WebhookSource).where(WebhookSource.team_id == team_id, WebhookSource.name == name)
    ).first()
