"""`pipeday workspace list | purge TEAM_ID`, and which workspace a command acts for when Pipeday
serves many (SLACK_CLIENT_ID): the one its --team names, with that workspace's own token."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import click

from bot.cli.common import CliState, pass_state, require_team_id

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.installs.store import SealedInstallationStore

NEEDS_TEAM = (
    "Pipeday serves many workspaces here (SLACK_CLIENT_ID is set), so every workspace command needs "
    "--team T… (and --enterprise E… for a workspace of an Enterprise Grid org installed org-wide). "
    "`pipeday workspace list` shows them."
)


def installed_team(state: CliState, session: Session, team: str | None) -> str:
    """The served workspace --team names. From here on `state.settings.bot_token` is its token
    (its org's for an org-wide install), so the command's Slack calls go to that workspace."""
    from bot.installs.lifecycle import ACTIVE, find_install, record_install
    from models import utc_now

    if not team:
        raise click.ClickException(NEEDS_TEAM)
    team_id = require_team_id(team)
    enterprise = state.enterprise
    store = installation_store(state)
    install = find_install(session, team_id)
    if install is None and enterprise and store.has_org_wide_install(session.connection(), enterprise):
        # A workspace of an org-wide install, set up before anyone there used Pipeday.
        install = record_install(session, team_id, utc_now(), enterprise_id=enterprise, org_install=True)
    if install is None:
        org = f" The org {enterprise} has no org-wide install either." if enterprise else ""
        raise click.ClickException(
            f"Pipeday isn't installed in {team_id}.{org} Install it from /slack/install on this deployment, "
            "or check the id with `pipeday workspace list`."
        )
    if enterprise and install.enterprise_id != enterprise:
        raise click.ClickException(
            f"{team_id} belongs to {install.enterprise_id or 'no Enterprise Grid org'}, not {enterprise}."
        )
    if install.state != ACTIVE:
        raise click.ClickException(
            f"{team_id} is {install.state.replace('_', ' ')}: Pipeday no longer serves it. Install Pipeday there "
            "again to use it (its data is kept until it is purged; `pipeday workspace list` says when)."
        )
    bot = store.bot_on(
        session.connection(), enterprise_id=install.enterprise_id, team_id=team_id, org_wide=install.org_install
    )
    if bot is None or not bot.bot_token:
        raise click.ClickException(f"No bot token is stored for {team_id}: install Pipeday there again.")
    acts_in = team_id if install.org_install else None
    state._settings = dataclasses.replace(state.settings, bot_token=bot.bot_token, bot_token_team=acts_in)
    return team_id


def installation_store(state: CliState) -> SealedInstallationStore:
    from bot.installs.oauth import make_store
    from bot.settings import ConfigurationError

    try:
        state.settings.require_slack()
        return make_store(state.settings, state.engine)
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None


# --- pipeday workspace ----------------------------------------------------------------------------


@click.group(help="Workspaces Pipeday is installed in (SLACK_CLIENT_ID): list them, purge a removed one now.")
def workspace() -> None:
    pass


@workspace.command("list", help="Every workspace: how it is installed, its state and its region count.")
@pass_state
def workspace_list(state: CliState) -> None:
    from bot.installs.views import install_lines

    with state.transaction() as session:
        lines = install_lines(session)
    if not lines:
        if state.settings.multi_workspace:
            click.echo("No workspace has installed Pipeday yet (the install page is /slack/install).")
        else:
            click.echo(
                "Pipeday serves one workspace here, with SLACK_BOT_TOKEN; installs into many workspaces "
                "through Slack's OAuth flow need SLACK_CLIENT_ID and SLACK_CLIENT_SECRET instead."
            )
        return
    for line in lines:
        click.echo(line)


@workspace.command(
    "purge",
    help="Delete a removed workspace's data now instead of 30 days after it was removed. Refused while "
    "Pipeday is still installed there.",
)
@click.argument("team_id")
@click.option("--yes", is_flag=True, help="Don't ask for confirmation.")
@pass_state
def workspace_purge(state: CliState, team_id: str, yes: bool) -> None:
    from bot.installs.lifecycle import ACTIVE, find_install
    from bot.installs.purge import purge_workspace
    from models import utc_now

    team_id = require_team_id(team_id)
    with state.transaction() as session:
        install = find_install(session, team_id)
        if install is not None and install.state == ACTIVE:
            raise click.ClickException(
                f"Pipeday is still installed in {team_id}: uninstall it there first (its data is then purged "
                "30 days later, or now with this command)."
            )
    if not yes:
        click.confirm(f"Delete every Pipeday row of {team_id} (members, activity, regions, competitions…)?", abort=True)
    with state.transaction() as session:
        deleted = purge_workspace(session, team_id, utc_now())
    if not deleted:
        click.echo(f"{team_id} had no data left; it is marked purged.")
        return
    summary = ", ".join(f"{count} {table}" for table, count in sorted(deleted.items()))
    click.echo(f"Purged {team_id}: {summary}.")
