"""`pipeday db …`: migrations (its summary is in bot.cli.main.COMMANDS)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from bot.cli.common import CliState, pass_state


@click.group()
def db() -> None:
    pass


@db.command("upgrade", help="Apply every pending migration (concurrent runs wait for each other).")
@pass_state
def db_upgrade(state: CliState) -> None:
    from models.db import upgrade

    with _migration_errors():
        result = upgrade(state.engine)
    if result.before == result.after:
        click.echo(f"Database already at head ({result.after}).")
    else:
        click.echo(f"Database upgraded to {result.after} (was {result.before or 'empty'}).")


@db.command("downgrade", help="Undo migrations down to REV (a revision id, or `base` for an empty database).")
@click.argument("rev")
@pass_state
def db_downgrade(state: CliState, rev: str) -> None:
    from models.db import downgrade

    state.require_existing_database()
    with _migration_errors():
        result = downgrade(state.engine, rev)
    if result.before == result.after:
        click.echo(f"Database already at {result.after or 'base'}.")
    else:
        click.echo(f"Database downgraded to {result.after or 'base (no Pipeday tables)'} (was {result.before}).")


@db.command("status", help="Show the schema revision and whether migrations are pending.")
@pass_state
def db_status(state: CliState) -> None:
    from models.db import current_revision, head_revision, is_known_revision, newer_database_message

    state.require_existing_database()
    current, head = current_revision(state.engine), head_revision()
    if current is not None and not is_known_revision(current):
        advice = newer_database_message(current)
    else:
        advice = "up to date" if current == head else "run `pipeday db upgrade`"
    click.echo(f"current: {current or 'none'}  head: {head}  {advice}")


@contextmanager
def _migration_errors() -> Iterator[None]:
    """A refusal (a newer database, an unknown revision) is one line, not a traceback
    (cli_errors explains a database that can't be reached)."""
    from models.db import DatabaseNewerThanCode, MigrationError

    try:
        yield
    except (DatabaseNewerThanCode, MigrationError) as error:
        raise click.ClickException(str(error)) from None
