"""`pipeday member set|list|link`: a member's job (AE or SDR), region, display name and email.

pipeday member set U0123ABCD --job sdr --region AMER --name "Jordan Brooks"
pipeday member list [--region AMER]
pipeday member link sam@acme.com U0123ABCD
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bot.cli.common import CliState, pass_state, team_option, team_session
from bot.domain.member_roles import JOBS
from bot.domain.text_input import is_slack_user_id

if TYPE_CHECKING:
    from models import Member


@click.group(help="Members: job (AE or SDR, which sets their goal defaults), region and display name.")
def member() -> None:
    pass


@member.command(
    "set",
    short_help="Set a member's job, region or display name.",
    help="Set a member's job, region or display name, e.g. `pipeday member set U0123ABCD --job sdr`. "
    "USER_ID is the Slack member id (U… or W…; in Slack: their profile → ⋮ → Copy member ID).",
)
@click.argument("user_id")
@click.option("--job", type=click.Choice(JOBS, case_sensitive=False), help="ae or sdr: which goal defaults apply.")
@click.option("--region", "region_name", help="Move them to this region, e.g. AMER.")
@click.option(
    "--name",
    "display_name",
    help="The name boards and summaries show; it stays (Slack's name no longer replaces it) until --slack-name.",
)
@click.option(
    "--slack-name", is_flag=True, help="Show the name their Slack profile shows again (read on their next command)."
)
@team_option
@pass_state
def member_set(
    state: CliState,
    user_id: str,
    job: str | None,
    region_name: str | None,
    display_name: str | None,
    slack_name: bool,
    team: str | None,
) -> None:
    if not is_slack_user_id(user_id):
        raise click.BadParameter(
            f"{user_id!r} isn't a Slack member id. Ids look like U0123ABCD "
            "(in Slack: their profile → ⋮ → Copy member ID).",
            param_hint="USER_ID",
        )
    if job is None and region_name is None and display_name is None and not slack_name:
        raise click.UsageError("Give --job, --region, --name and/or --slack-name.")
    from bot.domain.members import update_member

    with team_session(state, team) as (session, team_id):
        change = update_member(
            session,
            team_id,
            "cli",
            user_id,
            job=job,
            region_name=region_name,
            display_name=display_name,
            slack_name=slack_name,
        )
        if not change.changes:
            click.echo(f"{user_id} already had those settings: {describe(change.member)}.")
            return
        done = "; ".join(f"{field} {before or '-'} → {after}" for field, (before, after) in change.changes.items())
        click.echo(f"{user_id} in {team_id}: {done}.")


@member.command("list", help="List members with their region, role and job.")
@click.option("--region", "region_name", help="Only this region.")
@team_option
@pass_state
def member_list(state: CliState, region_name: str | None, team: str | None) -> None:
    from bot.domain.members import JOB_TITLES, list_members

    with team_session(state, team) as (session, team_id):
        members = list_members(session, team_id, region_name)
        if not members:
            where = f" in {region_name}" if region_name else ""
            click.echo(
                f"No members{where} yet. People join with `/pg join <region>`, or: pipeday member set U… --region R"
            )
        for item in members:
            region = item.region.name if item.region else "-"
            click.echo(
                f"{item.user_id:<12} {region:<10} {item.role:<8} {JOB_TITLES.get(item.job, item.job):<4} {item.display_name}"
            )


def describe(item: Member) -> str:
    from bot.domain.members import JOB_TITLES

    region = item.region.name if item.region else "no region"
    return f"{JOB_TITLES.get(item.job, item.job)}, {region}, {item.display_name}"


@member.command(
    "link",
    short_help="Link an email to a member and replay their parked activity.",
    help="Store EMAIL on the member USER_ID, so activity from other tools that names them by email "
    "counts for them, and replay what was parked for that email (`pipeday ingest unmatched`).",
)
@click.argument("email")
@click.argument("user_id")
@team_option
@pass_state
def member_link(state: CliState, email: str, user_id: str, team: str | None) -> None:
    if not is_slack_user_id(user_id):
        raise click.BadParameter(f"{user_id!r} isn't a Slack member id (U0123ABCD).", param_hint="USER_ID")
    from bot.domain.ingestion import link_person

    with team_session(state, team) as (session, team_id):
        linked = link_person(session, team_id, email, user_id)
    click.echo(
        f"{email.strip().lower()} is {user_id}: replayed {linked.created} parked item(s)"
        + (f", {linked.duplicate} already counted" if linked.duplicate else "")
        + "."
    )
