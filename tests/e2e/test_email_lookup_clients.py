"""Slack's email lookups for vendor deliveries fit a run's budget: a 429 isn't waited out and a
Slack that doesn't answer is given up on after a short timeout (the item waits for the run's
retry, never lost); and the gunicorn entry point stops the delivery pool when the process exits."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

import bot.hooks
import bot.web
from bot.hooks import HooksBlueprint
from models.ingestion import WebhookDelivery
from models.readiness import DatabaseReadiness
from tests.e2e.conftest import LiveBot
from tests.e2e.test_aircall_webhooks import deliver, documented, known_rep, new_source, stored
from tests.e2e.test_multi_workspace_webhooks import aircall_source
from tests.e2e.test_multi_workspace_webhooks import deliver as deliver_to
from tests.e2e.webhook_runs import wait_for_runs
from tests.support.clock import FakeClock
from tests.support.installs import MultiBot, running_multi_bot
from tests.support.slack_stub import SlackStub


def deliveries(session_factory: sessionmaker[Session]) -> list[tuple[str, int, str | None]]:
    with session_factory() as session:
        rows = session.execute(select(WebhookDelivery.state, WebhookDelivery.attempts, WebhookDelivery.reason))
        return [(row.state, row.attempts, row.reason) for row in rows]


def test_a_rate_limited_lookup_is_not_waited_out_the_item_waits_for_the_retry(live_bot: LiveBot) -> None:
    known_rep(live_bot)
    source = new_source(live_bot)
    live_bot.slack.fail("users.lookupByEmail", error="ratelimited", status=429, retry_after=1)

    assert deliver(live_bot, source.id, documented()).status_code == 200
    wait_for_runs(live_bot.session_factory)

    # One lookup, refused, not tried again after Retry-After within the run.
    assert len(live_bot.slack.calls("users.lookupByEmail")) == 1
    assert stored(live_bot) == []
    [(state, attempts, reason)] = deliveries(live_bot.session_factory)
    assert (state, attempts) == ("pending", 1) and reason is not None and "ratelimited" in reason


@pytest.fixture
def quick_multi_bot(
    engine: Engine,
    session_factory: sessionmaker[Session],
    slack: SlackStub,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[MultiBot]:
    # Each workspace's lookup client is made when it's asked for, with the timeout of the day.
    monkeypatch.setattr(bot.hooks, "EMAIL_LOOKUP_TIMEOUT_S", 0.3)
    with running_multi_bot(engine, session_factory, slack, clock) as running:
        yield running


def test_a_lookup_slack_does_not_answer_is_given_up_after_the_lookup_timeout(quick_multi_bot: MultiBot) -> None:
    multi = quick_multi_bot
    multi.install(team_id="T_ACME")
    multi.slack.users["U_MADE"] = {"profile": {"email": "madelaine.dupont@aircall.io"}}
    source = aircall_source(multi, "T_ACME")
    released = multi.slack.hold("users.lookupByEmail")
    try:
        started = time.monotonic()
        assert deliver_to(multi, source.id).status_code == 200
        wait_for_runs(multi.session_factory, timeout=5)  # Slack's client would wait 30 s
        took = time.monotonic() - started
    finally:
        released.set()
    assert took < 5, took
    [(state, attempts, reason)] = deliveries(multi.session_factory)
    assert (state, attempts) == ("pending", 1) and reason is not None and "Slack" in reason
    assert len(multi.slack.calls("users.lookupByEmail")) <= 1  # not tried again within the run


def test_the_gunicorn_app_stops_its_delivery_pool_when_the_process_exits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: SlackStub
) -> None:
    at_exit: list[Callable[[], object]] = []
    monkeypatch.setattr(bot.web.atexit, "register", at_exit.append)
    for name, value in {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "SLACK_BOT_TOKEN": "xoxb-t",
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": slack.base_url,
    }.items():
        monkeypatch.setenv(name, value)
    web = bot.web.create_wsgi_app()
    readiness: DatabaseReadiness = web.extensions["pipeday.readiness"]
    try:
        hooks = web.blueprints["webhooks"]
        assert isinstance(hooks, HooksBlueprint)
        assert hooks.delivery_pool.submit(1)  # taking runs (a missing delivery: nothing to do)
        assert hooks.delivery_pool.shutdown in at_exit
        for stop in at_exit:
            stop()
        assert not hooks.delivery_pool.submit(2)  # stopped: left for the clock
    finally:
        readiness.stop()
