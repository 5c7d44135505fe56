"""`pipeday import` and Slack: emails are looked up with the acting workspace's own client (a
workspace of an org-wide install through its org's token, told which workspace)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.directory import join_region
from tests.cli.test_import_cli import totals, write
from tests.cli.test_installs_cli import Deployment
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
        join_region(session, "T0EAST", "U_EVE", "eve", "EMEA")
    deployment.slack.users["U_EVE"] = {"profile": {"email": "eve@initech.com"}}

    code, output = deployment.run("import", write(tmp_path, HEADER + EVE_ROW), *org)

    assert code == 0, output
    assert "Imported 1 rows: 1 created, 0 duplicate, 0 unmatched, 0 rejected." in output
    lookups = deployment.slack.calls("users.lookupByEmail")
    # The org's token says which workspace it acts in (team_id), as Slack requires of org tokens.
    assert [deployment.slack.team_of_call(call.headers, call.args) for call in lookups] == ["T0EAST"]
    assert totals(deployment.url) == {("U_EVE", "connect"): 2.0}
