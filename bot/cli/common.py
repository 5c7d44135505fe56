"""Shared plumbing for CLI commands: settings, the database and the workspace to act on."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bot.domain.errors import DomainError

if TYPE_CHECKING:  # SQLAlchemy, Slack's SDK and the settings load when a command runs, not for --help
    from sqlalchemy import Engine
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.orm import Session, sessionmaker

    from bot.settings import Settings

logger = logging.getLogger(__name__)

_TEAM_ID = re.compile(r"[TE][A-Z0-9]{1,31}")
_ENTERPRISE_ID = re.compile(r"E[A-Z0-9]{1,31}")
F = TypeVar("F", bound=Callable[..., Any])
SUPPORTED_DATABASES = "sqlite:///path/to/pipeday.db or postgresql://user:password@host:5432/dbname"
# (backend, driver) pairs Pipeday ships drivers for; "" is the backend's default driver.
_SUPPORTED_DRIVERS = {("sqlite", ""), ("sqlite", "pysqlite"), ("postgresql", "psycopg")}


@dataclass
class CliState:
    """What commands share; each part is made when a command first needs it.

    With SLACK_CLIENT_ID (many workspaces) a command acts for the workspace its --team names,
    and once that is resolved `settings.bot_token` is that workspace's own token (or its org's),
    so whatever the command asks Slack goes to that workspace."""

    _settings: Settings | None = None
    _engine: Engine | None = None
    _session_factory: sessionmaker[Session] | None = None
    # --enterprise E…: the Enterprise Grid org of --team (many workspaces only).
    enterprise: str | None = None

    @property
    def settings(self) -> Settings:
        """The settings from the environment; a bad value is a one-line CLI error."""
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    @property
    def engine(self) -> Engine:
        """The engine for DATABASE_URL; a URL Pipeday can't use is a one-line CLI error."""
        if self._engine is None:
            from models.db import make_engine

            url = self.settings.database_url
            problem = database_url_problem(url)
            if problem is not None:
                raise click.ClickException(problem)
            self._engine = make_engine(url, self.settings.database_timeouts)
        return self._engine

    def require_existing_database(self) -> None:
        """Refuse, before connecting, a SQLite file that isn't there: connecting would create an
        empty one, and only `pipeday db upgrade` should do that."""
        from sqlalchemy import make_url
        from sqlalchemy.exc import ArgumentError

        from models.sqlite_files import missing_sqlite_file

        try:
            missing = missing_sqlite_file(make_url(self.settings.database_url))
        except ArgumentError:  # a malformed URL is explained where the engine is made
            return
        if missing is None:
            return
        folder = "" if missing.parent.is_dir() else f" (its folder {missing.parent} doesn't exist either)"
        raise click.ClickException(
            f"There's no database at {missing}{folder}. "
            "Check DATABASE_URL, or run `pipeday db upgrade` to create the database there."
        )

    def session_factory(self) -> sessionmaker[Session]:
        """Sessions on a database checked (once per command) to be fully migrated."""
        if self._session_factory is None:
            from models.db import DatabaseNotMigrated, ensure_migrated, make_session_factory

            self.require_existing_database()
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


def database_url_problem(url: str) -> str | None:
    """Why Pipeday can't use `url` (unreadable, or a database it has no driver for), or None."""
    problem = database_url_problem_text(url)
    return None if problem is None else f"{problem} Use {SUPPORTED_DATABASES}."


def database_url_problem_text(url: str) -> str | None:
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        # The text itself isn't repeated: a malformed URL may still hold a password.
        return "DATABASE_URL isn't a database URL I can read."
    backend, _, driver = parsed.drivername.partition("+")
    if (backend, driver) in _SUPPORTED_DRIVERS:
        return None
    return f"DATABASE_URL is a {parsed.drivername} URL, and Pipeday works with SQLite and PostgreSQL only."


@contextmanager
def cli_errors(ctx: click.Context, *, verbose: bool) -> Iterator[None]:
    """The one place every CLI failure becomes a sentence or two and exit code 1, never a traceback.

    Database faults (unreachable, refused, timed out) and domain refusals anywhere in a command
    are explained here; anything else is a bug, reported in one line (`--verbose` re-raises it
    for the traceback).
    """
    try:
        yield
    except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except DomainError as error:
        raise click.ClickException(f"{error.message} {error.hint or ''}".strip()) from None
    except Exception as error:
        if verbose:
            raise
        database_error = _database_error(error)
        if database_error is not None:
            verb = "reach" if database_error.statement is None else "use"  # no statement: connecting failed
            raise click.ClickException(
                f"Can't {verb} the database{_where(ctx)}: {_reason(database_error)}. "
                "Check DATABASE_URL and that the database is running."
            ) from None
        from models.availability import one_line

        logger.debug("unexpected error", exc_info=True)
        raise click.ClickException(
            f"Something went wrong that Pipeday didn't expect ({one_line(error)}). "
            "Run the command again as `pipeday --verbose …` to see the details."
        ) from None


def _database_error(error: Exception) -> DBAPIError | None:
    """`error` if the database driver raised it (SQLAlchemy is loaded by then: no need to import it before)."""
    from sqlalchemy.exc import DBAPIError

    return error if isinstance(error, DBAPIError) else None


def _where(ctx: click.Context) -> str:
    state = ctx.obj
    if not isinstance(state, CliState) or state._settings is None:
        return ""
    from sqlalchemy import make_url

    return f" at {make_url(state._settings.database_url).render_as_string(hide_password=True)}"


def _reason(error: DBAPIError) -> str:
    """The driver's own first line (`connection to server … failed: Connection refused`)."""
    lines = str(error.orig).strip().splitlines()
    return (lines[0] if lines else type(error.orig).__name__).rstrip(".")


def load_settings() -> Settings:
    from bot.settings import ConfigurationError, Settings

    try:
        return Settings.from_env(os.environ)
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None


def resolve_team(state: CliState, session: Session, team: str | None) -> str:
    """The workspace a CLI command acts on.

    Single-workspace installs use the bot token's own workspace (as auth.test reports it),
    so regions made here are the ones Slack users see. Without a token, the database's only
    workspace; `--team` is needed only without a token when the database holds no workspace
    yet (a fresh install) or several. With many workspaces (SLACK_CLIENT_ID), always.
    """
    if state.settings.multi_workspace:
        from bot.cli.workspaces import installed_team

        return installed_team(state, session, team)
    if team:
        return require_team_id(team)
    if state.settings.bot_token:
        from slack_sdk.errors import SlackApiError

        from bot.app import make_web_client

        try:
            return str(make_web_client(state.settings).auth_test()["team_id"])
        except SlackApiError as error:
            raise click.ClickException(
                f"Slack rejected SLACK_BOT_TOKEN ({error.response.get('error')}). Fix the token or pass --team T…."
            ) from None
    from bot.domain.directory import workspace_ids

    known = workspace_ids(session)
    if len(known) == 1:
        return known[0]
    if not known:
        raise click.ClickException(
            "This database has no workspace yet and SLACK_BOT_TOKEN isn't set, so I can't tell which Slack "
            "workspace this is: pass --team with your team id (T…, the part after /client/ in Slack's web address), "
            "or set SLACK_BOT_TOKEN. Later commands use that workspace without --team."
        )
    raise click.ClickException(f"This database holds several workspaces ({', '.join(known)}); pass --team.")


def require_team_id(team: str) -> str:
    """A Slack team id as typed after --team (`T0123ABCD`, or `E…` for an Enterprise org)."""
    cleaned = team.strip()
    if not _TEAM_ID.fullmatch(cleaned):
        raise click.BadParameter(
            f"{team!r} isn't a Slack team id. Team ids look like T0123ABCD "
            "(the part after /client/ in Slack's web address).",
            param_hint="--team",
        )
    return cleaned


def _remember_enterprise(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    cleaned = value.strip()
    if not _ENTERPRISE_ID.fullmatch(cleaned):
        raise click.BadParameter(f"{value!r} isn't an Enterprise Grid org id (E0123ABCD).", ctx, param)
    ctx.ensure_object(CliState).enterprise = cleaned


def team_option(command: F) -> F:
    """--team T… (and, for a workspace of an Enterprise Grid org with many workspaces, --enterprise E…)."""
    command = click.option(
        "--enterprise",
        expose_value=False,
        callback=_remember_enterprise,
        help="With SLACK_CLIENT_ID: the Enterprise Grid org (E…) --team belongs to, when Pipeday is installed org-wide.",
    )(command)
    return click.option(
        "--team",
        help="Slack team id (T…). Needed only without SLACK_BOT_TOKEN, when the database has no workspace yet or "
        "several. With SLACK_CLIENT_ID (many workspaces), always.",
    )(command)


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
