"""An experiment, not a baseline: the real app with some or all of a log's database work
taken out, to see where the gap to the bare app comes from.

This is `bot.web:create_wsgi_app()` itself (Flask, Bolt with every listener and middleware,
the `/pg` listener, the grammar, the reply blocks). `BENCH_KEEP` (pass it with `--env`)
says how much of `/pg 1 connect`'s database work stays; the rest answers from constants:

    none         (default) no database work at all
    transaction  open and commit the log's transaction, run nothing in it
    member       ... and read the member
    log          ... and insert the row and sum the totals (live standings check skipped)

    python bench/http_throughput.py --real-app 'bench.no_db_app:create_wsgi_app()' --env BENCH_KEEP=member

The results are in bench/README.md ("Where the time goes").
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

import bot.features.activity_log as activity_log
from bot.domain.activities import LoggedActivity, LogResult
from bot.domain.directory import MemberRef
from bot.slack.context import AppContext
from bot.web import create_wsgi_app as create_real_wsgi_app

LEVELS = ("none", "transaction", "member", "log")
MEMBER = MemberRef(1, "T0001", "U_BENCH0000", 1, "AMER", "America/New_York")


def _constant_member(session: Session, *_args: Any) -> MemberRef:
    return MEMBER


def _constant_member_in_transaction(session: Session, *_args: Any) -> MemberRef:
    session.connection()  # checks out a connection and begins (BEGIN IMMEDIATE on SQLite)
    return MEMBER


def _constant_log(_session: Session, member: MemberRef, entry: Any, **_kwargs: Any) -> LogResult:
    stored = LoggedActivity(
        1,
        member.team_id,
        member.id,
        member.region_id,
        entry.type,
        float(entry.quantity),
        entry.amount_cents,
        entry.note,
        datetime.now(UTC),
    )
    return LogResult(stored, duplicate=False, today_total=1.0, week_total=1.0, region_name=member.region_name)


def _tell_no_one(_ctx: AppContext, _session: Session, _result: LogResult) -> Callable[[], None] | None:
    return None  # nothing to run after the ack, as for a log that touches no competition


def create_wsgi_app() -> Flask:
    keep = os.environ.get("BENCH_KEEP", "none")
    if keep not in LEVELS:
        raise SystemExit(f"BENCH_KEEP must be one of {', '.join(LEVELS)}, not {keep!r}")
    # Patched before the app is built, in this benchmark server's process only. A renamed
    # function would leave the database work in place and the experiment meaningless.
    for owner, name in ((activity_log, "ensure_member_ref"), (activity_log, "log_activity"), (AppContext, "note_log")):
        if not callable(getattr(owner, name, None)):
            raise SystemExit(
                f"{owner.__module__}.{getattr(owner, '__qualname__', '')} has no {name}: update bench/no_db_app.py"
            )
    AppContext.note_log = _tell_no_one
    if keep in ("none", "transaction"):
        activity_log.ensure_member_ref = _constant_member if keep == "none" else _constant_member_in_transaction
    if keep != "log":
        activity_log.log_activity = _constant_log
    return create_real_wsgi_app()
