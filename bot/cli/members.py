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
    from bot.domain.ingested_days import IngestedFacts
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
    short_help="Link an email or a vendor's user id to a member and replay their parked activity.",
    help="Link KEY to the member USER_ID, so activity from other tools that names them that way counts for "
    "them, and replay what was parked under it (`pipeday ingest unmatched`). KEY is an email "
    "(sam@acme.com) or a source's name and that vendor's user id (outreach:42). A member can have any "
    "number of linked emails beside the one Slack knows; linking one never replaces another.",
)
@click.argument("key")
@click.argument("user_id")
@team_option
@pass_state
def member_link(state: CliState, key: str, user_id: str, team: str | None) -> None:
    if not is_slack_user_id(user_id):
        raise click.BadParameter(f"{user_id!r} isn't a Slack member id (U0123ABCD).", param_hint="USER_ID")
    from bot.domain.ingestion import link_person
    from models import utc_now

    with team_session(state, team) as (session, team_id):
        linked = link_person(session, team_id, key, user_id, utc_now())
    already = f" ({linked.duplicate} already counted)" if linked.duplicate else ""
    total = linked.created + linked.duplicate
    click.echo(
        f"Replayed {total} {'activity' if total == 1 else 'activities'}{already} for {linked.key} → <@{user_id}>."
    )
    if linked.rejected:
        click.echo(f"Refused {linked.rejected} over a competition's --max-per-log cap (not stored).")
    if linked.touched:
        _refresh_live_standings(state, linked.touched)
    if linked.replayed:
        from bot.ingest.flag_checks import IngestedFlagger
        from models import utc_now

        # The flag rules, as for any ingested activity, once the replay has committed.
        IngestedFlagger(state.session_factory(), utc_now).check_now(linked.replayed)


def _refresh_live_standings(state: CliState, touched: set[IngestedFacts]) -> None:
    """The replayed activities may change today's competition standings: edit those messages
    now, as the API does after a batch (only with a Slack token; a failure here is caught up by
    the next log or the day's close)."""
    if not state.settings.bot_token:
        # Slack can't be told, but a closed day the replay falls in is still corrected.
        from bot.posting.late_results import correct_batch
        from models import utc_now

        correct_batch(state.session_factory(), touched, utc_now())
        return
    from slack_sdk.errors import SlackApiError, SlackClientError
    from sqlalchemy.exc import SQLAlchemyError

    from bot.app import make_web_client
    from bot.posting.live_standings import LiveStandingsRefresher
    from models import utc_now

    # No later in a CLI run: a throttled edit is left to the next log or the day's close.
    refresher = LiveStandingsRefresher(
        make_web_client(state.settings), state.session_factory(), utc_now, lambda delay_seconds, action: None
    )
    try:
        refresher.on_logs(touched)
    except (SQLAlchemyError, SlackApiError, SlackClientError, OSError) as error:
        click.echo(f"(Live standings not refreshed now: {error}; the next log or the day's close catches up.)")
