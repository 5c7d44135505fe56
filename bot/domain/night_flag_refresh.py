"""Night (hours) flags on ingested activity brought up to date (bot.domain.ingested_hours): after
a check stores its drafts, each open night flag it touched gets its span widened to the draft's and
its figures and summary from what it covers now, a manager's answer left as it was.

One read for all of a check's flags (their spans as a VALUES list joined to the activities; a
LATERAL per span on PostgreSQL, so each is an index range scan) and one executemany UPDATE,
instead of a read and an UPDATE built per flag: under a sustained ingest a check refreshes
hundreds of them. The UPDATE finds each flag by the id read with it: by (team, dedupe key) and
state, PostgreSQL's plan walked every open flag of the team (ix_flags_team_state) for each one,
~0.15 ms a flag with 840 open (bench/README.md, "Ingestion").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    CTE,
    JSON,
    Integer,
    Select,
    String,
    Update,
    and_,
    bindparam,
    column,
    func,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnClause

from bot.domain.activity_sources import SELF_REPORTED_SOURCES
from bot.domain.ingested_hours import Covered, _figures
from bot.domain.trust_rules import FlagDraft
from models import Activity, Flag, UTCDateTime
from models.entities import counted_activities
from models.trust import FLAG_OPEN

# Night flags brought up to date by one read (5 parameters each), the list padded to a multiple of
# SPANS_ROUNDING with spans of NO_MEMBER (which cover nothing).
SPANS_PER_READ = 500
SPANS_ROUNDING = 16
NO_MEMBER = -1


def refresh_span_flags(session: Session, drafts: Sequence[FlagDraft]) -> None:
    """Bring each open night flag of `drafts` (stored just now or before) up to date: its span
    (widened to the draft's) and its figures and summary, from what it covers now. One read
    for all of them (their spans as a VALUES list joined to the activities) and one
    executemany UPDATE; a flag resolved meanwhile is left as its manager answered it."""
    wanted = [draft for draft in drafts if draft.activity_type is not None]
    if not wanted:
        return
    covered: dict[int, Covered] = {}
    for start in range(0, len(wanted), SPANS_PER_READ):
        chunk = wanted[start : start + SPANS_PER_READ]
        covered |= {start + index: found for index, found in _covered_now(session, chunk).items()}
    stored = _stored_open(session, wanted)
    updates = []
    for index, draft in enumerate(wanted):
        now_covered = covered.get(index)
        if now_covered is None:
            continue
        found = stored.get((draft.team_id, draft.dedupe_key))
        if found is None:
            continue  # resolved meanwhile (or not there): left as its manager answered it
        flag_id, stored_now = found
        figures = draft.figures
        new_figures, summary = _figures(
            str(draft.activity_type),
            str(figures["tz"]),
            str(figures["side"]),
            now_covered,
            str(figures["start"]),
            str(figures["end"]),
        )
        summary = summary[:500]
        if stored_now == (draft.span_start, draft.span_end, new_figures, summary):
            continue  # already right (just stored from this check's own items): no write
        updates.append(
            {
                "b_id": flag_id,
                "b_span_start": draft.span_start,
                "b_span_end": draft.span_end,
                "b_figures": new_figures,
                "b_summary": summary,
            }
        )
    if updates:
        session.connection().execute(_update_statement(), updates)


def _stored_open(
    session: Session, drafts: Sequence[FlagDraft]
) -> dict[tuple[str, str], tuple[int, tuple[datetime, datetime, dict[str, Any], str]]]:
    """The open flags of `drafts`: each one's id and what it holds now (span, figures,
    summary), by team and key."""
    rows = session.execute(
        _stored_statement(),
        {"teams": sorted({draft.team_id for draft in drafts}), "keys": sorted({draft.dedupe_key for draft in drafts})},
    )
    return {
        (team_id, key): (flag_id, (start, end, figures, summary))
        for flag_id, team_id, key, start, end, figures, summary in rows
    }


@cache
def _stored_statement() -> Select[Any]:
    table = Flag.__table__
    return select(
        table.c.id,
        table.c.team_id,
        table.c.dedupe_key,
        table.c.span_start,
        table.c.span_end,
        table.c.figures,
        table.c.summary,
    ).where(
        table.c.team_id.in_(bindparam("teams", expanding=True)),
        table.c.dedupe_key.in_(bindparam("keys", expanding=True)),
        table.c.state == FLAG_OPEN,
    )


def _covered_now(session: Session, drafts: Sequence[FlagDraft]) -> dict[int, Covered]:
    """What each draft's span covers now (systems' counted activity of its member and type in
    [span_start, span_end)), by the draft's index; none for a span that covers nothing."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # One array per column: one short statement whatever the count (psycopg parses a
        # statement over 4 kB again on every call, and the VALUES list's was ~20 kB).
        arrays = {
            "i": list(range(len(drafts))),
            "m": [draft.member_id for draft in drafts],
            "t": [draft.activity_type for draft in drafts],
            "s": [draft.span_start for draft in drafts],
            "e": [draft.span_end for draft in drafts],
        }
        return _by_index(session.execute(_covered_statement(0, dialect), arrays))
    # A few statement shapes, not one per count: the list is padded with spans that cover nothing.
    rows = -(-len(drafts) // SPANS_ROUNDING) * SPANS_ROUNDING
    statement = _covered_statement(rows, dialect)
    values: dict[str, object] = {}
    for index in range(rows):
        draft = drafts[min(index, len(drafts) - 1)]
        values |= {
            f"i{index}": index,
            f"m{index}": draft.member_id if index < len(drafts) else NO_MEMBER,
            f"t{index}": draft.activity_type,
            f"s{index}": draft.span_start,
            f"e{index}": draft.span_end,
        }
    return _by_index(session.execute(statement, values))


def _by_index(rows: Iterable[Sequence[Any]]) -> dict[int, Covered]:
    """What each span covers, from its rows (one per source)."""
    per_source: dict[int, list[tuple[str, int, float, datetime, datetime]]] = {}
    for index, source, count, quantity, earliest, latest in rows:
        per_source.setdefault(int(index), []).append((str(source), int(count), float(quantity), earliest, latest))
    return {
        index: Covered(
            logs=sum(found[1] for found in sources),
            quantity=sum(found[2] for found in sources),
            sources=sorted(found[0] for found in sources),
            earliest=min(found[3] for found in sources),
            latest=max(found[4] for found in sources),
        )
        for index, sources in per_source.items()
    }


@lru_cache(maxsize=64)
def _covered_statement(rows: int, dialect: str) -> Select[Any]:
    """Per span (index) and source: count, quantity, first and last moment. On PostgreSQL a
    LATERAL subquery per span, so each is an index range scan (ix_activities_member_type)
    rather than a hash join over the whole table; SQLite joins in nested loops anyway.
    `rows`: the VALUES list's length (SQLite; PostgreSQL's spans are arrays of any length)."""
    spans = _spans_arrays() if dialect == "postgresql" else _spans_values(rows)
    table = Activity.__table__
    aggregates = (
        table.c.source,
        func.count().label("logs"),
        func.sum(table.c.quantity).label("quantity"),
        func.min(table.c.occurred_at).label("earliest"),
        func.max(table.c.occurred_at).label("latest"),
    )
    in_span = (
        table.c.member_id == spans.c.column2,
        table.c.type == spans.c.column3,
        table.c.occurred_at >= spans.c.column4,
        table.c.occurred_at < spans.c.column5,
        table.c.source.not_in(sorted(SELF_REPORTED_SOURCES)),
        counted_activities(table.c),
    )
    if dialect == "postgresql":
        per_span = select(*aggregates).where(*in_span).group_by(table.c.source).lateral("covered")
        return select(spans.c.column1, *per_span.c).select_from(spans).join(per_span, true())
    return (
        select(spans.c.column1, *aggregates)
        .select_from(spans)
        .join(table, and_(*in_span[:4]))
        .where(*in_span[4:])
        .group_by(spans.c.column1, table.c.source)
    )


def _span_columns() -> list[ColumnClause[Any]]:
    """The spans' columns as both databases name a VALUES list's: index, member, type, start, end."""
    return [
        column("column1", Integer),
        column("column2", Integer),
        column("column3", String),
        column("column4", UTCDateTime()),
        column("column5", UTCDateTime()),
    ]


@lru_cache(maxsize=64)
def _spans_values(count: int) -> CTE:
    """`WITH spans AS (VALUES (:i0, :m0, :t0, :s0, :e0), …)`: index, member, type, span (both
    databases name a VALUES list's columns column1, column2, …), for `count` spans."""
    rows = ", ".join(f"(:i{n}, :m{n}, :t{n}, :s{n}, :e{n})" for n in range(count))
    moments = [bindparam(f"{name}{n}", type_=UTCDateTime()) for n in range(count) for name in ("s", "e")]
    return text(f"VALUES {rows}").bindparams(*moments).columns(*_span_columns()).cte("spans")


@cache
def _spans_arrays() -> CTE:
    """`_spans_values` on PostgreSQL: the same columns from one array each (:i, :m, :t, :s, :e)."""
    return (
        text(
            "SELECT * FROM unnest(CAST(:i AS INTEGER[]), CAST(:m AS INTEGER[]), CAST(:t AS VARCHAR[]), "
            "CAST(:s AS TIMESTAMP WITHOUT TIME ZONE[]), CAST(:e AS TIMESTAMP WITHOUT TIME ZONE[])) "
            "AS given(column1, column2, column3, column4, column5)"
        )
        .bindparams(bindparam("s", type_=ARRAY(UTCDateTime())), bindparam("e", type_=ARRAY(UTCDateTime())))
        .columns(*_span_columns())
        .cte("spans")
    )


@cache
def _update_statement() -> Update:
    return (
        update(Flag)
        # Still open: resolved between the read and here, it stays as its manager answered it.
        .where(Flag.id == bindparam("b_id"), Flag.state == FLAG_OPEN)
        .values(
            span_start=bindparam("b_span_start", type_=UTCDateTime()),
            span_end=bindparam("b_span_end", type_=UTCDateTime()),
            figures=bindparam("b_figures", type_=JSON()),
            summary=bindparam("b_summary", type_=String()),
        )
    )
