"""Renewing an Outreach source's OAuth token when runs overlap or the store fails
(bot/ingest/api_tokens.py). Outreach's refresh token works once: the runs of one source renew
one at a time, each first reading the token stored now, so a run whose token another run just
renewed takes that one instead of spending a refresh token Outreach already retired. And the
new pair, once the old refresh token is spent, is stored even if the first write fails; when
it can't be, the delivery is parked saying so."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from bot.adapters.base import TokenRefused
from bot.adapters.oauth_tokens import RefreshableToken
from bot.adapters.vendor_api import UrllibVendorApi
from bot.domain.secret_box import SecretBox
from bot.domain.webhook_sources import add_source
from bot.ingest import api_tokens
from bot.ingest.api_tokens import SourceTokenGuard
from models.ingestion import WebhookDelivery, WebhookSource
from tests.e2e.conftest import SECRET_KEY, TEAM_ID, LiveBot
from tests.e2e.test_outreach_hooks import at, deliver, sign, stored
from tests.e2e.test_outreach_oauth import OutreachOAuth, kept_token, mailing_delivered, outreach
from tests.e2e.webhook_runs import wait_for_runs
from tests.support.wsgi_server import serve_wsgi


@dataclass
class RotatingOutreach(OutreachOAuth):
    """OutreachOAuth answering one request at a time (a refresh token is spent the moment it
    is traded), whose refused calls can be made to wait until `together` of them arrived: the
    runs then all started from the same expired access token."""

    together: threading.Barrier | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        refused = environ.get("HTTP_AUTHORIZATION") != f"Bearer {self.access_token}"
        if environ["REQUEST_METHOD"] == "GET" and refused and self.together is not None:
            self.together.wait(timeout=10)
        with self.lock:
            return super().app(environ, start_response)


def test_two_runs_of_a_source_renewing_at_once_spend_its_refresh_token_once(
    live_bot: LiveBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The web app's two run threads each lease a delivery of the same source after its access
    token expired. The second refresh used to send refresh-1 again, which Outreach had retired:
    400 invalid_grant, and a delivery parked 'Set a new one' although the stored token was fine."""
    monkeypatch.setattr("tests.e2e.test_outreach_oauth.OutreachOAuth", RotatingOutreach)
    with outreach(live_bot) as (vendor, source_id):
        assert isinstance(vendor, RotatingOutreach)
        body = mailing_delivered(98766)
        assert deliver(live_bot, source_id, body, sign(body)).json() == {"status": "received"}
        wait_for_runs(live_bot.session_factory)
        assert vendor.issued == 1

        vendor.expire()
        vendor.together = threading.Barrier(2)  # both runs are refused access-1 before either renews
        for mailing in (98767, 98768):
            body = mailing_delivered(mailing)
            assert deliver(live_bot, source_id, body, sign(body)).json() == {"status": "received"}
        wait_for_runs(live_bot.session_factory, timeout=20)

    with live_bot.session_factory() as session:
        deliveries = session.execute(select(WebhookDelivery.state, WebhookDelivery.reason)).all()
    assert [(state, reason) for state, reason in deliveries] == [("done", None)] * 3
    renewals = [form for what, _, form in vendor.seen if what == "POST /oauth/token"]
    assert len(renewals) == 2 and "refresh_token=refresh-1" in renewals[1]  # refresh-1 traded once
    kept = kept_token(live_bot)
    assert kept is not None and (kept.access_token, kept.refresh_token) == ("access-2", "refresh-2")
    assert stored(live_bot) == [("email", "outreach", "U_REP1", at(13, 50, 44))] * 3


def test_runs_in_two_processes_take_turns_through_the_sources_row(
    live_bot: LiveBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the lock in this process (the clock's process and the web app's), the database
    makes the second renewal wait for the first and read the token it stored."""
    # Each guard gets a lock of its own, as if its run were in another process.
    monkeypatch.setattr(api_tokens, "_source_lock", lambda source_id: threading.Lock())
    vendor = RotatingOutreach(refresh_token="refresh-0", together=threading.Barrier(2))
    start = RefreshableToken(
        "app-id", "app-secret", "refresh-0", "https://pipeday.example/outreach/callback", "access-0"
    ).stored()
    with serve_wsgi(vendor.app) as api_url:
        with live_bot.session_factory.begin() as session:
            source = add_source(
                session, TEAM_ID, "outreach", "outreach", SecretBox(SECRET_KEY), api_token=start, api_url=api_url
            )
            source_id = source.id
        answers: list[object] = []

        def run(mailing: int) -> None:
            guard = SourceTokenGuard(live_bot.session_factory, SECRET_KEY, source_id)
            api = UrllibVendorApi(api_url, start, renewal=guard)
            try:
                answers.append(api.get_json(f"/api/v2/mailings/{mailing}")["data"]["id"])
            except TokenRefused as refused:
                answers.append(str(refused))

        threads = [threading.Thread(target=run, args=(mailing,)) for mailing in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert sorted(answers, key=str) == [1, 2]
    # The second run waited for the first's renewal and read its token: it never asked itself.
    assert [what for what, _, _ in vendor.seen].count("POST /oauth/token") == 1
    with live_bot.session_factory() as session:
        sealed = session.scalars(select(WebhookSource.api_token_encrypted)).one()
    assert sealed is not None and "access-1" in SecretBox(SECRET_KEY).decrypt(sealed)


@contextmanager
def failing_token_writes(session_factory: sessionmaker[Session], times: int) -> Iterator[list[str]]:
    """The next `times` writes of a source's API token fail as a busy SQLite would."""
    failed: list[str] = []

    def fail(state: ORMExecuteState) -> None:
        statement = state.statement
        table = getattr(getattr(statement, "table", None), "name", None)
        if state.is_update and table == "webhook_sources" and len(failed) < times:
            failed.append("update")
            raise OperationalError("UPDATE webhook_sources", {}, sqlite3.OperationalError("database is locked"))

    event.listen(session_factory, "do_orm_execute", fail)
    try:
        yield failed
    finally:
        event.remove(session_factory, "do_orm_execute", fail)


def test_a_renewed_token_whose_first_write_fails_is_written_again(live_bot: LiveBot) -> None:
    """The refresh spent refresh-0 at Outreach: losing refresh-1 to one failed write used to
    leave the source with a token no run could renew (every later delivery parked)."""
    with outreach(live_bot) as (vendor, source_id):
        with failing_token_writes(live_bot.session_factory, times=1) as failed:
            body = mailing_delivered(98766)
            assert deliver(live_bot, source_id, body, sign(body)).json() == {"status": "received"}
            wait_for_runs(live_bot.session_factory)
        assert failed == ["update"]
        kept = kept_token(live_bot)
        assert kept is not None and (kept.access_token, kept.refresh_token) == ("access-1", "refresh-1")

        vendor.expire()  # the next renewal trades the stored refresh-1
        body = mailing_delivered(98767)
        assert deliver(live_bot, source_id, body, sign(body)).json() == {"status": "received"}
        wait_for_runs(live_bot.session_factory)
    with live_bot.session_factory() as session:
        assert session.scalars(select(WebhookDelivery.state)).all() == ["done", "done"]
    assert vendor.issued == 2


def test_a_renewed_token_that_cant_be_stored_parks_the_delivery_saying_so(
    live_bot: LiveBot, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        outreach(live_bot) as (vendor, source_id),
        caplog.at_level(logging.WARNING, logger="bot.ingest.api_tokens"),
        failing_token_writes(live_bot.session_factory, times=api_tokens.STORE_ATTEMPTS) as failed,
    ):
        body = mailing_delivered(98766)
        assert deliver(live_bot, source_id, body, sign(body)).json() == {"status": "received"}
        wait_for_runs(live_bot.session_factory)
    assert len(failed) == api_tokens.STORE_ATTEMPTS
    with live_bot.session_factory() as session:
        parked = session.scalars(select(WebhookDelivery)).one()
    assert (parked.state, parked.reason) == (
        "parked",
        "outreach lost its renewed API token: the OAuth token was renewed, but storing the new one failed 3 times "
        "(database is locked), and the refresh token stored is spent now. Set a new one: pipeday source set "
        "outreach --api-token T. Outreach's OAuth tokens last about 2 hours.",
    )
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1 and "storing the new one failed 3 times" in errors[0].getMessage()
    assert "refresh-1" not in caplog.text and "access-1" not in caplog.text  # no secrets in the log
    assert vendor.issued == 1


@dataclass
class FakeTurn:
    """A RenewalTurn whose stored token changes between two reads (another process stored it)."""

    reads: list[str | None]
    kept: list[str] = field(default_factory=list)

    def current(self) -> str | None:
        return self.reads.pop(0) if len(self.reads) > 1 else self.reads[0]

    def keep(self, token: str) -> None:
        self.kept.append(token)


def test_a_refused_refresh_reads_the_stored_token_again_before_giving_up() -> None:
    """Another process renewed it between this run's read and its refresh (outside any lock
    here): the token it stored is taken rather than the delivery parked."""
    vendor = RotatingOutreach(refresh_token="refresh-1", access_token="access-1")
    callback = "https://pipeday.example/outreach/callback"
    mine = RefreshableToken("app-id", "app-secret", "refresh-0", callback, "access-0").stored()
    theirs = RefreshableToken("app-id", "app-secret", "refresh-1", callback, "access-1").stored()
    turn = FakeTurn([mine, theirs])

    @contextmanager
    def guard() -> Iterator[FakeTurn]:
        yield turn

    with serve_wsgi(vendor.app) as api_url:
        api = UrllibVendorApi(api_url, mine, renewal=guard)
        assert api.get_json("/api/v2/mailings/5")["data"]["id"] == 5
    assert [what for what, _, _ in vendor.seen] == [
        "GET /api/v2/mailings/5",  # access-0: 401
        "POST /oauth/token",  # refresh-0: 400, spent
        "GET /api/v2/mailings/5",  # access-1, read again
    ]
    assert turn.kept == []  # nothing new to store

    turn = FakeTurn([mine, mine])  # nobody renewed it: the refusal stands
    with serve_wsgi(vendor.app) as api_url:
        api = UrllibVendorApi(api_url, mine, renewal=guard)
        with pytest.raises(TokenRefused, match="renewing the OAuth token: POST /oauth/token answered 400"):
            api.get_json("/api/v2/mailings/6")
