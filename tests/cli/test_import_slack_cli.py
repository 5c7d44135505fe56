"""`pipeday import` and Slack: emails are looked up with the acting workspace's own client (a
workspace of an org-wide install through its org's token, told which workspace); without a
token they aren't looked up at all, so nothing stops a later run or `member link` matching them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli.importing import NOT_LOOKED_UP
from bot.cli.main import cli
from bot.domain.directory import join_region
from models import Member, ParkedItem
from models.ingestion import EmailLookupMiss
from tests.cli.test_import_cli import TEAM, totals, write
from tests.cli.test_installs_cli import Deployment
from tests.support.cli import run_pipeday, transaction
from tests.support.slack_stub import SlackStub

HEADER = "external_id,type,quantity,occurred_at,slack_user_id,email\n"
EVE_ROW = "e1,connect,2,2026-11-24T10:00:00Z,,eve@initech.com\n"


@pytest.fixture
def deployment(engine: Engine, session_factory: sessionmaker[Session]) -> Iterator[Deployment]:
    with SlackStub() as slack:
        yield Deployment(engine, session_factory, slack)
    assert slack.errors == [], slack.errors


def test_an_org_wide_installs_workspace_looks_emails_up_in_that_workspace(
    deployment: Deployment, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    deployment.install(enterprise_id="E0ORG", org_wide=True)
    org = ("--enterprise", "E0ORG", "--team", "T0EAST")
    code, output = deployment.run("region", "add", "EMEA", "--tz", "Europe/London", *org)
    assert code == 0, output
    with session_factory.begin() as session:
        join_region(session, "T0EAST", "U0EVE01", "eve", "EMEA")
    deployment.slack.users["U0EVE01"] = {"profile": {"email": "eve@initech.com"}}

    code, output = deployment.run("import", write(tmp_path, HEADER + EVE_ROW), *org)

    assert code == 0, output
    assert "Imported 1 rows: 1 created, 0 duplicate, 0 unmatched, 0 rejected." in output
    lookups = deployment.slack.calls("users.lookupByEmail")
    # The org's token says which workspace it acts in (team_id), as Slack requires of org tokens.
    assert [deployment.slack.team_of_call(call.headers, call.args) for call in lookups] == ["T0EAST"]
    assert totals(deployment.url) == {("U0EVE01", "connect"): 2.0}


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A database with AMER and three members; only ana's email (ana@acme.com) is known."""
    database_url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run_pipeday(database_url, "db", "upgrade")[0] == 0
    assert run_pipeday(database_url, "region", "add", "AMER", "--tz", "America/New_York", "--team", TEAM)[0] == 0
    with transaction(database_url) as session:
        for user_id, name in (("U_ANA", "ana"), ("U0EVE01", "eve"), ("U0FAY01", "fay")):
            join_region(session, TEAM, user_id, name, "AMER")
        session.flush()
        session.scalars(select(Member).where(Member.user_id == "U_ANA")).one().email = "ana@acme.com"
    return database_url


def test_without_a_token_emails_park_unasked_and_a_run_with_a_token_matches_them(url: str, tmp_path: Path) -> None:
    rows = (
        "e1,connect,2,2026-11-24T10:00:00-05:00,,eve@acme.com\n"
        "f1,call,3,2026-11-24T10:05:00-05:00,,fay@acme.com\n"
        "a1,call,1,2026-11-24T10:10:00-05:00,,ana@acme.com\n"  # cached on ana: matches without Slack
    )
    file = write(tmp_path, HEADER + rows)

    code, output = run_pipeday(url, "import", file, "--team", TEAM)

    assert code == 0, output
    assert "Imported 3 rows: 1 created, 0 duplicate, 2 unmatched, 0 rejected." in output
    assert "SLACK_BOT_TOKEN isn't set, so emails no member has yet weren't looked up in Slack" in output
    with transaction(url) as session:
        assert set(session.scalars(select(ParkedItem.reason))) == {NOT_LOOKED_UP}
        assert session.scalar(select(func.count()).select_from(EmailLookupMiss)) == 0  # no "nobody has it"
    code, output = run_pipeday(url, "ingest", "unmatched", "--team", TEAM)
    assert f"eve@acme.com: 1 item(s) ({NOT_LOOKED_UP})" in output

    # Fay is linked by hand; Eve is found by the next run, with a token (within the hour).
    code, output = run_pipeday(url, "member", "link", "fay@acme.com", "U0FAY01", "--team", TEAM)
    assert code == 0 and "Replayed 1 activity for fay@acme.com" in output, output
    with SlackStub(team_id=TEAM) as slack:
        slack.users["U0EVE01"] = {"profile": {"email": "eve@acme.com"}}
        env = {"DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-t", "SLACK_API_URL": slack.base_url}
        result = CliRunner().invoke(cli, ["import", file], env=env)
        assert [call.args["email"] for call in slack.calls("users.lookupByEmail")] == ["eve@acme.com"]

    assert result.exit_code == 0, result.output
    assert "Imported 3 rows: 1 created, 2 duplicate, 0 unmatched, 0 rejected." in result.output
    assert totals(url) == {("U_ANA", "call"): 1.0, ("U0EVE01", "connect"): 2.0, ("U0FAY01", "call"): 3.0}
