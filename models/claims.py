"""Compare-and-set writes: how concurrent workers learn which one of them won."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Executable
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.base import Base


def updated_rows(session: Session, statement: Executable) -> int:
    """Rows an UPDATE changed (0 when another worker changed them first)."""
    return int(cast("CursorResult[Any]", session.execute(statement)).rowcount)


def insert_once(session: Session, row: Base) -> bool:
    """Insert `row`; False when its unique key already exists (someone else got there first).

    A savepoint, so losing the race keeps the caller's transaction usable.
    """
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True
