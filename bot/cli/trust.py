"""`pipeday trust show|set`: the thresholds of the flag rules, per workspace.

    pipeday trust show
    pipeday trust set big-log 4          # flag one log above 4x the member's 95th-percentile day
    pipeday trust set hours 07:00-21:00  # the region's usual local hours
    pipeday trust set burst off          # turn a rule off; `default` puts a key back

Running processes pick a change up within 30 seconds.
"""

from __future__ import annotations

import click

from bot.cli.common import CliState, pass_state, team_option, team_session


@click.group(help="Thresholds of the flag rules (unusual activity): show them, set one.")
def trust() -> None:
    pass


@trust.command("show", help="Every setting: its value, its default and what it does.")
@team_option
@pass_state
def trust_show(state: CliState, team: str | None) -> None:
    from bot.domain.trust_settings import show_settings

    with team_session(state, team) as (session, team_id):
        for item in show_settings(session, team_id):
            default = "" if item.value == item.default else f" (default {item.default})"
            click.echo(f"{item.key:<20} {item.value + default:<24} {item.meaning}")


@trust.command(
    "set",
    help="Set KEY to VALUE (`off` turns a rule off, `default` puts it back); `pipeday trust show` lists the keys.",
)
@click.argument("key")
@click.argument("value")
@team_option
@pass_state
def trust_set(state: CliState, key: str, value: str, team: str | None) -> None:
    from bot.domain.trust_settings import set_trust_setting, show_settings
    from models import utc_now

    with team_session(state, team) as (session, team_id):
        stored = set_trust_setting(session, team_id, key, value, actor="cli", now=utc_now())
        shown = next(item for item in show_settings(session, team_id) if item.key == stored)
    click.echo(f"{shown.key} = {shown.value} ({shown.meaning}). Running processes use it within 30 seconds.")
