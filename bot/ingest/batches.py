"""One batch of ingested items, at the edge: shared by the batch API (bot/api.py), the
webhooks (bot/hooks.py) and `pipeday import` (bot/cli/importing.py), so all take the same path.

1. Every item is validated once, here, outside any transaction; a repeat of an item earlier
   in the batch is a duplicate. Only valid models go further (`validate_item` hands an
   `ActivityItem` back as it is).
2. Slack is asked about new emails, outside any transaction (a slow users.lookupByEmail must
   never hold the database's write lock); the transactions then only read the answers.
3. The valid items are stored in chunks of `chunk_items`, one transaction each, grouped by
   person so each chunk matches few people. Every item is idempotent (its external id is its
   key), so a chunk committed before a later one fails is never stored twice: on SQLite a
   1,000-item batch no longer holds the single write lock for its whole length, and a typed
   `/pg` log waits for one chunk at most. One batch at a time stores its chunks, and on
   SQLite typed logs go first at the write gate (`models.bulk_writes`).

If a chunk fails after an earlier one committed, the caller still gets one result per item:
the committed ones as they were stored, the others `rejected` with "not stored …; send it
again" (a resend creates exactly those). If the first chunk fails, nothing was stored and the
error propagates, as it did when a batch was a single transaction.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.ingested_items import ActivityItem, ItemResult, validate_item
from bot.domain.ingestion import (
    BatchMembers,
    EmailLookupFailed,
    EmailResolver,
    IngestReport,
    emails_to_match,
    ingest_items,
)
from bot.ingest.turns import IngestTurns
from models.bulk_writes import bulk_writes

logger = logging.getLogger(__name__)

# Items per write transaction: on SQLite how long a typed log can wait for the write lock,
# on PostgreSQL how much WAL its commit can find queued before its own (bench/README.md,
# "Ingestion").
CHUNK_ITEMS = 100
# In the web app, where batches share the machine with Slack's requests (`turns`): half as long
# a wait for a typed log at SQLite's write lock, and twice as many steps aside (bench/README.md).
SHARED_CHUNK_ITEMS = 50
# Items validated between two checks for Slack requests waiting in this worker (bot/ingest/turns.py).
YIELD_EVERY = 20
NOT_STORED = "not stored: the database failed while storing this batch; send it again"


@dataclass(frozen=True)
class _Pending:
    index: int  # the item's place in the batch: its result goes there
    item: ActivityItem


@dataclass
class PreparedBatch:
    """A batch validated and grouped (`prepare_batch`), not yet stored (`store_batch`)."""

    source: str
    from_adapter: bool
    results: list[ItemResult | None]  # the rejected and the repeated already have theirs
    pending: list[_Pending]  # the rest, grouped by person


def resolve_then_ingest(
    session_factory: sessionmaker[Session],
    team_id: str,
    source: str,
    items: Sequence[object],
    now: datetime,
    resolve_email: EmailResolver,
    *,
    dry_run: bool = False,
    from_adapter: bool = False,
    chunk_items: int | None = None,
    turns: IngestTurns | None = None,
) -> IngestReport:
    """One result per item, in order. `source` is the default for items that don't name one;
    `dry_run` rolls every chunk back (each item gets the result it would get, nothing is
    stored); `from_adapter`: a vendor adapter made the items (they may name `vendor_user_id`);
    `chunk_items` overrides the items per transaction (CHUNK_ITEMS, SHARED_CHUNK_ITEMS with
    `turns`). With `turns` (the web app's), validating and storing each take a turn at the CPU,
    and step aside for Slack's requests between items and chunks (bot/ingest/turns.py); asking
    Slack about emails doesn't: a batch that needs to takes two turns, the rest one.
    A turn not free within the turns' `batch_wait_s` raises NoTurn before anything is stored."""
    size = chunk_items or (SHARED_CHUNK_ITEMS if turns is not None else CHUNK_ITEMS)
    with _turn(turns):
        prepared = prepare_batch(items, source, now, from_adapter=from_adapter, turns=turns)
        if not _asks_slack(prepared.pending):
            return _store_chunks(session_factory, team_id, prepared, now, {}, size, dry_run, turns)
    answers = _ask_slack_about_new_emails(session_factory, team_id, prepared, now, resolve_email)
    with _turn(turns):
        return _store_chunks(session_factory, team_id, prepared, now, answers, size, dry_run, turns)


def prepare_batch(
    items: Sequence[object],
    source: str,
    now: datetime,
    *,
    from_adapter: bool = False,
    turns: IngestTurns | None = None,
) -> PreparedBatch:
    """Validate every item once, outside any transaction; a repeat of an earlier item is a
    duplicate. No database work: `pipeday import` prepares the next batch while one is stored.
    `turns`: the caller holds a turn; steps aside for Slack every YIELD_EVERY items."""
    results: list[ItemResult | None] = [None] * len(items)
    pending: list[_Pending] = []
    seen: set[tuple[str, str]] = set()
    for index, raw in enumerate(items):
        if turns is not None and index % YIELD_EVERY == 0:
            turns.yield_to_interactive()
        checked = validate_item(raw, source, now, from_adapter=from_adapter)
        if isinstance(checked, ItemResult):
            results[index] = checked
            continue
        # (source, external id) is what external_key() turns into the stored key; the tuple
        # spares that its character checks (ingest_items makes the key, and catches the rare
        # two pairs sharing one).
        key = (checked.source or source, checked.external_id)
        if key in seen:  # the same item twice in one batch (maybe in different chunks)
            results[index] = ItemResult(checked.external_id, "duplicate")
            continue
        seen.add(key)
        pending.append(_Pending(index, checked))
    # One person's items together: a chunk then looks up a few members, not one per item.
    pending.sort(key=lambda entry: (entry.item.person_key(entry.item.source or source), entry.index))
    return PreparedBatch(source, from_adapter, results, pending)


def store_batch(
    session_factory: sessionmaker[Session],
    team_id: str,
    prepared: PreparedBatch,
    now: datetime,
    resolve_email: EmailResolver,
    *,
    dry_run: bool = False,
    chunk_items: int | None = None,
) -> IngestReport:
    """Store a prepared batch in chunks (see the module's docstring); one result per item, in order."""
    answers = _ask_slack_about_new_emails(session_factory, team_id, prepared, now, resolve_email)
    return _store_chunks(session_factory, team_id, prepared, now, answers, chunk_items or CHUNK_ITEMS, dry_run, None)


def _store_chunks(
    session_factory: sessionmaker[Session],
    team_id: str,
    prepared: PreparedBatch,
    now: datetime,
    answers: dict[str, str | EmailLookupFailed | None],
    chunk_items: int,
    dry_run: bool,
    turns: IngestTurns | None,
) -> IngestReport:
    """The chunks, one transaction each; `turns`: the caller holds one, and this steps aside for
    Slack between chunks."""
    results, pending = list(prepared.results), prepared.pending
    report = IngestReport([])
    size = max(chunk_items, 1)
    members = BatchMembers({entry.item.slack_user_id for entry in pending if entry.item.slack_user_id is not None})
    # One batch at a time stores its chunks, and typed logs go first (models.bulk_writes); a
    # batch with nothing left to store doesn't queue for the lane.
    with _bulk_writes(session_factory) if pending else nullcontext():
        for start in range(0, len(pending), size):
            if turns is not None:
                turns.yield_to_interactive()
            chunk = pending[start : start + size]
            try:
                part = _ingest_chunk(session_factory, team_id, prepared, chunk, now, answers, dry_run, members)
            except (SQLAlchemyError, sqlite3.Error):  # sqlite3's: the write gate waited too long
                if start == 0:
                    raise  # nothing stored: the request fails as a whole, as it always did
                logger.exception("a chunk of an ingested batch failed; the rest of it is 'send it again'")
                for entry in pending[start:]:  # never committed
                    results[entry.index] = ItemResult(entry.item.external_id, "rejected", NOT_STORED)
                break
            for entry, result in zip(chunk, part.results, strict=True):
                results[entry.index] = result
            report.touched |= part.touched
            report.created += part.created
    report.results = [result for result in results if result is not None]
    assert len(report.results) == len(results), "every item gets exactly one result"
    return report


def _asks_slack(pending: list[_Pending]) -> bool:
    """Some item names its person by email alone: Slack may have to be asked who that is."""
    return any(entry.item.slack_user_id is None and entry.item.email for entry in pending)


def _ask_slack_about_new_emails(
    session_factory: sessionmaker[Session],
    team_id: str,
    prepared: PreparedBatch,
    now: datetime,
    resolve_email: EmailResolver,
) -> dict[str, str | EmailLookupFailed | None]:
    if not _asks_slack(prepared.pending):
        return {}  # no transaction at all: on SQLite even a read takes the write gate
    items = [entry.item for entry in prepared.pending]
    with session_factory.begin() as session:
        unknown = emails_to_match(session, team_id, items, now, from_adapter=prepared.from_adapter)
    return {email: _lookup(resolve_email, email) for email in unknown}


def _ingest_chunk(
    session_factory: sessionmaker[Session],
    team_id: str,
    prepared: PreparedBatch,
    chunk: list[_Pending],
    now: datetime,
    answers: dict[str, str | EmailLookupFailed | None],
    dry_run: bool,
    members: BatchMembers,
) -> IngestReport:
    with session_factory() as session:
        transaction = session.begin()
        try:
            part = ingest_items(
                session,
                team_id,
                prepared.source,
                [entry.item for entry in chunk],
                now,
                partial(_answered, answers),
                from_adapter=prepared.from_adapter,
                members=members,
            )
        except BaseException:
            transaction.rollback()
            raise
        if dry_run:
            transaction.rollback()
            part.touched.clear()
            part.created.clear()
        else:
            transaction.commit()
    return part


def _turn(turns: IngestTurns | None) -> AbstractContextManager[None]:
    return turns.turn(turns.batch_wait_s) if turns is not None else nullcontext()


def _bulk_writes(session_factory: sessionmaker[Session]) -> AbstractContextManager[None]:
    bind = session_factory.kw.get("bind")
    return bulk_writes(bind) if isinstance(bind, Engine) else nullcontext()


def _lookup(resolve_email: EmailResolver, email: str) -> str | EmailLookupFailed | None:
    try:
        return resolve_email(email)
    except EmailLookupFailed as failure:
        return failure


def _answered(answers: dict[str, str | EmailLookupFailed | None], email: str) -> str | None:
    """What Slack said about `email` before the transaction began (None for emails it wasn't
    asked about: they were cached on a member, which ingest_items finds first)."""
    answer = answers.get(email)
    if isinstance(answer, EmailLookupFailed):
        raise answer
    return answer
