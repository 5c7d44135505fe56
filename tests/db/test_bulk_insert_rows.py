"""models/bulk_insert.insert_new_rows on SQLite and PostgreSQL: several columns of each row
actually inserted (ingestion needs each new activity's id with its key, for the flag rules)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.directory import add_region, join_region
from models import Activity
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
