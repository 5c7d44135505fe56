"""One batch of ingested items, at the edge: shared by the batch API (bot/api.py) and
`pipeday import` (bot/cli/importing.py), so both take the same path.

Slack is asked about new emails first, outside any transaction (a slow users.lookupByEmail
must never hold the database's write lock); the batch's own transaction then only reads the
answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.ingestion import EmailLookupFailed, EmailResolver, IngestReport, emails_to_match, ingest_items


def resolve_then_ingest(
    session_factory: sessionmaker[Session],
    team_id: str,
    source: str,
    items: Sequence[object],
    now: datetime,
    resolve_email: EmailResolver,
    *,
    dry_run: bool = False,
) -> IngestReport:
    """Match the batch's new emails, then ingest it in one transaction (rolled back when
    `dry_run`: every item gets its result and nothing is stored)."""
    with session_factory.begin() as session:
        unknown = emails_to_match(session, team_id, items, now)
    answers = {email: _lookup(resolve_email, email) for email in unknown}
    with session_factory() as session:
        transaction = session.begin()
        try:
            report = ingest_items(session, team_id, source, items, now, partial(_answered, answers))
        except BaseException:
            transaction.rollback()
            raise
        if dry_run:
            transaction.rollback()
            report.touched.clear()
        else:
            transaction.commit()
    return report


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
