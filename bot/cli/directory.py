"""`pipeday region …` and `pipeday role …`."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from bot.cli.common import CliState, pass_state, team_option, team_session
from bot.domain.member_roles import ROLES
from bot.domain.text_input import is_slack_user_id


@click.group()  # its help is its summary in bot.cli.main.COMMANDS
def region() -> None:
    pass


@region.command(
    "add",
    short_help="Add a region.",
    help="Add a region, e.g. `pipeday region add AMER --tz America/New_York --channel C0123`.",
)
@click.argument("name")
@click.option("--tz", required=True, help="IANA time zone, e.g. Europe/London.")
@click.option("--channel", "channel_id", help="Channel id for announcements (C…).")
@team_option
@pass_state
def region_add(state: CliState, name: str, tz: str, channel_id: str | None, team: str | None) -> None:
    from bot.domain.directory import add_region

    _refuse_channel_name(channel_id)
    with team_session(state, team) as (session, team_id):
        added = add_region(session, team_id, name, tz, channel_id, actor="cli")
        region_name = added.name
        click.echo(f"Added region {added.name} ({added.tz}) in {team_id}.")
    _after_region_saved(state, region_name, tz, channel_id)


@region.command(
    "set",
    short_help="Change a region's time zone or channel.",
    help="Change a region's time zone or channel, e.g. `pipeday region set AMER --channel C0123`.",
)
@click.argument("name")
@click.option("--tz", help="IANA time zone, e.g. Europe/London.")
@click.option("--channel", "channel_id", help="Channel id for announcements (C…).")
@team_option
@pass_state
def region_set(state: CliState, name: str, tz: str | None, channel_id: str | None, team: str | None) -> None:
    if tz is None and channel_id is None:
        raise click.UsageError("Give --tz and/or --channel.")
    from bot.domain.directory import update_region

    _refuse_channel_name(channel_id)
    with team_session(state, team) as (session, team_id):
        changed = update_region(session, team_id, name, tz=tz, channel_id=channel_id, actor="cli")
        region_name = changed.name
        click.echo(f"{changed.name}: {changed.tz}, channel {changed.channel_id or '-'}.")
    _after_region_saved(state, region_name, tz, channel_id)


def _refuse_channel_name(channel_id: str | None) -> None:
    from bot.slack.channels import channel_id_problem

    problem = channel_id_problem(channel_id) if channel_id is not None else None
    if problem is not None:
        raise click.BadParameter(problem, param_hint="--channel")


def _after_region_saved(state: CliState, region_name: str, tz: str | None, channel_id: str | None) -> None:
    """Warnings about what was just saved: a fixed-offset zone, a channel Pipeday can't use."""
    from bot.domain.time_zone_advice import fixed_offset_warning

    warning = fixed_offset_warning(region_name, tz, year=datetime.now(UTC).year) if tz is not None else None
    if warning is not None:
        click.echo(f"Warning: {warning}", err=True)
    if channel_id is not None and state.settings.bot_token:
        _check_channel_with_slack(state, channel_id)


def _check_channel_with_slack(state: CliState, channel_id: str) -> None:
    """conversations.info, and conversations.join for a public channel the bot isn't in."""
    from bot.app import make_web_client
    from bot.posting.slack_messages import SLACK_FAILURES, describe_error
    from bot.slack.channels import check_channel

    try:
        check = check_channel(make_web_client(state.settings), channel_id)
    except SLACK_FAILURES as error:
        click.echo(
            f"Warning: couldn't check channel {channel_id} with Slack ({describe_error(error)}); "
            "`pipeday doctor` checks it again.",
            err=True,
        )
        return
    click.echo(check.message if check.usable else f"Warning: {check.message}", err=not check.usable)


@region.command("list", help="List regions.")
@team_option
@pass_state
def region_list(state: CliState, team: str | None) -> None:
    from bot.domain.directory import list_regions, region_member_count

    with team_session(state, team) as (session, team_id):
        regions = list_regions(session, team_id)
        if not regions:
            click.echo("No regions yet. Add one: pipeday region add AMER --tz America/New_York --channel C…")
        for item in regions:
            members = region_member_count(session, item.id)
            click.echo(f"{item.name:<10} {item.tz:<24} {item.channel_id or '-':<12} {members} members")


@click.group()  # its help is its summary in bot.cli.main.COMMANDS
def role() -> None:
    pass


@role.command(
    "set",
    short_help="Set a member's role: rep, leader, manager or admin.",
    help="Set a member's role (rep, leader, manager or admin), e.g. `pipeday role set U0123ABCD manager`.",
)
@click.argument("user_id")
@click.argument("new_role", metavar="ROLE", type=click.Choice(ROLES, case_sensitive=False))
@team_option
@pass_state
def role_set(state: CliState, user_id: str, new_role: str, team: str | None) -> None:
    if not is_slack_user_id(user_id):
        raise click.BadParameter(
            f"use the person's Slack user id (like U0123ABCD), not {user_id!r}. "
            "In Slack: their profile → ⋮ → Copy member ID.",
            param_hint="USER_ID",
        )
    from bot.domain.directory import ensure_member, set_role

    with team_session(state, team) as (session, team_id):
        ensure_member(session, team_id, user_id, user_id)
        set_role(session, team_id, "cli", user_id, new_role.lower())
        click.echo(f"{user_id} is now {new_role.lower()} in {team_id}.")
