"""`pipeday tv link|list|revoke`: links to a region's wallboard, for the sales floor's TV.

pipeday tv link AMER --name lobby
"""

from __future__ import annotations

import click

from bot.cli.common import CliState, pass_state, team_option, team_session


@click.group(help="Wallboard links: a region's live board on a TV, at /tv/<token> (only a hash is stored).")
def tv() -> None:
    pass


@tv.command("link", help="Make a link to REGION's wallboard and print its URL, once: open it on the TV.")
@click.argument("region")
@click.option("--name", default=None, help="The link's name, to revoke it by (default: <region>-tv).")
@team_option
@pass_state
def tv_link(state: CliState, region: str, name: str | None, team: str | None) -> None:
    from bot.domain.directory import require_region
    from bot.domain.tv_links import create_link, tv_url

    with team_session(state, team) as (session, team_id):
        made = create_link(session, require_region(session, team_id, region), name=name, created_by="cli")
    url = tv_url(state.settings.public_url, made.token)
    click.echo(f"TV link {made.name} for {made.region} (shown only now; only its hash is stored):")
    click.echo(f"  {url or made.path}")
    if url is None:
        click.echo("PIPEDAY_PUBLIC_URL isn't set: put this app's public base URL in front of the path.")
    click.echo(f"Anyone with the link sees {made.region}'s board. Turn it off with: pipeday tv revoke {made.name}")


@tv.command("list", help="Links: name, region, created, revoked.")
@team_option
@pass_state
def tv_list(state: CliState, team: str | None) -> None:
    from bot.domain.tv_links import list_links

    with team_session(state, team) as (session, team_id):
        links = list_links(session, team_id)
        if not links:
            click.echo("No TV links yet: `pipeday tv link REGION` makes one.")
            return
        for link in links:
            status = f"revoked {link.revoked_at:%Y-%m-%d %H:%M}" if link.revoked_at else "active"
            click.echo(
                f"{link.name}  {link.region.name}  created {link.created_at:%Y-%m-%d %H:%M} by {link.created_by}  {status}"
            )


@tv.command("revoke", help="Turn the link named NAME off, at once: its TV says so.")
@click.argument("name")
@team_option
@pass_state
def tv_revoke(state: CliState, name: str, team: str | None) -> None:
    from bot.domain.tv_links import revoke_link
    from models import utc_now

    with team_session(state, team) as (session, team_id):
        revoke_link(session, team_id, name, utc_now())
    click.echo(f"TV link {name} revoked: its page now says the link was turned off.")
