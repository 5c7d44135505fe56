"""Features hear about a new log inside its transaction and act on it after the ack."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.activities import LoggedActivity, LogResult
from bot.settings import Settings
from bot.slack.context import AppContext, FollowUp

AT = datetime(2026, 11, 26, 15, tzinfo=UTC)
SESSION: Any = object()  # listeners get the caller's session; here only its identity matters


def result(duplicate: bool) -> LogResult:
    activity = LoggedActivity(7, "T1", 1, 2, "connect", 1.0, None, None, AT)
    return LogResult(activity, duplicate=duplicate, today_total=1.0, week_total=1.0, region_name="AMER")


def context(*listeners: Any) -> AppContext:
    settings = Settings.from_env(
        {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "secret", "DATABASE_URL": "sqlite://"}
    )
    return AppContext(settings=settings, session_factory=sessionmaker[Session](), log_listeners=list(listeners))


def test_listeners_see_the_logs_session_and_their_follow_ups_wait_for_the_caller() -> None:
    events: list[str] = []

    def marks_and_posts(session: Session, logged: LogResult) -> FollowUp:
        assert session is SESSION
        events.append(f"marked {logged.activity.id}")
        return lambda: events.append(f"posted {logged.activity.id}")

    def nothing_to_post(session: Session, logged: LogResult) -> None:
        events.append("checked")

    follow_up = context(marks_and_posts, nothing_to_post).note_log(SESSION, result(duplicate=False))
    assert events == ["marked 7", "checked"]  # inside the transaction: nothing posted yet

    assert follow_up is not None
    follow_up()
    assert events == ["marked 7", "checked", "posted 7"]


def test_a_redelivered_log_tells_no_one() -> None:
    heard: list[LogResult] = []

    def listener(session: Session, logged: LogResult) -> None:
        heard.append(logged)

    assert context(listener).note_log(SESSION, result(duplicate=True)) is None
    assert heard == []


def test_a_log_no_feature_follows_up_leaves_nothing_to_run_after_the_ack() -> None:
    checked: list[int] = []

    def nothing_to_post(session: Session, logged: LogResult) -> None:
        checked.append(logged.activity.id)

    assert context(nothing_to_post).note_log(SESSION, result(duplicate=False)) is None
    assert checked == [7]
