"""models/bulk_insert.py on SQLite and PostgreSQL: many activity rows in one go store exactly what
the multi-row VALUES insert stored, conflicts are skipped, and only the new keys come back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.directory import add_region, join_region
from models import Activity
from models.bulk_insert import insert_new

TEAM = "T1"
TABLE = Activity.__table__
CONFLICT = ("team_id", "idempotency_key")
NEW_YORK_WINTER = timezone(timedelta(hours=-5))


def rows_for(member_id: int, region_id: int | None, keys: list[str]) -> list[dict[str, Any]]:
    start = datetime(2026, 11, 24, 9, 30, tzinfo=NEW_YORK_WINTER)
    return [
        {
            "team_id": TEAM,
            "member_id": member_id,
            "region_id": region_id if n % 3 else None,
            "type": "deal" if n % 4 == 0 else "hour",
            "quantity": 0.5 + n,
            "amount_cents": 123_456_789_012 if n % 4 == 0 else None,
            "note": f"note {n} ✓" if n % 2 else None,
            "occurred_at": start + timedelta(minutes=n),
            "logged_by": "api:crm",
            "source": "api:crm",
            "idempotency_key": key,
        }
        for n, key in enumerate(keys)
    ]


def stored(session: Session) -> dict[str, dict[str, Any]]:
    found = {}
    for activity in session.scalars(select(Activity)):
        found[str(activity.idempotency_key)] = {name: getattr(activity, name) for name in rows_for(0, 0, ["k"])[0]}
    return found


def test_rows_are_stored_as_given_conflicts_skipped_and_only_new_keys_returned(session: Session) -> None:
    region = add_region(session, TEAM, "AMER", "America/New_York", None, actor="test")
    member = join_region(session, TEAM, "U_ANA", "ana", "AMER").member
    first = rows_for(member.id, region.id, [f"ext:crm:{n}" for n in range(7)])
    assert sorted(insert_new(session, TABLE, first, CONFLICT, "idempotency_key")) == sorted(
        row["idempotency_key"] for row in first
    )
    # Some again (one twice in the same call), some new: only the new come back, nothing changes.
    again = rows_for(member.id, region.id, ["ext:crm:2", "ext:crm:new", "ext:crm:5", "ext:crm:new"])
    assert insert_new(session, TABLE, again, CONFLICT, "idempotency_key") == ["ext:crm:new"]
    session.expire_all()
    found = stored(session)
    assert sorted(found) == sorted([row["idempotency_key"] for row in first] + ["ext:crm:new"])
    for row in first:
        expected = {**row, "occurred_at": row["occurred_at"].astimezone(UTC)}  # stored as UTC, read back aware
        assert found[row["idempotency_key"]] == expected


def test_nothing_to_insert_touches_nothing(session: Session) -> None:
    assert insert_new(session, TABLE, [], CONFLICT, "idempotency_key") == []
    assert stored(session) == {}
