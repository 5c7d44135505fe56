"""models/bulk_insert.insert_new_rows on SQLite and PostgreSQL: several columns of each row
actually inserted (ingestion needs each new activity's id with its key, for the flag rules)."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot.domain.directory import add_region, join_region
from models import Activity, bulk_insert
from models.bulk_insert import insert_new_rows
from tests.db.test_bulk_insert import CONFLICT, TABLE, TEAM, rows_for


def test_the_new_rows_ids_and_keys_come_back_together(session: Session) -> None:
    region = add_region(session, TEAM, "AMER", "America/New_York", None, actor="test")
    member = join_region(session, TEAM, "U_ANA", "ana", "AMER").member
    first = rows_for(member.id, region.id, ["ext:crm:a", "ext:crm:b"])
    returned = insert_new_rows(session, TABLE, first, CONFLICT, ("id", "idempotency_key"))
    stored = {row[0]: row[1] for row in session.execute(select(Activity.id, Activity.idempotency_key))}
    assert sorted(returned) == sorted(stored.items())
    again = rows_for(member.id, region.id, ["ext:crm:b", "ext:crm:c"])
    (new,) = insert_new_rows(session, TABLE, again, CONFLICT, ("id", "idempotency_key"))
    assert new[1] == "ext:crm:c"
    assert session.scalar(select(Activity.idempotency_key).where(Activity.id == new[0])) == "ext:crm:c"


def test_awkward_text_and_columns_of_nothing_but_nulls_are_stored_as_given(session: Session) -> None:
    # PostgreSQL gets each column as one array: text that an array literal would have to quote
    # (commas, quotes, braces, backslashes, the word NULL, an empty string) must come back as sent.
    region = add_region(session, TEAM, "AMER", "America/New_York", None, actor="test")
    member = join_region(session, TEAM, "U_ANA", "ana", "AMER").member
    notes = ['a, "b" {c} \\d', "NULL", "", " spaced ", "Zürich 😀", "null", "{}", "x\ty"]
    rows = [
        row | {"note": note, "region_id": None, "amount_cents": None}
        for row, note in zip(rows_for(member.id, region.id, [f"ext:crm:{n}" for n in range(8)]), notes, strict=True)
    ]
    returned = insert_new_rows(session, TABLE, rows, CONFLICT, ("idempotency_key",))
    assert sorted(key for (key,) in returned) == sorted(row["idempotency_key"] for row in rows)
    found = {
        key: (note, region_id, amount)
        for key, note, region_id, amount in session.execute(
            select(Activity.idempotency_key, Activity.note, Activity.region_id, Activity.amount_cents)
        )
    }
    assert found == {row["idempotency_key"]: (row["note"], None, None) for row in rows}


def test_more_rows_than_a_page_are_all_stored_and_a_repeat_in_a_later_page_is_skipped(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_insert, "PAGE_ROWS", 3)  # SQLite pages its VALUES inserts
    region = add_region(session, TEAM, "AMER", "America/New_York", None, actor="test")
    member = join_region(session, TEAM, "U_ANA", "ana", "AMER").member
    keys = [f"ext:crm:{n}" for n in range(8)] + ["ext:crm:1"]
    returned = insert_new_rows(
        session, TABLE, rows_for(member.id, region.id, keys), CONFLICT, ("id", "idempotency_key")
    )
    stored = {key: activity_id for activity_id, key in session.execute(select(Activity.id, Activity.idempotency_key))}
    assert sorted(returned) == sorted((activity_id, key) for key, activity_id in stored.items())
    assert sorted(stored) == sorted(set(keys))


def test_a_column_left_out_gets_its_python_side_default_as_sqlalchemys_insert_gives_it(session: Session) -> None:
    region = add_region(session, TEAM, "AMER", "America/New_York", None, actor="test")
    member = join_region(session, TEAM, "U_ANA", "ana", "AMER").member
    rows = [
        {name: value for name, value in row.items() if name != "source"}
        for row in rows_for(member.id, region.id, ["ext:crm:a", "ext:crm:b"])
    ]
    assert len(insert_new_rows(session, TABLE, rows, CONFLICT, ("id",))) == 2
    assert session.scalars(select(Activity.source)).all() == ["slash", "slash"]  # Activity.source's default


def test_the_stored_values_are_exactly_those_sqlalchemys_own_insert_stores(session: Session) -> None:
    # Read back raw (SQLite keeps datetimes as text: '…10:40:00' and '…10:40:00.000000' are
    # the same moment to the ORM, not to a comparison in SQL).
    region = add_region(session, TEAM, "AMER", "America/New_York", None, actor="test")
    member = join_region(session, TEAM, "U_ANA", "ana", "AMER").member
    ours = rows_for(member.id, region.id, [f"ours:{n}" for n in range(6)])
    insert_new_rows(session, TABLE, ours, CONFLICT, ("id",))
    session.execute(insert(TABLE), [row | {"idempotency_key": f"sqla:{n}"} for n, row in enumerate(ours)])
    columns = [name for name in ours[0] if name != "idempotency_key"]
    raw = session.connection().exec_driver_sql(
        f"SELECT idempotency_key, {', '.join(columns)} FROM activities ORDER BY id"
    )
    stored: dict[str, dict[str, tuple[object, ...]]] = {"ours": {}, "sqla": {}}
    for key, *values in raw:
        who, _, n = key.partition(":")
        stored[who][n] = tuple(values)
    assert len(stored["ours"]) == 6
    assert stored["ours"] == stored["sqla"]
