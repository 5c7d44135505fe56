"""Insert many rows at once, skipping those whose key is taken, and say which were inserted.

`insert(table).values(rows)` with a list builds one multi-row VALUES statement that
SQLAlchemy compiles afresh on every call ("multivalues are simply not cacheable"): 11 bind
parameters a row, ~130 ms of CPU for 1,000 activities here, most of an ingested batch's cost
(bench/README.md, "Ingestion"). Instead:

- SQLite: multi-row `INSERT … VALUES (?, …), (?, …) …` (at most 1,000 rows and 32,700
  parameters each, as SQLAlchemy's "insertmanyvalues" pages them) sent to the driver as it
  is, the values converted as each column's type converts them: SQLAlchemy's executemany
  built every row's parameters through its compiled statement (~15 ms of CPU per 1,000
  activities).
- PostgreSQL (psycopg): one short `INSERT … SELECT * FROM unnest(<one array per column>)`;
  psycopg would otherwise re-parse a 100 kB statement with 11,000 placeholders on every
  call. The arrays are sent in binary (`%(name)b`): psycopg's text format quotes every element
  through a regex in Python (~2.8 ms of CPU per 100 rows, ~0.7 ms in binary).
- Anything else, or a table with a Python-side default on a column the rows leave out (which
  only SQLAlchemy's own insert fills): one executemany of a statement built once.

All give the same rows and the same answer as the multi-row VALUES insert they replace.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import CursorResult, Table
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
    if _sets_every_value(table, columns):
        if dialect.name == "postgresql" and dialect.driver == "psycopg":
            statement = _unnest_insert(table, columns, conflict, returning, dialect)
            arrays = _column_arrays(table, columns, rows, dialect)
            return _returned(table, returning, dialect, session.connection().exec_driver_sql(statement, arrays))
        if dialect.name == "sqlite" and dialect.paramstyle == "qmark":
            return _values_inserts(session, table, columns, conflict, returning, rows, dialect)
    return [tuple(row) for row in session.execute(_many_insert(table, conflict, returning, dialect.name), list(rows))]


@cache
def _sets_every_value(table: Table, columns: tuple[str, ...]) -> bool:
    """Whether a statement of ours sets what SQLAlchemy's insert would: no column the rows
    leave out has a Python-side default (server defaults the database fills either way)."""
    return all(column.default is None or column.name in columns for column in table.columns)


def _values_inserts(
    session: Session,
    table: Table,
    columns: tuple[str, ...],
    conflict: tuple[str, ...],
    returning: tuple[str, ...],
    rows: Sequence[Mapping[str, Any]],
    dialect: Dialect,
) -> list[tuple[Any, ...]]:
    # Only the columns whose type converts a value pay for a call (an activity: occurred_at).
    converting = [(place, convert) for place, convert in enumerate(_converters(table, columns, dialect)) if convert]
    connection = session.connection()
    page = max(1, min(PAGE_ROWS, MAX_PARAMETERS // len(columns)))
    inserted: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), page):
        chunk = rows[start : start + page]
        values: list[Any] = []
        for row in chunk:
            row_values = [row[name] for name in columns]
            for place, convert in converting:
                row_values[place] = convert(row_values[place])
            values += row_values
        statement = _values_insert(table, columns, conflict, returning, len(chunk), dialect)
        inserted += _returned(table, returning, dialect, connection.exec_driver_sql(statement, tuple(values)))
    return inserted


# SQLAlchemy's "insertmanyvalues" page for SQLite: at most 1,000 rows and 32,700 parameters
# (SQLite allows 32,766 since 3.32).
PAGE_ROWS = 1000
MAX_PARAMETERS = 32_700


def _values_insert(
    table: Table,
    columns: tuple[str, ...],
    conflict: tuple[str, ...],
    returning: tuple[str, ...],
    row_count: int,
    dialect: Dialect,
) -> str:
    head, row, tail = _values_insert_parts(table, columns, conflict, returning, dialect)
    return head + ", ".join([row] * row_count) + tail


@cache
def _values_insert_parts(
    table: Table, columns: tuple[str, ...], conflict: tuple[str, ...], returning: tuple[str, ...], dialect: Dialect
) -> tuple[str, str, str]:
    quote = dialect.identifier_preparer.quote
    return (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in columns)}) VALUES ",
        "(" + ", ".join("?" for _ in columns) + ")",
        f" ON CONFLICT ({', '.join(quote(name) for name in conflict)}) DO NOTHING"
        f" RETURNING {', '.join(quote(name) for name in returning)}",
    )


@cache
def _converters(table: Table, columns: tuple[str, ...], dialect: Dialect) -> tuple[Callable[[Any], Any] | None, ...]:
    # Each value as SQLAlchemy would bind it for the column (a UTCDateTime's aware datetime
    # becomes naive UTC, then SQLite's text, …): the dialect's own type, not the generic one,
    # whose DateTime leaves SQLite's text to the driver (no microseconds when they are 0).
    return tuple(table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns)


def _returned(
    table: Table, returning: tuple[str, ...], dialect: Dialect, result: CursorResult[Any]
) -> list[tuple[Any, ...]]:
    """The RETURNING rows, each value as SQLAlchemy's insert would read it back for its column."""
    readers = _readers(table, returning, dialect)
    if not any(readers):
        return [tuple(row) for row in result]
    return [
        tuple(value if read is None else read(value) for value, read in zip(row, readers, strict=True))
        for row in result
    ]


@cache
def _readers(table: Table, returning: tuple[str, ...], dialect: Dialect) -> tuple[Callable[[Any], Any] | None, ...]:
    return tuple(table.c[name].type.dialect_impl(dialect).result_processor(dialect, None) for name in returning)


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
) -> str:
    # psycopg's own placeholders, sent as they are: `%(name)b` binds that array in binary.
    arrays = ", ".join(f"CAST(%({name})b AS {table.c[name].type.compile(dialect=dialect)}[])" for name in columns)
    quote = dialect.identifier_preparer.quote
    return (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in columns)}) "
        f"SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({', '.join(quote(name) for name in conflict)}) DO NOTHING "
        f"RETURNING {', '.join(quote(name) for name in returning)}"
    )


def _column_arrays(
    table: Table, columns: tuple[str, ...], rows: Sequence[Mapping[str, Any]], dialect: Dialect
) -> dict[str, list[Any]]:
    """One list per column, each value converted as the column's type converts it (a
    UTCDateTime's aware datetime becomes naive UTC, …): the driver binds the lists as they are."""
    arrays: dict[str, list[Any]] = {}
    for name, convert in zip(columns, _converters(table, columns, dialect), strict=True):
        values = [row[name] for row in rows]
        arrays[name] = [convert(value) for value in values] if convert is not None else values
    return arrays
