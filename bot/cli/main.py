"""`pipeday` — the operator's command line."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import click

from bot.cli import competitions, demo, directory, doctor, goals, jobs, members, prizes, serve
from bot.cli.common import CliState, cli_errors, load_settings, pass_state
from models.db import (
    DatabaseNewerThanCode,
    MigrationError,
    current_revision,
    downgrade,
    head_revision,
    is_known_revision,
    newer_database_message,
    upgrade,
)

# Commands that keep running and log what happens to the database themselves.
_LONG_RUNNING = frozenset({"serve", "clock"})


class PipedayGroup(click.Group):
    """Runs every command inside cli_errors: a failure is a sentence or two, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        with cli_errors(ctx, verbose=bool(ctx.params.get("verbose"))):
            return super().invoke(ctx)


@click.group(
    cls=PipedayGroup,
    help="Pipeday: prospecting competitions in Slack. Configuration comes from the environment.",
)
@click.option("--verbose", "-v", is_flag=True, help="Log debug output (and show tracebacks).")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)
    if ctx.invoked_subcommand not in _LONG_RUNNING and not verbose:
        # A one-shot command says itself, once, that the database can't be reached.
        breaker_log = logging.getLogger("models.availability")
        level = breaker_log.level
        breaker_log.setLevel(logging.CRITICAL)
        ctx.call_on_close(lambda: breaker_log.setLevel(level))
    ctx.obj = CliState(settings=load_settings())


@cli.group(help="Database maintenance.")
def db() -> None:
    pass


@db.command("upgrade", help="Apply every pending migration (concurrent runs wait for each other).")
@pass_state
def db_upgrade(state: CliState) -> None:
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
    try:
        yield
    except (DatabaseNewerThanCode, MigrationError) as error:
        raise click.ClickException(str(error)) from None


for module in (serve, directory, members, doctor, competitions, prizes, goals, demo, jobs):
    module.register(cli)
