"""slack_sdk's SQLAlchemy installation and OAuth state stores, on Pipeday's database, with the
tokens sealed at rest.

Why a subclass of slack_sdk's `SQLAlchemyInstallationStore` rather than a store of our own:
Bolt's OAuth flow, its authorize step (token rotation included) and its uninstall listeners
all speak that store's interface, and the store's queries (the latest installation per
org/workspace, the bot-token fallback, deletes per org/workspace/user) are subtle enough to
reuse rather than rewrite. The one thing it lacks, encryption, is added where the values meet
the database: its tables' token columns get a column type that encrypts with PIPEDAY_SECRET_KEY
(Fernet, bot.domain.secret_box) on the way in and decrypts on the way out. Its queries never
filter on a token's value (only `IS NOT NULL`), so they work unchanged on ciphertext, and every
installation or bot it hands back carries plain tokens. The tables are models/installations.py's
(created by migration 0016), never created at run time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Connection, Engine, Table, and_, delete, or_, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.types import Text, TypeDecorator

from bot.domain.secret_box import SecretBox
from bot.settings import ConfigurationError
from models.installations import TOKEN_COLUMNS

logger = logging.getLogger(__name__)

# How long an "Add to Slack" link stays good (Bolt's default).
STATE_EXPIRATION_SECONDS = 600


class TokenUnreadable(ConfigurationError):
    """A stored token doesn't decrypt with this PIPEDAY_SECRET_KEY."""


class SealedToken(TypeDecorator[str]):
    """A token column: Fernet ciphertext in the database, the token in Python."""

    impl = Text
    cache_ok = True

    def __init__(self, box: SecretBox) -> None:
        super().__init__()
        self.box = box

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.box.encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        try:
            return self.box.decrypt(value)
        except ConfigurationError:
            raise TokenUnreadable(
                "A workspace's Slack token can't be decrypted with this PIPEDAY_SECRET_KEY: was the key changed? "
                "Set the key the tokens were stored with, or install Pipeday into the workspace again."
            ) from None


@dataclass(frozen=True)
class InstalledBot:
    """One org's or workspace's current bot install (its latest), tokens decrypted."""

    enterprise_id: str | None
    team_id: str | None
    is_enterprise_install: bool
    bot: Bot


class SealedInstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's store with its token columns sealed (see the module's docstring)."""

    def __init__(self, client_id: str, engine: Engine, box: SecretBox) -> None:
        super().__init__(client_id=client_id, engine=engine, logger=logger)
        sealed = SealedToken(box)
        for table in (self.installations, self.bots):
            _seal(table, sealed)

    def bot_on(
        self, connection: Connection, *, enterprise_id: str | None, team_id: str | None, org_wide: bool
    ) -> Bot | None:
        """`find_bot`, on a connection already in a transaction (a CLI command's): on SQLite a
        second connection would wait for the write lock that transaction holds."""
        c = self.bots.c
        query = (
            self.bots.select()
            .where(
                c.client_id == self.client_id,
                _matches(c.enterprise_id, enterprise_id),
                _matches(c.team_id, None if org_wide else team_id),
                c.bot_token.is_not(None),
            )
            .order_by(c.installed_at.desc())
            .limit(1)
        )
        row = connection.execute(query).mappings().first()
        return None if row is None else self.build_bot_entity(row)

    def has_org_wide_install(self, connection: Connection, enterprise_id: str) -> bool:
        c = self.installations.c
        query = select(c.id).where(
            c.client_id == self.client_id,
            c.enterprise_id == enterprise_id,
            c.team_id.is_(None),
            c.is_enterprise_install.is_(True),
        )
        return connection.execute(query.limit(1)).first() is not None

    def latest_bots(self) -> list[InstalledBot]:
        """Every org's and workspace's latest bot install (what `find_bot` would answer for it)."""
        c = self.bots.c
        query = (
            self.bots.select()
            .where(c.client_id == self.client_id, c.bot_token.is_not(None))
            .order_by(c.installed_at.desc(), c.id.desc())
        )
        latest: dict[tuple[str | None, str | None], InstalledBot] = {}
        with self.engine.connect() as connection:
            for row in connection.execute(query).mappings():
                key = (row["enterprise_id"], row["team_id"])
                if key not in latest:
                    bot = self.build_bot_entity(row)
                    latest[key] = InstalledBot(key[0], key[1], bool(row["is_enterprise_install"]), bot)
        return list(latest.values())

    def expiring(self, before: datetime) -> list[tuple[str | None, str | None, bool]]:
        """(enterprise_id, team_id, is_enterprise_install) of installs whose latest bot token
        rotates and expires before `before`."""
        c = self.bots.c
        newer = self.bots.alias("newer")
        query = select(c.enterprise_id, c.team_id, c.is_enterprise_install).where(
            c.client_id == self.client_id,
            c.bot_refresh_token.is_not(None),
            c.bot_token_expires_at < before.astimezone(UTC).replace(tzinfo=None),
            ~select(newer.c.id)
            .where(
                newer.c.client_id == c.client_id,
                _same(newer.c.enterprise_id, c.enterprise_id),
                _same(newer.c.team_id, c.team_id),
                newer.c.installed_at > c.installed_at,
            )
            .exists(),
        )
        with self.engine.connect() as connection:
            return [(row[0], row[1], bool(row[2])) for row in connection.execute(query)]

    def forget_user_tokens(self, *, enterprise_id: str | None, team_id: str | None, user_ids: list[str]) -> None:
        """tokens_revoked for users only: their user tokens go, the bot token on the same
        installation row stays (Bolt's default deletes the whole row, bot token and all)."""
        c = self.installations.c
        with self.engine.begin() as connection:
            connection.execute(
                update(self.installations)
                .where(
                    c.client_id == self.client_id,
                    _matches(c.enterprise_id, enterprise_id),
                    _matches(c.team_id, team_id),
                    c.user_id.in_(user_ids),
                )
                .values(user_token=None, user_refresh_token=None, user_token_expires_at=None, user_scopes=None)
            )

    def delete_team_rows(self, team_id: str) -> int:
        """Every install row of one workspace (a purge): not its org's org-wide rows."""
        removed = 0
        with self.engine.begin() as connection:
            for table in (self.installations, self.bots):
                removed += connection.execute(delete(table).where(table.c.team_id == team_id)).rowcount or 0
        return removed


def _seal(table: Table, sealed: SealedToken) -> None:
    for name in TOKEN_COLUMNS:
        if name in table.c:
            table.c[name].type = sealed


def _matches(column: Any, value: str | None) -> Any:
    """`column = value`, None meaning IS NULL (a workspace outside any org, an org-wide row)."""
    return column.is_(None) if value is None else column == value


def _same(column: Any, other: Any) -> Any:
    """Two columns holding the same value, or both NULL."""
    return or_(column == other, and_(column.is_(None), other.is_(None)))


def make_state_store(engine: Engine) -> SQLAlchemyOAuthStateStore:
    """slack_sdk's OAuth state store on the `slack_oauth_states` table: each state is used once."""
    return SQLAlchemyOAuthStateStore(expiration_seconds=STATE_EXPIRATION_SECONDS, engine=engine, logger=logger)


def forget_expired_states(state_store: SQLAlchemyOAuthStateStore, now: datetime) -> int:
    """States nobody came back with (an abandoned "Add to Slack"): the store only deletes used ones."""
    table = state_store.oauth_states
    cutoff = now.astimezone(UTC).replace(tzinfo=None)
    with state_store.engine.begin() as connection:
        return connection.execute(delete(table).where(table.c.expire_at < cutoff)).rowcount or 0
