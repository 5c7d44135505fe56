"""Shared plumbing for CLI commands: settings, the database and the workspace to act on."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import click
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.app import make_web_client
from bot.domain.directory import workspace_ids
from bot.domain.errors import DomainError
from bot.settings import ConfigurationError, Settings
from models.db import DatabaseNotMigrated, ensure_migrated, make_engine, make_session_factory


@dataclass
class CliState:
    settings: Settings
    _engine: Engine | None = None
    _session_factory: sessionmaker[Session] | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url, self.settings.database_timeouts)
        return self._engine

    def session_factory(self) -> sessionmaker[Session]:
        """Sessions on a database checked (once per command) to be fully migrated."""
        if self._session_factory is None:
            try:
                ensure_migrated(self.engine)
            except DatabaseNotMigrated as error:
                raise click.ClickException(str(error)) from None
            self._session_factory = make_session_factory(self.engine)
        return self._session_factory

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.session_factory().begin() as session:
            yield session


pass_state = click.make_pass_decorator(CliState)


def load_settings() -> Settings:
    try:
        return Settings.from_env(os.environ)
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None


def resolve_team(state: CliState, session: Session, team: str | None) -> str:
    """The workspace a CLI command acts on.

    Single-workspace installs use the bot token's own workspace (as auth.test reports it),
    so regions made here are the ones Slack users see. `--team` is needed only when the
    database already holds several workspaces and there is no token to ask.
    """
    if team:
        return team
    if state.settings.bot_token:
        try:
            return str(make_web_client(state.settings).auth_test()["team_id"])
        except SlackApiError as error:
            raise click.ClickException(
                f"Slack rejected SLACK_BOT_TOKEN ({error.response.get('error')}). Fix the token or pass --team T…."
            ) from None
    known = workspace_ids(session)
    if len(known) == 1:
        return known[0]
    if not known:
        raise click.ClickException(
            "I can't tell which Slack workspace this is: set SLACK_BOT_TOKEN (its workspace is used) or pass --team T…."
        )
    raise click.ClickException(f"This database holds several workspaces ({', '.join(known)}); pass --team.")


team_option = click.option("--team", help="Slack team id (only needed when several workspaces share the database).")


@contextmanager
def domain_errors() -> Iterator[None]:
    """Show refusals from the domain as a one-line CLI error (exit code 1)."""
    try:
        yield
    except DomainError as error:
        raise click.ClickException(f"{error.message} {error.hint or ''}".strip()) from None


@contextmanager
def team_session(state: CliState, team: str | None) -> Iterator[tuple[Session, str]]:
    """The opening every workspace command shares: one transaction, the workspace it acts on,
    and domain refusals shown as a one-line CLI error (the transaction is rolled back)."""
    with state.transaction() as session, domain_errors():
        yield session, resolve_team(state, session, team)
