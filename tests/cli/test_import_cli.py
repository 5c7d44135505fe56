"""`pipeday import FILE.csv`: good, duplicate, unmatched and bad rows; a rerun; --map; --dry-run."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.domain.directory import join_region
from models import Activity, Member, ParkedItem
from tests.support.cli import run_pipeday, transaction

TEAM = "T1"
HEADER = "external_id,type,quantity,occurred_at,slack_user_id,email,note\n"
ROWS = (
    "c1,call,3,2026-11-24T10:00:00-05:00,U_ANA,,first\n"
    "c2,connect,1,2026-11-24T10:05:00-05:00,,ana@acme.com,by email\n"
    "c1,call,3,2026-11-24T10:00:00-05:00,U_ANA,,the same row again\n"
    "u1,call,2,2026-11-24T11:00:00-05:00,,nobody@acme.com,\n"
    "b1,fax,1,2026-11-24T11:00:00-05:00,U_ANA,,\n"
    '"b2",call,1,"2026-11-24T11:00:00",U_ANA,,"a note\nover two lines"\n'
    "m1,meeting,2,2026-11-24T12:00:00-05:00,U_BEN,,\n"
)


@pytest.fixture
def url(tmp_path: Path) -> str:
    database_url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run_pipeday(database_url, "db", "upgrade")[0] == 0
    assert run_pipeday(database_url, "region", "add", "AMER", "--tz", "America/New_York", "--team", TEAM)[0] == 0
    with transaction(database_url) as session:
        join_region(session, TEAM, "U_ANA", "ana", "AMER")
        session.flush()
        ana = session.scalars(select(Member).where(Member.user_id == "U_ANA")).one()
        ana.email = "ana@acme.com"
    return database_url


def totals(url: str) -> dict[tuple[str, str], float]:
    with transaction(url) as session:
        rows = session.execute(
            select(Member.user_id, Activity.type, func.sum(Activity.quantity))
            .join(Member, Member.id == Activity.member_id)
            .group_by(Member.user_id, Activity.type)
        )
        return {(user, kind): float(total) for user, kind, total in rows}


def parked(url: str) -> int:
    with transaction(url) as session:
        return int(session.scalar(select(func.count()).select_from(ParkedItem)) or 0)


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "activity.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_an_import_reports_every_row_and_a_rerun_creates_nothing(url: str, tmp_path: Path) -> None:
    file = write(tmp_path, HEADER + ROWS)
    code, output = run_pipeday(url, "import", file, "--source", "salesforce")
    assert code == 0, output
    assert "Imported 7 rows: 3 created, 1 duplicate, 1 unmatched, 2 rejected." in output
    assert "line 6 (b1): type: 'fax' isn't an activity type" in output
    assert "line 8 (b2): occurred_at:" in output  # the row's first line; its note spans lines 7-8
    assert totals(url) == {("U_ANA", "call"): 3.0, ("U_ANA", "connect"): 1.0, ("U_BEN", "meeting"): 2.0}
    assert parked(url) == 1
    with transaction(url) as session:
        assert set(session.scalars(select(Activity.source))) == {"api:salesforce"}  # the re-run below: duplicates

    code, output = run_pipeday(url, "import", file, "--source", "salesforce")
    assert code == 0, output
    assert "Imported 7 rows: 0 created, 4 duplicate, 1 unmatched, 2 rejected." in output
    assert totals(url) == {("U_ANA", "call"): 3.0, ("U_ANA", "connect"): 1.0, ("U_BEN", "meeting"): 2.0}
    assert parked(url) == 1


def test_map_renames_a_crm_exports_headers(url: str, tmp_path: Path) -> None:
    file = write(
        tmp_path,
        "Activity ID,Kind,Date,Owner Email,Ignored\n"
        "A-1,call,2026-11-24T10:00:00-05:00,ana@acme.com,x\n"
        "A-2,meeting,2026-11-24T10:30:00-05:00,ana@acme.com,y\n",
    )
    mapped = ("--map", "Activity ID=external_id", "--map", "Kind=type", "--map", "Date=occurred_at")
    code, output = run_pipeday(url, "import", file, *mapped, "--map", "Owner Email=email")
    assert code == 0, output
    assert "Imported 2 rows: 2 created, 0 duplicate, 0 unmatched, 0 rejected." in output
    assert totals(url) == {("U_ANA", "call"): 1.0, ("U_ANA", "meeting"): 1.0}

    code, output = run_pipeday(url, "import", file)
    assert code == 1 and "No column for external_id, occurred_at, type" in output
    code, output = run_pipeday(url, "import", file, "--map", "Kind=kind")
    assert code == 1 and "--map 'Kind=kind'" in output


def test_dry_run_checks_every_row_and_stores_nothing(url: str, tmp_path: Path) -> None:
    file = write(tmp_path, HEADER + ROWS)
    code, output = run_pipeday(url, "import", file, "--dry-run")
    assert code == 0, output
    assert "Checked 7 rows: 3 created, 1 duplicate, 1 unmatched, 2 rejected." in output
    assert "nothing was stored" in output
    assert totals(url) == {} and parked(url) == 0
    with transaction(url) as session:
        assert session.scalars(select(Member.user_id)).all() == ["U_ANA"]  # U_BEN wasn't made either
