"""Keeping a source's renewed OAuth token (bot/adapters/oauth_tokens.py): Outreach answers a
refresh with a new access token and a new refresh token, so both are stored at once, sealed
like every other secret (Fernet under PIPEDAY_SECRET_KEY), before the run goes on."""

from __future__ import annotations

import logging
from functools import partial

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.oauth_tokens import is_refreshable
from bot.domain.secret_box import SecretBox
from models import WebhookSource

logger = logging.getLogger(__name__)


def renewed_token_keeper(
    session_factory: sessionmaker[Session], secret_key: str | None, source_id: str, token: str | None, read: str | None
) -> dict[str, object]:
    """The `on_new_token` to give a vendor API whose token renews itself (none for a plain token).
    `read`: the sealed token the run started from."""
    if not is_refreshable(token):
        return {}
    return {"on_new_token": partial(store_renewed_token, session_factory, secret_key, source_id, read)}


def store_renewed_token(
    session_factory: sessionmaker[Session], secret_key: str | None, source_id: str, read: str | None, token: str
) -> None:
    """Seal and store `token` in place of `read`. If the admin set another token meanwhile
    (`pipeday source set … --api-token`), theirs stands."""
    sealed = SecretBox(secret_key).encrypt(token)
    with session_factory.begin() as session:
        changed = session.execute(
            update(WebhookSource)
            .where(WebhookSource.id == source_id, WebhookSource.api_token_encrypted == read)
            .values(api_token_encrypted=sealed)
        )
    if getattr(changed, "rowcount", 1) != 1:
        logger.info("source %s: its API token was changed during a run; the renewed one isn't kept", source_id)
