"""The command line with many workspaces (SLACK_CLIENT_ID): --team on every workspace verb (and
--enterprise for a workspace of an org-wide install), each workspace's own token, `pipeday
workspace list | purge`, `pipeday doctor` checking every install, and the start-up refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli.main import cli
from bot.domain.directory import add_region
from bot.installs.lifecycle import UNINSTALLED, mark_removed, record_token_error
from bot.installs.setup import MultiWorkspace, multi_workspace
from models import Region, WorkspaceInstall
from tests.support.clock import FakeClock
from tests.support.installs import CLIENT_ID, CLIENT_SECRET, install_with_flow, multi_env, multi_settings
from tests.support.slack_stub import SlackStub


class Deployment:
    def __init__(self, engine: Engine, session_factory: sessionmaker[Session], slack: SlackStub) -> None:
        slack.oauth_app(CLIENT_ID, CLIENT_SECRET)
        self.url = engine.url.render_as_string(hide_password=False)
        self.slack, self.session_factory = slack, session_factory
        multi = multi_workspace(multi_settings(slack, self.url), engine, session_factory, FakeClock(datetime.now(UTC)))
        assert multi is not None
        self.multi: MultiWorkspace = multi

    def install(self, **grant: object) -> None:
        install_with_flow(self.multi, self.slack, **grant)

    def run(self, *args: str, input: str | None = None, **env: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, list(args), env=multi_env(self.slack, self.url, **env), input=input)
        return result.exit_code, result.output


@pytest.fixture
def deployment(engine: Engine, session_factory: sessionmaker[Session]) -> Iterator[Deployment]:
    with SlackStub() as slack:
        yield Deployment(engine, session_factory, slack)
    assert slack.errors == [], slack.errors


def test_every_workspace_verb_needs_team(deployment: Deployment) -> None:
    deployment.install(team_id="T0ACME")
    for args in (("region", "list"), ("region", "add", "AMER", "--tz", "America/New_York"), ("member", "list")):
        code, output = deployment.run(*args)
        assert code == 1 and "--team T…" in output and "SLACK_CLIENT_ID" in output, (args, output)


def test_team_acts_for_that_workspace_with_its_own_token(deployment: Deployment) -> None:
    deployment.install(team_id="T0ACME")
    deployment.install(team_id="T0GLOBEX")
    code, output = deployment.run(
        "region", "add", "AMER", "--tz", "America/New_York", "--channel", "C0ACME", "--team", "T0ACME"
    )
    assert code == 0, output
    checks = deployment.slack.calls("conversations.info")
    assert [deployment.slack.team_of_call(c.headers, c.args) for c in checks] == ["T0ACME"]
    code, output = deployment.run("region", "list", "--team", "T0GLOBEX")
    assert code == 0 and "C0ACME" not in output
    with deployment.session_factory.begin() as session:
        assert list(session.execute(select(Region.team_id, Region.name))) == [("T0ACME", "AMER")]


def test_a_workspace_pipeday_isnt_installed_in_is_refused(deployment: Deployment) -> None:
    deployment.install(team_id="T0ACME")
    code, output = deployment.run("region", "list", "--team", "T0OTHER")
    assert code == 1 and "isn't installed in T0OTHER" in output
    with deployment.session_factory.begin() as session:
        mark_removed(session, ["T0ACME"], UNINSTALLED, datetime.now(UTC))
    code, output = deployment.run("region", "list", "--team", "T0ACME")
    assert code == 1 and "T0ACME is uninstalled" in output


def test_enterprise_and_team_reach_a_workspace_of_an_org_wide_install(deployment: Deployment) -> None:
    deployment.install(enterprise_id="E0ORG", org_wide=True)
    code, output = deployment.run("region", "add", "EMEA", "--tz", "Europe/London", "--team", "T0EAST")
    assert code == 1 and "isn't installed in T0EAST" in output
    code, output = deployment.run(
        "region",
        "add",
        "EMEA",
        "--tz",
        "Europe/London",
        "--channel",
        "C0EAST",
        "--enterprise",
        "E0ORG",
        "--team",
        "T0EAST",
    )
    assert code == 0, output
    checks = deployment.slack.calls("conversations.info")
    assert [deployment.slack.team_of_call(c.headers, c.args) for c in checks] == ["T0EAST"]
    with deployment.session_factory.begin() as session:
        row = session.get(WorkspaceInstall, "T0EAST")
        assert row is not None and (row.enterprise_id, row.org_install, row.state) == ("E0ORG", True, "active")
    code, output = deployment.run("region", "list", "--enterprise", "E0OTHER", "--team", "T0EAST")
    assert code == 1 and "belongs to E0ORG, not E0OTHER" in output
    code, output = deployment.run("region", "list", "--enterprise", "T0ORG", "--team", "T0EAST")
    assert code == 2 and "isn't an Enterprise Grid org id" in output


def test_workspace_list_shows_installs_states_and_region_counts(deployment: Deployment) -> None:
    deployment.install(team_id="T0ACME", team_name="Acme")
    deployment.install(team_id="T0GONE", team_name="Gone")
    deployment.install(enterprise_id="E0ORG", enterprise_name="Initech", org_wide=True)
    removed = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    with deployment.session_factory.begin() as session:
        for name in ("AMER", "EMEA"):
            add_region(session, "T0ACME", name, "UTC", None, actor="test")
        mark_removed(session, ["T0GONE"], UNINSTALLED, removed)
    code, output = deployment.run("workspace", "list")
    assert code == 0, output
    lines = output.splitlines()
    acme = next(line for line in lines if line.startswith("T0ACME"))
    gone = next(line for line in lines if line.startswith("T0GONE"))
    org = next(line for line in lines if line.startswith("E0ORG"))
    assert "Acme" in acme and "active" in acme and "own install" in acme and "2 regions" in acme
    assert "uninstalled" in gone and "0 regions" in gone and "data purged on 2026-12-24" in gone
    assert "org-wide install, no workspace added yet" in org


def test_workspace_purge_refuses_a_served_workspace_and_purges_a_removed_one(deployment: Deployment) -> None:
    deployment.install(team_id="T0ACME")
    deployment.install(team_id="T0GLOBEX")
    with deployment.session_factory.begin() as session:
        add_region(session, "T0ACME", "AMER", "UTC", None, actor="test")
        add_region(session, "T0GLOBEX", "AMER", "UTC", None, actor="test")
    code, output = deployment.run("workspace", "purge", "T0ACME", "--yes")
    assert code == 1 and "still installed in T0ACME" in output
    with deployment.session_factory.begin() as session:
        mark_removed(session, ["T0ACME"], UNINSTALLED, datetime.now(UTC))
    code, output = deployment.run("workspace", "purge", "T0ACME", input="n\n")
    assert code == 1  # not confirmed: nothing deleted
    with deployment.session_factory.begin() as session:
        assert session.scalar(select(func.count()).select_from(Region)) == 2
    code, output = deployment.run("workspace", "purge", "T0ACME", input="y\n")
    assert code == 0 and "Purged T0ACME" in output and "1 regions" in output
    with deployment.session_factory.begin() as session:
        assert list(session.scalars(select(Region.team_id))) == ["T0GLOBEX"]
        row = session.get(WorkspaceInstall, "T0ACME")
        assert row is not None and row.state == "purged"


def test_doctor_checks_every_installs_token(deployment: Deployment) -> None:
    deployment.install(team_id="T0ACME")
    deployment.install(team_id="T0GLOBEX")
    deployment.install(team_id="T0STALE")
    deployment.slack.uninstall("T0GLOBEX")  # revoked at Slack; the event never arrived
    with deployment.session_factory.begin() as session:
        record_token_error(session, ["T0STALE"], "Slack answered invalid_refresh_token", datetime.now(UTC))
    code, output = deployment.run("doctor")
    assert code == 1
    assert "✓ installs: 3 workspace(s) served" in output
    assert "✓ install token: T0ACME: auth.test ok" in output
    assert "✗ install token: T0GLOBEX: auth.test failed: token_revoked" in output
    assert "✗ token refresh: T0STALE: refreshing its token failed" in output and "invalid_refresh_token" in output
    assert "install Pipeday in that workspace again" in output
    assert len(deployment.slack.calls("auth.test")) >= 3


def test_doctor_with_no_install_says_where_to_install(deployment: Deployment) -> None:
    code, output = deployment.run("doctor")
    assert code == 1 and "no workspace has installed Pipeday yet" in output and "/slack/install" in output


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-one"}, "Remove SLACK_BOT_TOKEN to serve many workspaces"),
        ({"PIPEDAY_SECRET_KEY": ""}, "Make one with: python -c"),
        ({"PIPEDAY_SECRET_KEY": "not-a-key"}, "PIPEDAY_SECRET_KEY is not a Fernet key"),
        ({"SLACK_CLIENT_SECRET": ""}, "Missing SLACK_CLIENT_SECRET"),
        ({"SLACK_APP_TOKEN": "xapp-1"}, "Remove SLACK_APP_TOKEN"),
    ],
)
def test_serve_refuses_a_configuration_it_cant_run(deployment: Deployment, env: dict[str, str], expected: str) -> None:
    code, output = deployment.run("serve", **env)
    assert code == 1 and expected in output, output


def test_clock_refuses_both_kinds_of_credentials(deployment: Deployment) -> None:
    code, output = deployment.run("clock", SLACK_BOT_TOKEN="xoxb-one")
    assert (
        code == 1 and "Remove SLACK_BOT_TOKEN" in output and "remove SLACK_CLIENT_ID and SLACK_CLIENT_SECRET" in output
    )


def test_single_workspace_cli_is_unchanged_by_the_new_options(deployment: Deployment, tmp_path: object) -> None:
    code, output = deployment.run(
        "region", "add", "AMER", "--tz", "UTC", "--team", "T0ONE", SLACK_CLIENT_ID="", SLACK_CLIENT_SECRET=""
    )
    assert code == 0, output
    code, output = deployment.run("workspace", "list", SLACK_CLIENT_ID="", SLACK_CLIENT_SECRET="")
    assert code == 0 and "SLACK_BOT_TOKEN" in output


def test_purge_date_is_thirty_days_after_removal(session_factory: sessionmaker[Session]) -> None:
    removed = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    with session_factory.begin() as session:
        assert mark_removed(session, ["T0ACME"], UNINSTALLED, removed) == ["T0ACME"]
        assert mark_removed(session, ["T0ACME"], UNINSTALLED, removed + timedelta(days=3)) == []  # the first stands
        row = session.get(WorkspaceInstall, "T0ACME")
        assert row is not None and row.purge_after == removed + timedelta(days=30)
