"""bot/ingest/batches.py on SQLite and PostgreSQL: a batch stored in chunks (one transaction
each) answers exactly as one transaction would; a chunk that fails after others committed
answers 'send it again' for what wasn't stored, and a resend stores each item exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.directory import add_region, join_region
from bot.ingest.batches import CHUNK_ITEMS, NOT_STORED, SHARED_CHUNK_ITEMS, resolve_then_ingest
from bot.ingest.turns import IngestTurns
from models import Activity, Member, ParkedItem
from tests.support.statements import sent_statements

TEAM = "T1"
NOW = datetime(2026, 11, 24, 15, tzinfo=UTC)
WHEN = (NOW - timedelta(hours=1)).isoformat()
PEOPLE = ("U_ANA", "U_BO", "U_CY")


@pytest.fixture
def workspace(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with session_factory.begin() as session:
        add_region(session, TEAM, "AMER", "America/New_York", None, actor="test")
        for user_id in PEOPLE:
            join_region(session, TEAM, user_id, user_id.lower(), "AMER")
    return session_factory


def call(external_id: str, **fields: Any) -> dict[str, Any]:
    return {"external_id": external_id, "type": "call", "occurred_at": WHEN, **fields}


def mixed_batch() -> list[object]:
    """Three people interleaved, a repeat far from its first, a bad item, an unknown email."""
    items: list[object] = [call(f"c{n}", slack_user_id=PEOPLE[n % 3]) for n in range(20)]
    items.insert(3, call("bad", slack_user_id="U_ANA", quantity=0))
    items.insert(7, call("nobody", email="nobody@example.com"))
    items.append(call("c1", slack_user_id="U_BO"))  # c1 again, in the last chunk
    items.insert(12, "not an object")
    return items


def stored(session_factory: sessionmaker[Session]) -> list[str]:
    with session_factory() as session:
        return sorted(session.scalars(select(Activity.idempotency_key)))


def answer(report: Any) -> list[tuple[str | None, str]]:
    return [(result.external_id, result.status) for result in report.results]


def test_a_batch_in_chunks_answers_one_result_per_item_in_order_as_one_transaction_would(
    workspace: sessionmaker[Session],
) -> None:
    items = mixed_batch()
    chunked = resolve_then_ingest(workspace, TEAM, "dialer", items, NOW, lambda _email: None, chunk_items=3)
    expected = [(item["external_id"], "created") if isinstance(item, dict) else (None, "rejected") for item in items]
    expected[3] = ("bad", "rejected")
    expected[7] = ("nobody", "unmatched")
    expected[-1] = ("c1", "duplicate")
    assert answer(chunked) == expected
    assert len(stored(workspace)) == 20
    with workspace() as session:
        assert session.scalar(select(func.count()).select_from(ParkedItem)) == 1
    # The same batch again, in one transaction: everything it created is now a duplicate.
    whole = resolve_then_ingest(workspace, TEAM, "dialer", items, NOW, lambda _email: None, chunk_items=1000)
    again = [(external_id, "duplicate" if status == "created" else status) for external_id, status in expected]
    assert answer(whole) == again
    assert len(stored(workspace)) == 20


def test_a_dry_run_in_chunks_stores_nothing_and_says_what_it_would_create(workspace: sessionmaker[Session]) -> None:
    items = [call(f"c{n}", slack_user_id=PEOPLE[n % 3]) for n in range(10)]
    report = resolve_then_ingest(
        workspace, TEAM, "dialer", items, NOW, lambda _email: None, dry_run=True, chunk_items=4
    )
    assert [status for _, status in answer(report)] == ["created"] * 10
    assert report.touched == set()
    assert stored(workspace) == []


@pytest.fixture
def failing_inserts(engine: Engine) -> Iterator[list[int]]:
    """Make the Nth INSERT INTO activities fail (N in the yielded list) as a lost database would."""
    fail_on: list[int] = []
    seen = [0]

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ACTIVITIES"):
            seen[0] += 1
            if seen[0] in fail_on:
                raise OperationalError(statement, None, Exception("injected: the database went away"))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield fail_on
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_a_chunk_failing_mid_batch_refuses_the_rest_for_now_and_a_resend_stores_each_item_once(
    workspace: sessionmaker[Session], failing_inserts: list[int]
) -> None:
    items = [call(f"c{n:02d}", slack_user_id="U_ANA") for n in range(10)]
    failing_inserts.append(2)  # the second chunk's insert
    first = resolve_then_ingest(workspace, TEAM, "dialer", items, NOW, lambda _email: None, chunk_items=4)
    statuses = [result.status for result in first.results]
    assert statuses == ["created"] * 4 + ["rejected"] * 6
    assert {result.error for result in first.results[4:]} == {NOT_STORED}
    assert [result.external_id for result in first.results] == [item["external_id"] for item in items]
    assert len(stored(workspace)) == 4
    assert len(first.touched) >= 1  # the committed chunk's activities still reach the live standings

    failing_inserts.clear()
    resend = resolve_then_ingest(workspace, TEAM, "dialer", items, NOW, lambda _email: None, chunk_items=4)
    assert [result.status for result in resend.results] == ["duplicate"] * 4 + ["created"] * 6
    assert stored(workspace) == sorted(f"ext:api:dialer:c{n:02d}" for n in range(10))


def test_a_first_chunk_that_fails_fails_the_request_and_stores_nothing(
    workspace: sessionmaker[Session], failing_inserts: list[int]
) -> None:
    items = [call(f"c{n}", slack_user_id="U_ANA") for n in range(10)]
    failing_inserts.append(1)
    with pytest.raises(OperationalError):
        resolve_then_ingest(workspace, TEAM, "dialer", items, NOW, lambda _email: None, chunk_items=4)
    assert stored(workspace) == []


def test_from_adapter_lets_items_name_people_by_vendor_id_and_the_api_may_not(
    workspace: sessionmaker[Session],
) -> None:
    items = [call("o1", vendor_user_id="42"), call("o2", slack_user_id="U_ANA")]
    refused = resolve_then_ingest(workspace, TEAM, "outreach", items, NOW, lambda _email: None, chunk_items=1)
    assert [result.status for result in refused.results] == ["rejected", "created"]
    adapted = resolve_then_ingest(
        workspace, TEAM, "outreach", items, NOW, lambda _email: None, from_adapter=True, chunk_items=1
    )
    # The API stored its o2 as api:outreach's: the adapter's is outreach's own, another activity.
    assert answer(adapted) == [("o1", "unmatched"), ("o2", "created")]
    with workspace() as session:
        assert session.scalars(select(ParkedItem.person_key)).all() == ["outreach:42"]


@pytest.fixture
def member_reads(engine: Engine) -> Iterator[list[str]]:
    """The reads of members as MemberRefs (directory.find_member_ref's, not the ORM's)."""
    with sent_statements(engine, lambda statement: "FROM members LEFT OUTER JOIN regions ON" in statement) as seen:
        yield seen


def test_a_chunk_reads_the_members_it_names_at_once_and_creates_a_new_one_on_first_sight(
    workspace: sessionmaker[Session], member_reads: list[str]
) -> None:
    items = [call(f"c{n}", slack_user_id=PEOPLE[n % 3]) for n in range(9)] + [call("new", slack_user_id="U_NEW")]
    report = resolve_then_ingest(workspace, TEAM, "dialer", items, NOW, lambda _email: None)
    assert [status for _, status in answer(report)] == ["created"] * 10
    # One read for the three members who exist, one more (before creating it) for the new one.
    assert len(member_reads) == 2
    with workspace() as session:
        rows = session.execute(
            select(Activity.idempotency_key, Member.user_id, Member.region_id).join(
                Member, Member.id == Activity.member_id
            )
        ).all()
    owners = {key.rsplit(":", 1)[1]: (user_id, region_id is not None) for key, user_id, region_id in rows}
    assert owners == {f"c{n}": (PEOPLE[n % 3], True) for n in range(9)} | {"new": ("U_NEW", False)}
    assert sorted((a.region_name or "") for a in report.created) == [""] + ["AMER"] * 9


def newcomer_batch() -> list[object]:
    """Stored in chunks of 4 (grouped by person): U_ANA's, U_BO's, U_CY's, then U_NEW's 6 over two."""
    return [call(f"c{n:02d}", slack_user_id=PEOPLE[n % 3]) for n in range(12)] + [
        call(f"n{n}", slack_user_id="U_NEW") for n in range(6)
    ]


def test_a_batch_in_chunks_reads_its_members_once_not_once_per_chunk(
    workspace: sessionmaker[Session], member_reads: list[str]
) -> None:
    report = resolve_then_ingest(workspace, TEAM, "dialer", newcomer_batch(), NOW, lambda _email: None, chunk_items=4)
    assert [status for _, status in answer(report)] == ["created"] * 18
    # One read of the batch's members in its first chunk; the newcomer, who didn't exist then,
    # is read (and created) by each of its two chunks. Once a chunk, that was six reads.
    assert len(member_reads) == 3
    with workspace() as session:
        owners = session.execute(
            select(Member.user_id, func.count())
            .join(Activity, Activity.member_id == Member.id)
            .group_by(Member.user_id)
        ).all()
    assert sorted(owners) == [("U_ANA", 4), ("U_BO", 4), ("U_CY", 4), ("U_NEW", 6)]


def test_a_dry_run_never_hands_a_later_chunk_a_member_an_earlier_chunk_rolled_back(
    workspace: sessionmaker[Session],
) -> None:
    report = resolve_then_ingest(
        workspace, TEAM, "dialer", newcomer_batch(), NOW, lambda _email: None, dry_run=True, chunk_items=4
    )
    assert [status for _, status in answer(report)] == ["created"] * 18
    assert stored(workspace) == []
    with workspace() as session:
        assert session.scalar(select(Member.id).where(Member.user_id == "U_NEW")) is None


def test_sharing_the_machine_with_slack_a_batch_is_stored_in_smaller_chunks(
    workspace: sessionmaker[Session], failing_inserts: list[int], tmp_path: Path
) -> None:
    """With the web app's turns, SHARED_CHUNK_ITEMS per transaction (a typed log waits for less
    of a batch at SQLite's write lock); `pipeday import` and the rest keep CHUNK_ITEMS."""
    items = [call(f"c{n:03d}", slack_user_id=PEOPLE[n % 3]) for n in range(CHUNK_ITEMS)]
    failing_inserts.append(2)  # the second chunk's insert: what came before it is what one chunk held
    shared = resolve_then_ingest(
        workspace, TEAM, "dialer", items, NOW, lambda _email: None, turns=IngestTurns(tmp_path / "turns.lock")
    )
    assert [result.status for result in shared.results].count("created") == SHARED_CHUNK_ITEMS < CHUNK_ITEMS

    failing_inserts.clear()
    alone = resolve_then_ingest(workspace, TEAM, "other", items, NOW, lambda _email: None)
    assert [result.status for result in alone.results].count("created") == CHUNK_ITEMS
