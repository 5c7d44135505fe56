"""Storing flags: each rule's draft once (by its dedupe key), and finding one by id.

Apart from bot.domain.flags so that closing a competition day (which raises flags) and the
listings (which read a day's window) don't import each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert, ReturningInsert

from bot.domain.errors import NotFound
from bot.domain.trust_rules import FlagDraft
from models import Flag
from models.trust import FLAG_OPEN


def store_drafts(session: Session, drafts: Sequence[FlagDraft], now: datetime) -> list[int]:
    """Store each draft unless the same flag (its dedupe key) exists: one INSERT … ON CONFLICT
    DO NOTHING each, so a concurrent check of the same thing can't fail. Ids of new flags."""
    created = []
    statement = _insert_statement(session.get_bind().dialect.name)
    for draft in drafts:
        new_id = session.execute(statement, _values(draft, now)).scalar_one_or_none()
        if new_id is not None:
            created.append(int(new_id))
    return created


def store_many(session: Session, drafts: Sequence[FlagDraft], now: datetime) -> None:
    """`store_drafts` for many drafts in one executemany (an ingested batch's after-hours calls:
    hundreds of flags), without telling which were new."""
    if drafts:
        session.execute(_insert_many_statement(session.get_bind().dialect.name), [_values(d, now) for d in drafts])


def _values(draft: FlagDraft, now: datetime) -> dict[str, Any]:
    return {
        "team_id": draft.team_id,
        "member_id": draft.member_id,
        "region_id": draft.region_id,
        "activity_id": draft.activity_id,
        "activity_type": draft.activity_type,
        "local_date": draft.local_date,
        "span_start": draft.span_start,
        "span_end": draft.span_end,
        "rule": draft.rule,
        "figures": draft.figures,
        "summary": draft.summary[:500],
        "raised_by": draft.raised_by,
        "note": draft.note,
        "dedupe_key": draft.dedupe_key[:160],
        "state": FLAG_OPEN,
        "created_at": now,
    }


@cache
def _insert_statement(dialect_name: str) -> ReturningInsert[Any]:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    table = Flag.__table__
    statement: ReturningInsert[Any] = (
        dialect.insert(table).on_conflict_do_nothing(index_elements=["team_id", "dedupe_key"]).returning(table.c.id)
    )
    return statement


@cache
def _insert_many_statement(dialect_name: str) -> Insert:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement: Insert = dialect.insert(Flag.__table__).on_conflict_do_nothing(index_elements=["team_id", "dedupe_key"])
    return statement


def get_flag(session: Session, team_id: str, flag_id: int) -> Flag:
    flag = session.get(Flag, flag_id)
    if flag is None or flag.team_id != team_id:
        raise NotFound(f"There's no flag #{flag_id}.", "`pipeday flags list` shows the open ones.")
    return flag
