"""`pipeday doctor`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from bot.cli.common import CliState, pass_state

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.diagnostics import Finding

# slack_sdk logs each retry (and each dropped connection) itself; doctor reports the outcome.
_CHATTY_LIBRARY_LOGGERS = ("slack_sdk", "slack_bolt")


@click.command(
    help="Check configuration, the database, migrations, the Slack token and its scopes, and the setup: "
    "regions and their channels, competitions, prizes and managers, and webhook sources."
)
@pass_state
def doctor(state: CliState) -> None:
    with _quiet(_CHATTY_LIBRARY_LOGGERS):
        findings = _diagnose(state)
    for finding in findings:
        _print(finding)
    problems = [f for f in findings if not f.ok]
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) found; fix them and run `pipeday doctor` again.")
    click.secho("All good.", fg="green")


def _diagnose(state: CliState) -> list[Finding]:
    # Imported here so `pipeday --help` doesn't load Slack's SDK and the whole domain.
    from bot.app import make_web_client
    from bot.diagnostics import (
        check_configuration,
        check_database,
        check_secrets,
        check_setup,
        check_slack,
        slack_channel_check,
    )
    from bot.domain.directory import workspace_ids

    database = check_database(state.engine)
    findings = check_configuration(state.settings) + database
    client = make_web_client(state.settings) if state.settings.bot_token else None
    slack = check_slack(client) if client is not None else None
    if slack is not None:
        findings += slack.findings
    # The setup can only be read from a reachable database at the schema this code knows.
    if not all(finding.ok for finding in database):
        return findings
    if state.settings.multi_workspace:
        return findings + _installs_findings(state)
    with state.transaction() as session:
        findings += check_secrets(session, state.settings)
        findings += _source_findings(session, state.settings.public_url is not None)
        if client is not None and slack is not None and slack.team_id is not None:
            channel_check = slack_channel_check(client, slack.granted)
            findings += check_setup(session, [slack.team_id], state.settings.admins, channel_check)
        else:
            findings += check_setup(session, workspace_ids(session), state.settings.admins)
    return findings


def _installs_findings(state: CliState) -> list[Finding]:
    """Many workspaces (SLACK_CLIENT_ID): each install's token with auth.test, failed token
    refreshes, then each served workspace's setup."""
    from slack_sdk import WebClient

    from bot.diagnostics import check_secrets, check_setup
    from bot.installs.diagnostics import check_installs
    from bot.installs.lifecycle import served_team_ids
    from bot.installs.oauth import make_store
    from bot.slack.clients import configure_web_client

    settings = state.settings
    if not all(f.ok for f in _configuration(state)):
        return []  # the configuration finding already says what is missing
    store = make_store(settings, state.engine)

    def client_for(token: str, team_id: str | None) -> WebClient:
        return configure_web_client(WebClient(token=token, team_id=team_id), settings)

    with state.transaction() as session:
        findings = check_installs(session, store, client_for)
        findings += check_secrets(session, settings)
        findings += _source_findings(session, settings.public_url is not None)
        served = sorted(served_team_ids(session))
        if served:
            findings += check_setup(session, served, settings.admins)
    return findings


def _configuration(state: CliState) -> list[Finding]:
    from bot.diagnostics import check_configuration

    return check_configuration(state.settings)


def _source_findings(session: Session, public_url_set: bool) -> list[Finding]:
    """Webhook sources that can't work as configured (bot.domain.webhook_sources.source_problems)."""
    from bot.diagnostics import Finding
    from bot.domain.webhook_sources import source_problems

    return [
        Finding("webhooks", False, f"source {problem.name} ({problem.team_id}): {problem.problem}", problem.fix)
        for problem in source_problems(session, public_url_set)
    ]


@contextmanager
def _quiet(logger_names: tuple[str, ...]) -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in logger_names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _print(finding: Finding) -> None:
    mark = click.style("✓", fg="green") if finding.ok else click.style("✗", fg="red")
    click.echo(f"{mark} {finding.check}: {finding.detail}")
    if finding.fix:
        click.echo(f"    → {finding.fix}")
