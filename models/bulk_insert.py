"""Insert many rows at once, skipping those whose key is taken, and say which were inserted.

`insert(table).values(rows)` with a list builds one multi-row VALUES statement that
SQLAlchemy compiles afresh on every call ("multivalues are simply not cacheable"): 11 bind
parameters a row, ~130 ms of CPU for 1,000 activities here, most of an ingested batch's cost
(bench/README.md, "Ingestion"). Instead:

- SQLite: one executemany of a statement built once; SQLAlchemy sends it as multi-row
  INSERTs from its cached compilation ("insertmanyvalues").
- PostgreSQL: one short `INSERT … SELECT * FROM unnest(<one array per column>)`; psycopg
  would otherwise re-parse a 100 kB statement with 11,000 placeholders on every call.

Both give the same rows and the same answer as the multi-row VALUES insert they replace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Table, TextClause, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.dml import Insert


def insert_new(
    session: Session,
    table: FromClause,
    rows: Sequence[Mapping[str, Any]],
    conflict: tuple[str, ...],
    returning: str,
) -> list[Any]:
    """Insert `rows` (every row with the same columns) into `table` (a model's `__table__`),
    skipping any that conflicts on the unique `conflict` columns; the `returning` column of
    each row actually inserted."""
    return [row[0] for row in insert_new_rows(session, table, rows, conflict, (returning,))]


def insert_new_rows(
    session: Session,
    table: FromClause,
    rows: Sequence[Mapping[str, Any]],
    conflict: tuple[str, ...],
    returning: tuple[str, ...],
) -> list[tuple[Any, ...]]:
    """`insert_new`, returning several columns of each row inserted (e.g. its id and its key)."""
    if not isinstance(table, Table):
        raise TypeError(f"insert_new needs a Table, not {type(table).__name__}")
    if not rows:
        return []
    columns = tuple(rows[0])
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        statement = _unnest_insert(table, columns, conflict, returning, dialect)
        return [tuple(row) for row in session.execute(statement, _column_arrays(table, columns, rows, dialect))]
    return [tuple(row) for row in session.execute(_many_insert(table, conflict, returning, dialect.name), list(rows))]


@cache
def _many_insert(table: Table, conflict: tuple[str, ...], returning: tuple[str, ...], dialect_name: str) -> Insert:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement: Insert = (
        dialect.insert(table)
        .on_conflict_do_nothing(index_elements=list(conflict))
        .returning(*(table.c[name] for name in returning))
    )
    return statement


@cache
def _unnest_insert(
    table: Table, columns: tuple[str, ...], conflict: tuple[str, ...], returning: tuple[str, ...], dialect: Dialect
) -> TextClause:
    arrays = ", ".join(f"CAST(:{name} AS {table.c[name].type.compile(dialect=dialect)}[])" for name in columns)
    quote = dialect.identifier_preparer.quote
    return text(
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in columns)}) "
        f"SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({', '.join(quote(name) for name in conflict)}) DO NOTHING "
        f"RETURNING {', '.join(quote(name) for name in returning)}"
    )


def _column_arrays(
    table: Table, columns: tuple[str, ...], rows: Sequence[Mapping[str, Any]], dialect: Dialect
) -> dict[str, list[Any]]:
    """One list per column, each value converted as the column's type converts it (a
    UTCDateTime's aware datetime becomes naive UTC, …): text() binds the lists as they are."""
    arrays: dict[str, list[Any]] = {}
    for name in columns:
        values = [row[name] for row in rows]
        convert = table.c[name].type.bind_processor(dialect)
        arrays[name] = [convert(value) for value in values] if convert is not None else values
    return arrays
