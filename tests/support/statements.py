"""The statements a test's code sends to the database, recorded with SQLAlchemy's
`before_cursor_execute` event while a block runs (how many reads a path makes, which plan an
UPDATE gets)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event


class SentStatement(str):
    """A statement as sent (its SQL: compare it as a string), with the parameters it was sent
    with (an executemany's first row)."""

    parameters: Any

    @classmethod
    def of(cls, statement: str, parameters: Any) -> SentStatement:
        sent = cls(statement)
        sent.parameters = parameters
        return sent


@contextmanager
def sent_statements(
    target: Engine | type[Engine], wanted: Callable[[str], bool] = lambda _statement: True
) -> Iterator[list[SentStatement]]:
    """Each statement sent through `target` (an engine, or `Engine` for every engine) for which
    `wanted(statement)` holds (called on the sending thread), in order, while the block runs."""
    sent: list[SentStatement] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        if wanted(statement):
            sent.append(SentStatement.of(statement, parameters[0] if many else parameters))

    event.listen(target, "before_cursor_execute", before)
    try:
        yield sent
    finally:
        event.remove(target, "before_cursor_execute", before)
