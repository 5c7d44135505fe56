"""`pipeday source add|list|remove`: where vendors' webhooks arrive (bot/hooks.py).

pipeday source add generic --name zapier
"""

from __future__ import annotations

import click

from bot.cli.common import CliState, pass_state, team_option, team_session


@click.group(help="Webhook sources: the URL and secret a vendor signs its deliveries with.")
def source() -> None:
    pass


@source.command("add", help="Add a KIND source (only `generic` so far) and print its URL and secret, once.")
@click.argument("kind")
@click.option("--name", default=None, help="The source's name (default: KIND); activities' default source.")
@team_option
@pass_state
def source_add(state: CliState, kind: str, name: str | None, team: str | None) -> None:
    from bot.domain.secret_box import SecretBox
    from bot.domain.webhook_sources import add_source, hook_path
    from bot.settings import ConfigurationError

    try:
        box = SecretBox(state.settings.secret_key)
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None
    with team_session(state, team) as (session, team_id):
        made = add_source(session, team_id, kind, name, box)
    base = state.settings.public_url or "<PIPEDAY_PUBLIC_URL>"
    click.echo(f"Source {made.name} ({made.kind}) for {team_id}. Paste into the sender:")
    click.echo(f"  URL:    {base}{hook_path(made.kind, made.id)}")
    click.echo(f"  Secret: {made.secret}")
    click.echo("The secret is shown only now. Sign each POST with X-Pipeday-Timestamp (unix seconds) and")
    click.echo("X-Pipeday-Signature: v0=<hex HMAC-SHA256 of v0:{timestamp}:{body}>.")
    if state.settings.public_url is None:
        click.echo("PIPEDAY_PUBLIC_URL isn't set: put this app's public base URL in front of the path.")


@source.command("list", help="Sources: name, kind, URL, created.")
@team_option
@pass_state
def source_list(state: CliState, team: str | None) -> None:
    from bot.domain.webhook_sources import hook_path, list_sources

    base = state.settings.public_url or "<PIPEDAY_PUBLIC_URL>"
    with team_session(state, team) as (session, team_id):
        sources = list_sources(session, team_id)
        if not sources:
            click.echo("No webhook sources yet: `pipeday source add generic --name NAME` makes one.")
            return
        for found in sources:
            url = f"{base}{hook_path(found.kind, found.id)}"
            click.echo(f"{found.name}  {found.kind}  {url}  created {found.created_at:%Y-%m-%d %H:%M}")


@source.command("remove", help="Remove the source named NAME: its URL answers 401 from now on.")
@click.argument("name")
@team_option
@pass_state
def source_remove(state: CliState, name: str, team: str | None) -> None:
    from bot.domain.webhook_sources import remove_source

    with team_session(state, team) as (session, team_id):
        removed = remove_source(session, team_id, name)
        removed_name = removed.name
    click.echo(f"Source {removed_name} removed: deliveries to its URL now get 401.")
