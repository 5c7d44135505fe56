"""Keeping a source's renewed OAuth token (bot/adapters/oauth_tokens.py): Outreach answers a
refresh with a new access token and a new refresh token, and the old refresh token stops
working, so the renewal and the storing of the new pair are one step per source:

- `SourceTokenGuard` lets one run of a source renew at a time: a lock per source in this
  process, then a transaction that locks the source's row (`SELECT … FOR UPDATE` on
  PostgreSQL, so the clock's and the web app's processes take turns too; on SQLite every
  transaction here takes the database's write lock at BEGIN, which serialises them as well).
  In it the run reads the token stored now: a run whose token another run renewed meanwhile
  takes that one instead of refreshing a spent refresh token (which Outreach refuses with
  invalid_grant, and the delivery would be parked for nothing).
- The new pair is stored, sealed (Fernet under PIPEDAY_SECRET_KEY), in the same transaction.
  If that fails the refresh token stored is spent already: the store is tried again, a few
  times; if it still fails, it is logged as an error and the run ends with RenewedTokenLost
  (the delivery is parked saying so: only a new token from the admin helps).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.base import FetchFailed
from bot.adapters.oauth_tokens import RenewedTokenLost, is_refreshable
from bot.domain.secret_box import SecretBox
from models import WebhookSource

logger = logging.getLogger(__name__)

# How many times the renewed token is written (the first in the renewal's own transaction).
STORE_ATTEMPTS = 3
# How long a run waits for another run of the same source renewing (one refresh: seconds).
LOCK_WAIT_S = 15.0

_DatabaseError = (SQLAlchemyError, sqlite3.Error)
_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()


def _source_lock(source_id: str) -> threading.Lock:
    with _locks_lock:
        return _locks.setdefault(source_id, threading.Lock())


def renewed_token_keeper(
    session_factory: sessionmaker[Session], secret_key: str | None, source_id: str, token: str | None
) -> dict[str, object]:
    """The `renewal` to give a vendor API whose token renews itself (none for a plain token)."""
    if not is_refreshable(token):
        return {}
    return {"renewal": SourceTokenGuard(session_factory, secret_key, source_id)}


class _Turn:
    """A RenewalTurn inside the guard's transaction."""

    def __init__(self, session: Session, box: SecretBox, source_id: str) -> None:
        self._session, self._box, self._source_id = session, box, source_id
        self.read: str | None = None  # the sealed token last read
        self.kept: str | None = None  # the new token to store (plain text)

    def current(self) -> str | None:
        self.read = self._session.scalars(
            select(WebhookSource.api_token_encrypted).where(WebhookSource.id == self._source_id).with_for_update()
        ).first()
        return self._box.decrypt(self.read) if self.read is not None else None

    def keep(self, token: str) -> None:
        self.kept = token  # written when the renewal is over, still in its transaction


class SourceTokenGuard:
    """A RenewalGuard for one source: `with guard() as turn:` holds the source's token for
    the renewal (see the module's docstring)."""

    def __init__(self, session_factory: sessionmaker[Session], secret_key: str | None, source_id: str) -> None:
        self._session_factory = session_factory
        self._box = SecretBox(secret_key)
        self._source_id = source_id

    @contextmanager
    def __call__(self) -> Iterator[_Turn]:
        lock = _source_lock(self._source_id)
        if not lock.acquire(timeout=LOCK_WAIT_S):
            raise FetchFailed("another run of this source was renewing its API token for too long")
        try:
            yield from self._in_transaction()
        finally:
            lock.release()

    def _in_transaction(self) -> Iterator[_Turn]:
        turn: _Turn | None = None
        renewed = False
        try:
            with self._session_factory.begin() as session:
                turn = _Turn(session, self._box, self._source_id)
                yield turn
                renewed = True
                if turn.kept is not None:
                    _store(session, self._source_id, turn.read, self._box.encrypt(turn.kept))
        except _DatabaseError as error:
            if not renewed or turn is None or turn.kept is None:
                raise FetchFailed(f"the source's API token couldn't be read: {_first_line(error)}") from None
            self._store_again(turn.read, turn.kept, error)

    def _store_again(self, read: str | None, token: str, error: BaseException) -> None:
        """The renewal's transaction failed to store `token`: try again in transactions of their own."""
        sealed = self._box.encrypt(token)
        for attempt in range(2, STORE_ATTEMPTS + 1):
            logger.warning(
                "source %s: storing its renewed API token failed (%s); trying again (%d of %d)",
                self._source_id,
                _first_line(error),
                attempt,
                STORE_ATTEMPTS,
            )
            try:
                with self._session_factory.begin() as session:
                    _store(session, self._source_id, read, sealed)
                return
            except _DatabaseError as again:
                error = again
        logger.error(
            "source %s: its API token was renewed but storing the new one failed %d times (%s): the refresh "
            "token stored is spent, so its runs fail until the admin sets a new token",
            self._source_id,
            STORE_ATTEMPTS,
            _first_line(error),
        )
        raise RenewedTokenLost(
            f"the OAuth token was renewed, but storing the new one failed {STORE_ATTEMPTS} times "
            f"({_first_line(error)}), and the refresh token stored is spent now",
            401,
        )


def _store(session: Session, source_id: str, read: str | None, sealed: str) -> None:
    """Store `sealed` in place of `read`. If the admin set another token meanwhile
    (`pipeday source set … --api-token`), theirs stands."""
    changed = session.execute(
        update(WebhookSource)
        .where(WebhookSource.id == source_id, WebhookSource.api_token_encrypted == read)
        .values(api_token_encrypted=sealed)
    )
    if getattr(changed, "rowcount", 1) != 1:
        logger.info("source %s: its API token was changed during a run; the renewed one isn't kept", source_id)


def _first_line(error: BaseException) -> str:
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig  # the driver's words, without SQLAlchemy's wrapping and SQL
    return str(error).partition("\n")[0] or type(error).__name__
