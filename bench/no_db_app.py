"""An experiment, not a baseline: the real app with a log's database work taken out.

This is `bot.web:create_wsgi_app()` itself (Flask, Bolt with every listener and middleware,
the `/pg` listener, the grammar, the reply blocks), except that `/pg 1 connect` takes its
member, its stored row and its totals from constants instead of the database, and tells
no feature about it. Served in place of the real app,

    python bench/http_throughput.py --real-app 'bench.no_db_app:create_wsgi_app()'

it splits the gap to the bare app into Pipeday's code outside the database (this app vs
bare) and the database work (the real app vs this app): see bench/README.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from flask import Flask

import bot.features.activity_log as activity_log
from bot.domain.activities import LoggedActivity, LogResult
from bot.domain.directory import MemberRef
from bot.slack.context import AppContext
from bot.web import create_wsgi_app as create_real_wsgi_app

MEMBER = MemberRef(1, "T0001", "U_BENCH0000", 1, "AMER", "America/New_York")


def _member_from_constant(*_args: Any) -> MemberRef:
    return MEMBER


def _log_from_constant(_session: Any, member: MemberRef, entry: Any, **_kwargs: Any) -> LogResult:
    stored = LoggedActivity(1, member.team_id, member.id, member.region_id, entry.type, float(entry.quantity),
                            entry.amount_cents, entry.note, datetime.now(timezone.utc))
    return LogResult(stored, duplicate=False, today_total=1.0, week_total=1.0, region_name=member.region_name)


def _tell_no_one(_ctx: AppContext, _session: Any, _result: LogResult) -> Callable[[], None]:
    return lambda: None


def create_wsgi_app() -> Flask:
    # Patched before the app is built, in this benchmark server's process only. A renamed
    # function would leave the database work in place and the experiment meaningless.
    for name in ("ensure_member_ref", "log_activity"):
        if not callable(getattr(activity_log, name, None)):
            raise SystemExit(f"bot.features.activity_log.{name} is gone: update bench/no_db_app.py")
    activity_log.ensure_member_ref = _member_from_constant  # type: ignore[attr-defined]
    activity_log.log_activity = _log_from_constant  # type: ignore[assignment]
    AppContext.note_log = _tell_no_one  # type: ignore[method-assign]
    return create_real_wsgi_app()
