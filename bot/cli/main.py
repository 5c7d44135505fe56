"""`pipeday` — the operator's command line."""

from __future__ import annotations

import logging

import click

from bot.cli import competitions, demo, directory, doctor, goals, jobs, prizes, serve
from bot.cli.common import CliState, load_settings, pass_state
from models.db import current_revision, head_revision, upgrade


@click.group(help="Pipeday: prospecting competitions in Slack. Configuration comes from the environment.")
@click.option("--verbose", "-v", is_flag=True, help="Log debug output.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)
    ctx.obj = CliState(settings=load_settings())


@cli.group(help="Database maintenance.")
def db() -> None:
    pass


@db.command("upgrade", help="Apply every pending migration.")
@pass_state
def db_upgrade(state: CliState) -> None:
    before = current_revision(state.engine)
    upgrade(state.engine)
    after = current_revision(state.engine)
    click.echo(f"Database at {after} (was {before or 'empty'}).")


@db.command("status", help="Show the schema revision and whether migrations are pending.")
@pass_state
def db_status(state: CliState) -> None:
    current, head = current_revision(state.engine), head_revision()
    click.echo(
        f"current: {current or 'none'}  head: {head}  {'up to date' if current == head else 'run `pipeday db upgrade`'}"
    )


for module in (serve, directory, doctor, competitions, prizes, goals, demo, jobs):
    module.register(cli)
