"""bot.domain.night_flag_refresh on SQLite and PostgreSQL: a night flag brought up to date by a
later batch is found by its primary key, whatever the number of open flags. Found by (team,
dedupe key) and state, PostgreSQL's plan walked every open flag of the team for each one
(ix_flags_team_state): ~0.15 ms a flag with 840 open, a third of a flag-check pass's time under a
sustained ingest (bench/README.md, "Ingestion")."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.directory import add_region, join_region
from bot.ingest.batches import resolve_then_ingest
from bot.ingest.flag_checks import IngestedFlagger
from models import Flag
from tests.support.statements import SentStatement, sent_statements

TEAM_ID = "T1"
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
OTHER_OPEN_FLAGS = 300


def night_call(external_id: str, minute: int) -> dict[str, Any]:
    """ana's dialer call at 04:mm in New York (UTC-5): outside the usual hours."""
    return {
        "external_id": external_id,
        "type": "call",
        "occurred_at": f"2026-11-24T04:{minute:02d}:00-05:00",
        "slack_user_id": "U_ANA",
    }


@pytest.fixture
def flag_updates(engine: Engine) -> Iterator[list[SentStatement]]:
    """Each UPDATE of flags sent to the database, with its first row's parameters."""
    with sent_statements(engine, lambda statement: statement.lstrip().upper().startswith("UPDATE FLAGS")) as seen:
        yield seen


def many_open_flags(session: Session, member_id: int) -> None:
    session.add_all(
        Flag(
            team_id=TEAM_ID,
            member_id=member_id,
            local_date=date(2026, 11, 1),
            span_start=NOW,
            span_end=NOW,
            rule="day-total",
            figures={},
            summary="",
            dedupe_key=f"other:{n}",
        )
        for n in range(OTHER_OPEN_FLAGS)
    )


def plan_of(session: Session, statement: str, parameters: Any) -> str:
    dialect = session.get_bind().dialect.name
    explain = "EXPLAIN " if dialect == "postgresql" else "EXPLAIN QUERY PLAN "
    rows = session.connection().exec_driver_sql(explain + statement, parameters)
    return "\n".join(" ".join(str(value) for value in row) for row in rows)


def test_a_later_batch_brings_its_night_flag_up_to_date_by_primary_key(
    session_factory: sessionmaker[Session], flag_updates: list[SentStatement]
) -> None:
    with session_factory.begin() as session:
        add_region(session, TEAM_ID, "AMER", "America/New_York", "C_AMER", actor="test")
        many_open_flags(session, join_region(session, TEAM_ID, "U_ANA", "ana", "AMER").member.id)
    flagger = IngestedFlagger(session_factory, lambda: NOW)
    for batch in ([night_call("a1", 0), night_call("a2", 10)], [night_call("a3", 20)]):
        report = resolve_then_ingest(session_factory, TEAM_ID, "dialer", batch, NOW, lambda _email: None)
        flagger.check_now(report.created)

    with session_factory() as session:
        night = session.scalars(select(Flag).where(Flag.rule == "hours")).one()
        assert night.figures["logs"] == 3  # the second batch's call is counted in
        assert len(flag_updates) == 1  # the first batch's flag was stored as it is; the second's updated it
        plan = plan_of(session, flag_updates[0], flag_updates[0].parameters)
    expected = "pk_flags" if session_factory.kw["bind"].dialect.name == "postgresql" else "INTEGER PRIMARY KEY"
    assert expected in plan, plan
