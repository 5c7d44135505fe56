"""`pipeday` — the operator's command line.

Each top-level command's module is imported only when that command runs or shows its help
(click's "lazily loading subcommands" pattern): `pipeday --help` and `pipeday <verb> --help`
load neither SQLAlchemy nor Slack's SDK. The modules do their heavy imports inside commands.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Any

import click

from bot.cli.common import CliState, cli_errors

# Commands that keep running and log what happens to the database themselves.
_LONG_RUNNING = frozenset({"serve", "clock"})


@dataclass(frozen=True)
class LazyCommand:
    """Where a top-level command lives, and its one line in `pipeday --help` (the only copy:
    the loaded command takes it as its short help, and as its help when it has no longer text)."""

    module: str
    attribute: str
    summary: str


COMMANDS: dict[str, LazyCommand] = {
    "apikey": LazyCommand("bot.cli.ingestion", "apikey", "API keys for the batch activity API."),
    "clock": LazyCommand("bot.cli.jobs", "clock", "Run the scheduler (the Procfile's `clock:`)."),
    "competition": LazyCommand(
        "bot.cli.competitions", "competition", "Prospecting days: a metric, a weekday and a local window, per region."
    ),
    "db": LazyCommand("bot.cli.database", "db", "Database maintenance."),
    "demo": LazyCommand("bot.cli.demo", "demo", "Play a prospecting week in the terminal, no Slack needed."),
    "doctor": LazyCommand("bot.cli.doctor", "doctor", "Check the configuration, the database, Slack and the setup."),
    "flags": LazyCommand("bot.cli.flags", "flags", "Unusual activity and disputes: list them, keep or void them."),
    "goals": LazyCommand(
        "bot.cli.goals", "goals", "Weekly goals: defaults per job, overridden per job, region or member."
    ),
    "holiday": LazyCommand("bot.cli.goals", "holiday", "Holidays: days that neither count toward nor break a streak."),
    "import": LazyCommand("bot.cli.importing", "import_file", "Import activity from a CSV file (backfill history)."),
    "ingest": LazyCommand("bot.cli.ingestion", "ingest", "Activity from other systems: what is parked."),
    "jobs": LazyCommand("bot.cli.jobs", "jobs", "Scheduled posts: list them, run one now, change when they run."),
    "lift": LazyCommand("bot.cli.lift", "lift", "What the prospecting days changed, with confidence intervals."),
    "member": LazyCommand("bot.cli.members", "member", "Members: job (AE or SDR), region, display name and email."),
    "prize": LazyCommand("bot.cli.prizes", "prize", "Prizes on the wheel and the awards won."),
    "ramp": LazyCommand("bot.cli.goals", "ramp", "Start goals low and raise them as the team hits them."),
    "region": LazyCommand("bot.cli.directory", "region", "Regions: name, time zone and announcement channel."),
    "role": LazyCommand("bot.cli.directory", "role", "Member roles."),
    "serve": LazyCommand("bot.cli.serve", "serve", "Run the bot (Socket Mode or HTTP)."),
    "source": LazyCommand("bot.cli.sources", "source", "Webhook sources: URLs and secrets for vendors' webhooks."),
    "spin": LazyCommand("bot.cli.prizes", "spin", "Spins of the prize wheel."),
    "trust": LazyCommand("bot.cli.trust", "trust", "Thresholds of the flag rules, per workspace."),
    "tv": LazyCommand("bot.cli.tv", "tv", "Wallboard links: a region's live board on the sales floor's TV."),
    "workdays": LazyCommand("bot.cli.goals", "workdays", "Working days for streaks (Monday–Friday unless set)."),
    "workspace": LazyCommand(
        "bot.cli.workspaces", "workspace", "Workspaces Pipeday is installed in: list them, purge a removed one."
    ),
}


class PipedayGroup(click.Group):
    """Loads each command's module on first use, and runs every command inside cli_errors:
    a failure is a sentence or two, never a traceback."""

    def __init__(self, *args: Any, lazy_commands: dict[str, LazyCommand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        lazy = self.lazy_commands.get(cmd_name)
        if lazy is None or cmd_name in self.commands:
            return super().get_command(ctx, cmd_name)
        command = getattr(importlib.import_module(lazy.module), lazy.attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{lazy.module}.{lazy.attribute} is not a click command")
        command.short_help = lazy.summary
        if command.help is None:
            command.help = lazy.summary
        self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """`pipeday --help` lists the summaries without importing any command's module."""
        rows = [
            (name, self.lazy_commands[name].summary) for name in self.list_commands(ctx) if name in self.lazy_commands
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> object:
        with cli_errors(ctx, verbose=bool(ctx.params.get("verbose"))):
            return super().invoke(ctx)


@click.group(
    cls=PipedayGroup,
    lazy_commands=COMMANDS,
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
    # The settings are read when a command first needs them, so `pipeday <verb> --help` reads nothing.
    ctx.obj = CliState()
