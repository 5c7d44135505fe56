"""The runs that do a vendor delivery's work after its answer (bot/ingest/deliveries_runner.py):
a run whose lease was taken over writes nothing, every run ends by its deadline and stops at the
first failure, the web app runs them on its own two threads (what doesn't fit is the clock's),
any exception is counted against its delivery only, and refused items are logged and counted."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.adapters.base import FetchFailed, VendorApi
from bot.adapters.registry import registered
from bot.adapters.vendor_api import UrllibVendorApi
from bot.domain.deliveries import LEASE, MAX_ATTEMPTS, PARKED, PENDING, claim_delivery
from bot.domain.ingestion import link_person
from bot.domain.secret_box import SecretBox
from bot.domain.webhook_sources import update_source
from bot.ingest.deliveries_runner import RUN_BUDGET_S, DeliveryRunner
from bot.ingest.delivery_pool import DeliveryPool
from bot.scheduler.delivery_retries import retry_due_deliveries
from models import Activity
from models.ingestion import WebhookDelivery
from tests.e2e.conftest import SECRET_KEY, TEAM_ID, LiveBot
from tests.e2e.test_aircall_webhooks import clock_runtime, count, documented, known_rep
from tests.e2e.test_aircall_webhooks import deliver as deliver_aircall
from tests.e2e.test_aircall_webhooks import new_source as new_aircall_source
from tests.e2e.test_vendor_deliveries import THIS_WEEK, StubVendor, deliver, new_source
from tests.e2e.webhook_runs import wait_for_runs
from tests.support.waiting import wait_until
from tests.support.wsgi_server import serve_wsgi

NOBODY = "http://127.0.0.1:9"  # an API URL the runs below never reach: their APIs are stand-ins


@pytest.fixture
def vendor() -> Iterator[StubVendor]:
    with registered(StubVendor()) as adapter:
        yield adapter  # type: ignore[misc]


def a_delivery(bot: LiveBot, jobs: list[dict[str, Any]], api_url: str = NOBODY) -> int:
    """An Outreach-like stub source (its rep linked) with one delivery whose jobs are due now."""
    source = new_source(bot, None)
    with bot.session_factory.begin() as session:
        update_source(session, TEAM_ID, "outreach", SecretBox(SECRET_KEY), api_url=api_url)
        link_person(session, TEAM_ID, "outreach:42", "U_REP42")
        row_id = claim_delivery(session, source.id, "d1", bot.clock(), jobs=jobs)
    assert row_id is not None
    return row_id


def the_delivery(bot: LiveBot, row_id: int) -> WebhookDelivery:
    with bot.session_factory() as session:
        found = session.get(WebhookDelivery, row_id)
        assert found is not None
        return found


def runner(bot: LiveBot, api: Callable[..., VendorApi], **kwargs: Any) -> DeliveryRunner:
    return DeliveryRunner(bot.session_factory, bot.clock, lambda email: None, SECRET_KEY, api_factory=api, **kwargs)


def test_a_run_whose_lease_was_taken_over_writes_nothing(live_bot: LiveBot, vendor: StubVendor) -> None:
    """The web's run is stuck on the vendor past LEASE; the clock leases the delivery again and
    finishes it. The stale run's failure used to overwrite that: a `done` delivery with jobs and
    an error, or a parked one."""
    row_id = a_delivery(live_bot, [{"call_id": "c1"}])
    stuck, release = threading.Event(), threading.Event()
    fetches: list[str] = []

    class Api:
        def __init__(self, name: str) -> None:
            self.name = name

        def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
            fetches.append(self.name)
            if self.name == "web":
                stuck.set()
                release.wait(10)
                raise FetchFailed("web: the vendor timed out at last")
            return {"id": "c1", "at": THIS_WEEK, "by": "42"}

        def post_json(self, path: str, body: Any) -> Any:
            raise AssertionError("not used")

    def api_named(name: str) -> Callable[..., VendorApi]:
        return lambda base_url, token, *, deadline: Api(name)

    outcome: list[str | None] = []
    web = threading.Thread(target=lambda: outcome.append(runner(live_bot, api_named("web")).run(row_id)))
    web.start()
    assert stuck.wait(5)
    live_bot.clock.advance(LEASE + timedelta(minutes=1))  # the web's lease has run out
    assert runner(live_bot, api_named("clock")).run_due() == ["done"]
    release.set()
    web.join(10)
    assert outcome == [None] and fetches == ["web", "clock"]
    final = the_delivery(live_bot, row_id)
    assert (final.state, final.attempts, final.jobs, final.reason, final.next_attempt_at, final.lease) == (
        "done",
        0,
        None,
        None,
        None,
        None,
    )
    assert count(live_bot, Activity) == 1


def test_the_backoff_counts_from_when_a_run_ended(live_bot: LiveBot, vendor: StubVendor) -> None:
    row_id = a_delivery(live_bot, [{"call_id": "c1"}])

    class SlowThenFailing:
        def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
            live_bot.clock.advance(timedelta(minutes=3))  # a slow vendor, then a failure
            raise FetchFailed("GET /v1/calls/c1 answered 503")

        def post_json(self, path: str, body: Any) -> Any:
            raise AssertionError("not used")

    started = live_bot.clock()
    assert runner(live_bot, lambda base_url, token, *, deadline: SlowThenFailing()).run(row_id) == PENDING
    failed = the_delivery(live_bot, row_id)
    assert failed.next_attempt_at == started + timedelta(minutes=3) + timedelta(minutes=1)


@contextmanager
def vendor_that_never_answers() -> Iterator[tuple[str, list[socket.socket]]]:
    """Accepts connections and never answers: every call waits for its deadline."""
    accepted: list[socket.socket] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.05)
        stop = threading.Event()

        def accept() -> None:
            while not stop.is_set():
                try:
                    accepted.append(listener.accept()[0])
                except TimeoutError:
                    continue

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
        finally:
            stop.set()
            thread.join(5)
            for conn in accepted:
                conn.close()


def test_a_run_against_a_hung_vendor_ends_by_its_deadline_and_stops_at_the_first_failure(
    live_bot: LiveBot, vendor: StubVendor
) -> None:
    """Four jobs against a vendor that never answers took 4 x 5 s (every job tried, each call
    waiting its full timeout); a HubSpot batch of 100 took minutes in a gunicorn thread."""
    with vendor_that_never_answers() as (api_url, accepted):
        row_id = a_delivery(live_bot, [{"call_id": f"c{n}"} for n in range(4)], api_url)
        started = time.monotonic()
        assert runner(live_bot, UrllibVendorApi, run_budget_s=0.5).run(row_id) == PENDING
        took = time.monotonic() - started
    # Before: 4 jobs x a 5 s timeout = 20 s. Far under that, with room for a loaded CI machine
    # (a 2.0 s bound failed at load 7-9); the exact budget is in the reason below.
    assert took < 8.0, took
    assert len(accepted) == 1  # the first failure ends the run
    failed = the_delivery(live_bot, row_id)
    assert failed.attempts == 1 and failed.reason == "GET /v1/calls/c0 didn't finish within 0.5 s"
    assert failed.jobs == [{"call_id": "c1"}, {"call_id": "c2"}, {"call_id": "c3"}, {"call_id": "c0"}]
    assert LEASE.total_seconds() > 4 * RUN_BUDGET_S  # a run still going never loses its lease


class HeldVendorApi:
    """A vendor API on loopback that holds every call until released, counting calls in flight."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            self.release.wait(10)
        finally:
            with self.lock:
                self.in_flight -= 1
        call_id = environ["PATH_INFO"].rsplit("/", 1)[1]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"id": call_id, "at": THIS_WEEK, "by": "42"}).encode()]


def test_the_web_app_runs_deliveries_on_two_threads_and_leaves_the_rest_to_the_clock(
    live_bot: LiveBot, vendor: StubVendor, caplog: pytest.LogCaptureFixture
) -> None:
    """Twelve id-only deliveries while the vendor hangs: each used to hold a request thread for
    its fetch. Now two run, eight wait in the pool, two are left for the clock's tick."""
    held = HeldVendorApi()
    caplog.set_level(logging.INFO, logger="bot.ingest.delivery_pool")
    with serve_wsgi(held) as api_url:
        source = new_source(live_bot, None)
        with live_bot.session_factory.begin() as session:
            update_source(session, TEAM_ID, "outreach", SecretBox(SECRET_KEY), api_url=api_url)
            link_person(session, TEAM_ID, "outreach:42", "U_REP42")
        try:
            for n in range(12):
                answer = deliver(live_bot, source, {"delivery": f"d{n}", "fetch": [f"c{n}"]})
                assert answer.json() == {"status": "received"}
            wait_until(
                lambda: sum("left for the clock" in record.message for record in caplog.records) == 2,
                what="the pool refusing the two runs it has no room for",
            )
            wait_until(lambda: held.in_flight == 2, what="two runs waiting on the vendor")
        finally:
            held.release.set()
        wait_until(lambda: count(live_bot, Activity) == 10, what="the pool's ten runs")
        assert held.most_in_flight == 2
        assert retry_due_deliveries(clock_runtime(live_bot)) == ["done", "done"]
    assert count(live_bot, Activity) == 12


def test_the_pools_threads_never_hold_a_stopping_process_and_a_stopped_pool_takes_nothing() -> None:
    ran: list[int] = []
    gate = threading.Event()

    class Recording:
        def run(self, delivery_row_id: int) -> None:
            gate.wait(5)
            ran.append(delivery_row_id)

    pool = DeliveryPool(Recording(), workers=2, queued=1)  # type: ignore[arg-type]
    assert [pool.submit(n) for n in range(4)] == [True, True, True, False]  # two running, one waiting
    threads = [thread for thread in threading.enumerate() if thread.name.startswith("webhook-runs-")]
    assert threads and all(thread.daemon for thread in threads)  # a stopping worker doesn't wait for them
    gate.set()
    wait_until(lambda: sorted(ran) == [0, 1, 2], what="the three runs")
    pool.shutdown()
    assert pool.submit(9) is False
    assert sorted(ran) == [0, 1, 2]


def test_a_run_that_raises_is_logged_and_counted_on_its_delivery_only_and_parks_in_the_end(
    live_bot: LiveBot, vendor: StubVendor, caplog: pytest.LogCaptureFixture
) -> None:
    """One delivery whose run raises (here the email resolver, with a bug) used to stop the
    clock's tick: the others weren't run, and it was never counted, so never parked."""
    source = new_source(live_bot, None)
    with live_bot.session_factory.begin() as session:
        link_person(session, TEAM_ID, "outreach:42", "U_REP42")
        bad = claim_delivery(
            session,
            source.id,
            "bad",
            live_bot.clock(),
            items=[{"external_id": "e1", "type": "call", "occurred_at": THIS_WEEK, "email": "bug@acme.com"}],
        )
        good = claim_delivery(
            session,
            source.id,
            "good",
            live_bot.clock(),
            items=[{"external_id": "v1", "type": "call", "occurred_at": THIS_WEEK, "vendor_user_id": "42"}],
        )
    assert bad is not None and good is not None

    def buggy(email: str) -> str | None:
        raise RuntimeError("a bug in the resolver")

    clock = DeliveryRunner(live_bot.session_factory, live_bot.clock, buggy, SECRET_KEY)
    assert sorted(clock.run_due()) == ["done", PENDING]
    failed = the_delivery(live_bot, bad)
    assert (failed.attempts, failed.reason, failed.lease) == (1, "Pipeday failed: RuntimeError", None)
    assert the_delivery(live_bot, good).state == "done" and count(live_bot, Activity) == 1
    (logged,) = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert logged.exc_info is not None and "a bug in the resolver" in logged.exc_text  # type: ignore[operator]
    for _ in range(MAX_ATTEMPTS - 1):
        live_bot.clock.advance(timedelta(hours=2))
        clock.run_due()
    parked = the_delivery(live_bot, bad)
    assert (parked.state, parked.attempts) == (PARKED, MAX_ATTEMPTS)
    assert [item["external_id"] for item in parked.items or []] == ["e1"]  # kept for `ingest retry`


def test_a_failing_live_standings_refresh_doesnt_stop_the_tick(live_bot: LiveBot, vendor: StubVendor) -> None:
    source = new_source(live_bot, None)
    with live_bot.session_factory.begin() as session:
        link_person(session, TEAM_ID, "outreach:42", "U_REP42")
        for n in range(2):
            item = {"external_id": f"v{n}", "type": "call", "occurred_at": THIS_WEEK, "vendor_user_id": "42"}
            claim_delivery(session, source.id, f"d{n}", live_bot.clock(), items=[item])

    def unreachable_slack(touched: Any) -> None:
        raise OSError("Slack is unreachable")

    clock = DeliveryRunner(
        live_bot.session_factory, live_bot.clock, lambda email: None, SECRET_KEY, on_ingested=unreachable_slack
    )
    assert clock.run_due() == ["done", "done"]
    assert count(live_bot, Activity) == 2


def test_refused_items_are_logged_without_personal_data_and_counted_on_their_delivery(
    live_bot: LiveBot, caplog: pytest.LogCaptureFixture
) -> None:
    """A vendor clock ten minutes ahead: the call and connect are refused as in the future. They
    used to be counted nowhere and logged nowhere."""
    known_rep(live_bot)
    source = new_aircall_source(live_bot)
    ahead = int((live_bot.clock() + timedelta(minutes=10)).timestamp())
    body = documented(id=321, started_at=ahead, answered_at=ahead + 5, ended_at=ahead + 95)
    assert deliver_aircall(live_bot, source.id, body).json() == {"status": "received"}
    wait_for_runs(live_bot.session_factory)
    with live_bot.session_factory() as session:
        done = session.scalars(select(WebhookDelivery)).one()
    assert (done.state, done.rejected) == ("done", 2)
    assert done.rejections == [
        {"external_id": "321", "reason": "occurred_at is in the future"},
        {"external_id": "321:connect", "reason": "occurred_at is in the future"},
    ]

    def warnings() -> list[str]:
        return [record.getMessage() for record in caplog.records if record.name == "bot.ingest.deliveries_runner"]

    wait_until(lambda: len(warnings()) == 2, what=lambda: f"the refusals logged (so far {warnings()})")
    assert warnings() == [
        "item 321 from source aircall refused: occurred_at is in the future",
        "item 321:connect from source aircall refused: occurred_at is in the future",
    ]
    assert not any("@" in message for message in warnings())
    assert count(live_bot, Activity) == 0
