"""`pipeday import FILE.csv [--source NAME] [--map column=field …] [--dry-run]`: backfill
activity from a CSV export through the batch API's own path (bot/ingest/csv_import.py).

pipeday import calls.csv --source salesforce --map "Activity ID=external_id" --map "Date=occurred_at"
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import click

from bot.cli.common import CliState, pass_state, team_option, team_session

if TYPE_CHECKING:
    from bot.domain.ingestion import EmailResolver
    from bot.ingest.csv_import import ImportSummary, Progress
    from bot.settings import Settings


# Why an email-keyed row is parked when no Slack token is set (shown by `pipeday ingest unmatched`).
NOT_LOOKED_UP = "not looked up in Slack: SLACK_BOT_TOKEN isn't set where `pipeday import` ran"


@click.command(
    "import",
    help="Import activity from a CSV file (the batch API's fields as columns). Rerunning it creates nothing new.",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--source", default="import", show_default=True, help="The source of rows that don't name one.")
@click.option("--map", "maps", multiple=True, metavar="COLUMN=FIELD", help="Read COLUMN as FIELD (repeatable).")
@click.option("--dry-run", is_flag=True, help="Check every row and report; store nothing.")
@team_option
@pass_state
def import_file(
    state: CliState, file: str, source: str, maps: tuple[str, ...], dry_run: bool, team: str | None
) -> None:
    from bot.ingest.csv_import import BadHeader, import_csv, parse_mapping
    from models import utc_now

    try:
        mapping = parse_mapping(maps)
    except BadHeader as error:
        raise click.ClickException(str(error)) from None
    with team_session(state, team) as (_, team_id):
        pass
    resolve_email = _email_resolver(state.settings)
    size = os.path.getsize(file)
    started = time.monotonic()
    with open(file, newline="", encoding="utf-8-sig") as lines:
        try:
            summary = import_csv(
                state.session_factory(),
                team_id,
                source,
                lines,
                utc_now(),
                resolve_email,
                mapping=mapping,
                dry_run=dry_run,
                on_batch=lambda progress: _show_progress(progress, size, started),
            )
        except BadHeader as error:
            raise click.ClickException(str(error)) from None
    click.echo("", err=True)
    _show_summary(summary, dry_run)
    if summary.counts["created"] and not dry_run:
        _correct_closed_days(state, team_id, source)
    if summary.counts["unmatched"] and not state.settings.bot_token:
        click.echo(
            "SLACK_BOT_TOKEN isn't set, so emails no member has yet weren't looked up in Slack (and nothing was "
            "remembered about them): set it and import the file again (stored rows count as duplicates), or "
            "link each email with `pipeday member link EMAIL U…`."
        )


def _correct_closed_days(state: CliState, team_id: str, source: str) -> None:
    """Rows that fall in a competition day closed lately (within bot.domain.late_arrivals'
    limit) correct its results, as late activity from the batch API does; the results posts
    are edited in place when a Slack token is set."""
    from bot.domain.activity_sources import api_source
    from bot.posting.late_results import after_import
    from models import utc_now

    now = utc_now()
    corrected = after_import(state.session_factory(), team_id, api_source(source), now)
    if not corrected:
        return
    click.echo(f"Corrected the results of {len(corrected)} closed competition day(s) the file's rows fell in.")
    if not state.settings.bot_token:
        click.echo("SLACK_BOT_TOKEN isn't set, so their results posts in Slack still show the old standings.")
        return
    from bot.app import make_web_client
    from bot.posting.late_results import refresh_corrected_results

    client = make_web_client(state.settings)
    for problem in refresh_corrected_results(lambda day_id: client, state.session_factory(), corrected, now):
        click.echo(f"({problem})")


def _email_resolver(settings: Settings) -> EmailResolver:
    """Slack's users.lookupByEmail with the workspace's bot token (for a workspace of an org-wide
    install, its org's token told which workspace: `make_web_client`). Without a token nobody can
    be asked: emails already cached on members match, the others park with NOT_LOOKED_UP and no
    "nobody has it" is remembered, so a run with a token or `pipeday member link` matches them."""
    if not settings.bot_token:
        from bot.domain.ingestion import EmailLookupUnavailable

        def cannot_ask(_email: str) -> str | None:
            raise EmailLookupUnavailable(NOT_LOOKED_UP)

        return cannot_ask
    from bot.api import slack_email_resolver
    from bot.app import make_web_client

    return slack_email_resolver(make_web_client(settings))


def _show_progress(progress: Progress, size: int, started: float) -> None:
    elapsed = max(time.monotonic() - started, 1e-6)
    rate = progress.rows / elapsed
    done = min(progress.bytes_read / size, 1.0) if size else 1.0
    left = elapsed * (1 - done) / done if done else 0.0
    click.echo(f"\r{progress.rows:,} rows  {rate:,.0f} rows/s  ~{left:,.0f} s left   ", nl=False, err=True)


def _show_summary(summary: ImportSummary, dry_run: bool) -> None:
    counts = summary.counts
    verb = "Checked" if dry_run else "Imported"
    click.echo(
        f"{verb} {summary.rows:,} rows: {counts['created']:,} created, {counts['duplicate']:,} duplicate, "
        f"{counts['unmatched']:,} unmatched, {counts['rejected']:,} rejected."
    )
    if dry_run:
        click.echo('Dry run: nothing was stored ("created" is what an import would create).')
    for line, external_id, reason in summary.problems:
        click.echo(f"  line {line} ({external_id or 'no external_id'}): {reason}")
    if counts["rejected"] > len(summary.problems):
        click.echo(f"  … and {counts['rejected'] - len(summary.problems):,} more rejected.")
    if counts["unmatched"]:
        click.echo(
            "Unmatched rows are parked: `pipeday ingest unmatched` lists them, `pipeday member link` replays them."
        )
