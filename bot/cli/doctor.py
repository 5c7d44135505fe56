"""`pipeday doctor`."""

from __future__ import annotations

import click

from bot.app import make_web_client
from bot.cli.common import CliState, pass_state
from bot.diagnostics import Finding, check_configuration, check_database, check_slack


def register(cli: click.Group) -> None:
    cli.add_command(doctor)


@click.command(help="Check configuration, the database, migrations, the Slack token and its scopes.")
@pass_state
def doctor(state: CliState) -> None:
    findings = check_configuration(state.settings) + check_database(state.engine)
    if state.settings.bot_token:
        findings += check_slack(make_web_client(state.settings))
    for finding in findings:
        _print(finding)
    problems = [f for f in findings if not f.ok]
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) found; fix them and run `pipeday doctor` again.")
    click.secho("All good.", fg="green")


def _print(finding: Finding) -> None:
    mark = click.style("✓", fg="green") if finding.ok else click.style("✗", fg="red")
    click.echo(f"{mark} {finding.check}: {finding.detail}")
    if finding.fix:
        click.echo(f"    → {finding.fix}")
