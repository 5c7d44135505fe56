"""`pipeday flags list|keep|void`: unusual activity and disputes, for whoever runs Pipeday.

    pipeday flags list [--region AMER] [--state open|kept|voided|all]
    pipeday flags keep 12 --reason "Call blitz, checked the dialer"
    pipeday flags void 12 --reason "Typed 12 for 2" [--as U0MANAGER]

Keeping leaves the activity counting; voiding takes it out of everything that counts. With a
Slack token the voided member is told privately, and live standings and a corrected results
post are updated, as when a manager does it from Slack.
"""

from __future__ import annotations

import click

from bot.cli.common import CliState, pass_state, team_option, team_session

STATES = ("open", "kept", "voided", "all")


@click.group(help="Flags on unusual activity, and disputes: list them, keep or void them.")
def flags() -> None:
    pass


@flags.command("list", help="Flags, newest first: open ones unless --state says otherwise.")
@click.option("--region", help="Only this region's flags.")
@click.option("--state", "wanted", type=click.Choice(STATES), default="open", show_default=True)
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@team_option
@pass_state
def flags_list(cli_state: CliState, region: str | None, wanted: str, limit: int, team: str | None) -> None:
    _list(cli_state, region, wanted, limit, team)


def _list(cli_state: CliState, region: str | None, wanted: str, limit: int, team: str | None) -> None:
    from bot.blocks.flags import covered_text, summary_text
    from bot.domain.directory import require_region
    from bot.domain.flags import list_flags
    from bot.domain.trust_rules import RULE_DISPUTE
    from models.trust import RAISED_BY_RULES

    with team_session(cli_state, team) as (session, team_id):
        region_id = require_region(session, team_id, region).id if region else None
        found, total = list_flags(
            session, team_id, region_id=region_id, state=None if wanted == "all" else wanted, limit=limit
        )
        if not found:
            where = f" in {region}" if region else ""
            click.echo(f"No {'' if wanted == 'all' else wanted + ' '}flags{where}.")
            return
        for view in found:
            click.echo(
                f"#{view.id:<5} {view.state:<6} {view.region or '-':<6} {view.local_date:%a %d %b}  "
                f"{view.name} ({view.user_id})  {view.rule}: {summary_text(view)}"
            )
            click.echo(f"{'':7}covers {covered_text(view)}")
            if view.rule == RULE_DISPUTE and view.raised_by != RAISED_BY_RULES:
                reason = f": “{view.note}”" if view.note else ""
                click.echo(f"{'':7}disputed by {view.raised_by}{reason}")
            if view.resolved_by:
                click.echo(
                    f"{'':7}{view.state} by {view.resolved_by} at {view.resolved_at:%Y-%m-%d %H:%M} UTC: "
                    f"“{view.resolution_reason}”"
                )
        if total > len(found):
            click.echo(f"…and {total - len(found)} more (--limit).")


def _resolve(cli_state: CliState, flag_id: int, keep: bool, reason: str, actor: str, team: str | None) -> None:
    from bot.blocks.flags import resolution_note
    from bot.domain.voiding import resolve_flag
    from models import utc_now

    with team_session(cli_state, team) as (session, team_id):
        resolution = resolve_flag(session, team_id, flag_id, keep=keep, actor=actor, reason=reason, now=utc_now())
    click.echo(resolution_note(resolution).replace("<@", "").replace(">", ""))
    if not cli_state.settings.bot_token:
        if resolution.voided:
            click.echo(
                "SLACK_BOT_TOKEN isn't set: the member wasn't told, and live standings and results posts weren't "
                "updated (the next log or post shows the new totals)."
            )
        return
    from bot.app import make_web_client
    from bot.features.trust import after_resolution
    from bot.posting.live_standings import LiveStandingsRefresher

    client = make_web_client(cli_state.settings)
    # No later in a CLI run: a throttled live edit is left to the next log or the day's close.
    refresher = LiveStandingsRefresher(client, cli_state.session_factory(), utc_now, lambda delay, action: None)
    for problem in after_resolution(client, cli_state.session_factory(), utc_now, resolution, refresher):
        click.echo(f"Note: {problem}.")


def _actor(value: str | None) -> str:
    from bot.domain.text_input import is_slack_user_id
    from bot.domain.voiding import CLI_ACTOR

    if value is None:
        return CLI_ACTOR
    if not is_slack_user_id(value):
        raise click.BadParameter(f"{value!r} isn't a Slack member id (U0123ABCD).", param_hint="--as")
    return value


reason_option = click.option("--reason", required=True, help="Why: kept in the audit log; a voided member reads it.")
as_option = click.option("--as", "as_user", help="Your Slack member id, recorded as who did it (default: cli).")


@flags.command("keep", help="Keep FLAG_ID: the activity counts as it is, and the flag closes.")
@click.argument("flag_id", type=int)
@reason_option
@as_option
@team_option
@pass_state
def flags_keep(cli_state: CliState, flag_id: int, reason: str, as_user: str | None, team: str | None) -> None:
    _resolve(cli_state, flag_id, True, reason, _actor(as_user), team)


@flags.command("void", help="Void FLAG_ID: what it covers stops counting everywhere; the member is told why.")
@click.argument("flag_id", type=int)
@reason_option
@as_option
@team_option
@pass_state
def flags_void(cli_state: CliState, flag_id: int, reason: str, as_user: str | None, team: str | None) -> None:
    _resolve(cli_state, flag_id, False, reason, _actor(as_user), team)
