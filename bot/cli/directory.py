"""`pipeday region …` and `pipeday role …`."""

from __future__ import annotations

import click

from bot.cli.common import CliState, pass_state, team_option, team_session
from bot.domain.directory import (
    ROLES,
    add_region,
    ensure_member,
    list_regions,
    region_member_count,
    set_role,
    update_region,
)


def register(cli: click.Group) -> None:
    cli.add_command(region)
    cli.add_command(role)


@click.group(help="Regions: name, time zone and announcement channel.")
def region() -> None:
    pass


@region.command("add", help="Add a region, e.g. `pipeday region add AMER --tz America/New_York --channel C0123`.")
@click.argument("name")
@click.option("--tz", required=True, help="IANA time zone, e.g. Europe/London.")
@click.option("--channel", "channel_id", help="Channel id for announcements (C…).")
@team_option
@pass_state
def region_add(state: CliState, name: str, tz: str, channel_id: str | None, team: str | None) -> None:
    with team_session(state, team) as (session, team_id):
        added = add_region(session, team_id, name, tz, channel_id, actor="cli")
        click.echo(f"Added region {added.name} ({added.tz}) in {team_id}.")


@region.command("set", help="Change a region's time zone or channel, e.g. `pipeday region set AMER --channel C0123`.")
@click.argument("name")
@click.option("--tz", help="IANA time zone, e.g. Europe/London.")
@click.option("--channel", "channel_id", help="Channel id for announcements (C…).")
@team_option
@pass_state
def region_set(state: CliState, name: str, tz: str | None, channel_id: str | None, team: str | None) -> None:
    if tz is None and channel_id is None:
        raise click.UsageError("Give --tz and/or --channel.")
    with team_session(state, team) as (session, team_id):
        changed = update_region(session, team_id, name, tz=tz, channel_id=channel_id, actor="cli")
        click.echo(f"{changed.name}: {changed.tz}, channel {changed.channel_id or '-'}.")


@region.command("list", help="List regions.")
@team_option
@pass_state
def region_list(state: CliState, team: str | None) -> None:
    with team_session(state, team) as (session, team_id):
        regions = list_regions(session, team_id)
        if not regions:
            click.echo("No regions yet. Add one: pipeday region add AMER --tz America/New_York --channel C…")
        for item in regions:
            members = region_member_count(session, item.id)
            click.echo(f"{item.name:<10} {item.tz:<24} {item.channel_id or '-':<12} {members} members")


@click.group(help="Member roles.")
def role() -> None:
    pass


@role.command("set", help="Set a member's role: rep, leader, manager or admin.")
@click.argument("user_id")
@click.argument("new_role", metavar="ROLE", type=click.Choice(ROLES, case_sensitive=False))
@team_option
@pass_state
def role_set(state: CliState, user_id: str, new_role: str, team: str | None) -> None:
    with team_session(state, team) as (session, team_id):
        ensure_member(session, team_id, user_id, user_id)
        set_role(session, team_id, "cli", user_id, new_role.lower())
        click.echo(f"{user_id} is now {new_role.lower()} in {team_id}.")
