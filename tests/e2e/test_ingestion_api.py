"""The batch ingestion API over real HTTP against the WSGI app: keys, every item status,
duplicates across retries and concurrent deliveries, email matching and parked items."""

from __future__ import annotations

import json
import multiprocessing
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select

from bot.devtools.slack_requests import HttpResult, SignedRequest
from bot.domain.activities import member_totals
from bot.domain.api_keys import create_key, revoke_key
from bot.domain.competition_definitions import add_competition
from bot.domain.competition_presets import PRESETS
from bot.domain.directory import add_region, get_member, join_region
from bot.domain.ingestion import link_person, parked_items
from bot.domain.windows import period_window
from models import Activity, ApiKey, CompetitionDay, Member
from models.sqlite_files import ungated_reads
from tests.e2e.conftest import DEFAULT_NOW, TEAM_ID, LiveBot
from tests.support.sqlite_gate import hold_gate
from tests.support.waiting import wait_until

WHEN = "2026-11-24T09:30:00-05:00"  # 14:30 UTC, half an hour before the test clock


def new_key(bot: LiveBot, name: str = "zapier") -> str:
    with bot.session_factory.begin() as session:
        return create_key(session, TEAM_ID, name).key


def post(bot: LiveBot, body: bytes | dict[str, Any], key: str | None) -> HttpResult:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return SignedRequest(data, headers).send(bot.base_url, "/api/v1/activities")


def item(external_id: str, **fields: Any) -> dict[str, Any]:
    return {"external_id": external_id, "type": "call", "occurred_at": WHEN, "slack_user_id": "U_REP1", **fields}


def activity_count(bot: LiveBot) -> int:
    with bot.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(Activity)) or 0)


def test_every_item_status_in_order_and_one_bad_item_rejects_nothing_else(live_bot: LiveBot) -> None:
    key = new_key(live_bot)
    body = {
        "activities": [
            item("c-1", quantity=3),
            item("c-1", quantity=3),  # the same item twice in one batch
            item("d-1", type="wins", amount=12500.5, note="Acme\trenewal"),
            {**item("u-1"), "slack_user_id": None, "email": "nobody@example.com"},
            item("bad-type", type="fax"),
            item("naive", occurred_at="2026-11-24T09:30:00"),
            item("future", occurred_at=(DEFAULT_NOW + timedelta(minutes=6)).isoformat()),
            item("too-many", quantity=501),
            item("amount-on-call", amount=5),
            {"type": "call", "occurred_at": WHEN, "slack_user_id": "U_REP1"},
            "not an object",
        ]
    }
    answer = post(live_bot, body, key)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [(r["external_id"], r["status"]) for r in results] == [
        ("c-1", "created"),
        ("c-1", "duplicate"),
        ("d-1", "created"),
        ("u-1", "unmatched"),
        ("bad-type", "rejected"),
        ("naive", "rejected"),
        ("future", "rejected"),
        ("too-many", "rejected"),
        ("amount-on-call", "rejected"),
        (None, "rejected"),
        (None, "rejected"),
    ]
    assert "fax" in results[4]["error"] and "occurred_at" in results[5]["error"]
    assert "future" in results[6]["error"] and "external_id" in results[9]["error"]
    with live_bot.session_factory() as session:
        rows = session.scalars(select(Activity).order_by(Activity.id)).all()
        assert [(a.type, a.quantity, a.amount_cents, a.note, a.source) for a in rows] == [
            ("call", 3.0, None, None, "api:zapier"),
            ("deal", 1.0, 1_250_050, "Acme renewal", "api:zapier"),
        ]
        assert rows[0].occurred_at == DEFAULT_NOW - timedelta(minutes=30)

    # A retry of the whole batch creates nothing new.
    again = post(live_bot, body, key).json()["results"]
    assert [r["status"] for r in again[:4]] == ["duplicate", "duplicate", "duplicate", "unmatched"]
    assert activity_count(live_bot) == 2


def test_missing_bad_and_revoked_keys_get_401_bad_bodies_400_big_bodies_413(live_bot: LiveBot) -> None:
    key = new_key(live_bot)
    good = {"activities": [item("x-1")]}
    assert post(live_bot, good, None).status_code == 401
    assert post(live_bot, good, "pd_" + "x" * 43).status_code == 401
    assert post(live_bot, good, key[:-1] + ("A" if key[-1] != "A" else "B")).status_code == 401
    for bad in (b"not json", b"[1, 2]", b'{"activities": {}}', b'{"items": []}'):
        assert post(live_bot, bad, key).status_code == 400, bad
    assert post(live_bot, {"activities": [item(f"i-{n}") for n in range(1001)]}, key).status_code == 400
    assert post(live_bot, {"activities": [item("big", note="x" * (1024 * 1024))]}, key).status_code == 413
    assert activity_count(live_bot) == 0

    with live_bot.session_factory.begin() as session:
        revoke_key(session, TEAM_ID, "zapier", DEFAULT_NOW)
    assert post(live_bot, good, key).status_code == 401
    assert activity_count(live_bot) == 0


def test_last_used_moves_at_most_once_a_minute(live_bot: LiveBot) -> None:
    key = new_key(live_bot)
    post(live_bot, {"activities": []}, key)
    live_bot.clock.advance(timedelta(seconds=30))
    post(live_bot, {"activities": []}, key)
    with live_bot.session_factory() as session:
        assert session.scalars(select(ApiKey.last_used_at)).one() == DEFAULT_NOW
    live_bot.clock.advance(timedelta(seconds=31))
    post(live_bot, {"activities": []}, key)
    with live_bot.session_factory() as session:
        assert session.scalars(select(ApiKey.last_used_at)).one() == DEFAULT_NOW + timedelta(seconds=61)


def test_a_key_in_use_is_read_without_waiting_for_sqlites_writers(live_bot: LiveBot, engine: Engine) -> None:
    """On SQLite every transaction waits for the write gate: the key is read outside it, and
    only its use (once a minute) written. PostgreSQL has no gate to wait for."""
    key = new_key(live_bot)
    assert post(live_bot, {"activities": []}, key).status_code == 200  # its use noted now
    if engine.dialect.name != "sqlite":
        assert ungated_reads(live_bot.session_factory) is None
        return
    context = multiprocessing.get_context("spawn")
    holding, release = context.Event(), context.Event()
    writer = context.Process(target=hold_gate, args=(f"{engine.url.database}.writer-lock", holding, release))
    writer.start()
    try:
        assert holding.wait(20)
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(post, live_bot, {"activities": []}, key).result(timeout=3)
        assert answer.status_code == 200 and answer.json() == {"results": []}
    finally:
        release.set()
        writer.join(10)


def test_eight_threads_resending_the_same_100_items_store_exactly_100(live_bot: LiveBot) -> None:
    key = new_key(live_bot)
    # A new member in every batch too: their first sight races as well.
    body = {"activities": [item(f"call-{n}", slack_user_id=f"U_NEW{n % 3}") for n in range(100)]}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post(live_bot, body, key), range(8)))
    assert [a.status_code for a in answers] == [200] * 8
    statuses = [r["status"] for a in answers for r in a.json()["results"]]
    assert statuses.count("created") == 100 and statuses.count("duplicate") == 700
    assert activity_count(live_bot) == 100
    with live_bot.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 3


def test_email_matched_through_users_lookup_by_email_and_cached(live_bot: LiveBot) -> None:
    live_bot.slack.users["U_SAM"] = {"profile": {"email": "Sam@Acme.com"}}
    key = new_key(live_bot)
    body = {"activities": [{**item("e-1"), "slack_user_id": None, "email": "sam@acme.COM"}]}
    assert post(live_bot, body, key).json()["results"][0]["status"] == "created"
    with live_bot.session_factory() as session:
        member = get_member(session, TEAM_ID, "U_SAM")
        assert member is not None and member.email == "sam@acme.com"
    # The cached email answers next time without asking Slack.
    lookups = len(live_bot.slack.calls("users.lookupByEmail"))
    body = {"activities": [{**item("e-2"), "slack_user_id": None, "email": "sam@acme.com"}]}
    assert post(live_bot, body, key).json()["results"][0]["status"] == "created"
    assert len(live_bot.slack.calls("users.lookupByEmail")) == lookups == 1


def test_unmatched_items_are_parked_then_replayed_by_linking_the_person(live_bot: LiveBot) -> None:
    key = new_key(live_bot)
    body = {
        "activities": [
            {**item("p-1", quantity=2), "slack_user_id": None, "email": "pat@acme.com"},
            {**item("p-2", type="connect"), "slack_user_id": None, "email": "pat@acme.com"},
            {**item("old", occurred_at="2026-11-02T10:00:00+00:00"), "slack_user_id": None, "email": "pat@acme.com"},
        ]
    }
    assert [r["status"] for r in post(live_bot, body, key).json()["results"]] == ["unmatched"] * 3
    assert [r["status"] for r in post(live_bot, body, key).json()["results"]] == ["unmatched"] * 3
    assert activity_count(live_bot) == 0
    with live_bot.session_factory.begin() as session:
        assert {k: len(v) for k, v in parked_items(session, TEAM_ID).items()} == {"pat@acme.com": 3}
        linked = link_person(session, TEAM_ID, "Pat@acme.com", "U_PAT")
        assert (linked.created, linked.duplicate) == (3, 0)
        assert parked_items(session, TEAM_ID) == {}
    with live_bot.session_factory() as session:
        member = get_member(session, TEAM_ID, "U_PAT")
        assert member is not None
        week = period_window("week", DEFAULT_NOW, ZoneInfo("UTC"))
        assert member_totals(session, member.id, week) == {"call": 2.0, "connect": 1.0}
    # Now the email is known: a retry is a duplicate, never a second activity.
    assert [r["status"] for r in post(live_bot, body, key).json()["results"]] == ["duplicate"] * 3
    assert activity_count(live_bot) == 3


def test_openapi_names_the_item_fields(live_bot: LiveBot) -> None:
    with urllib.request.urlopen(live_bot.base_url + "/api/v1/openapi.json", timeout=10) as response:
        document = json.loads(response.read())
    item_schema = document["components"]["schemas"]["ActivityItem"]
    assert {"external_id", "type", "quantity", "amount", "note", "occurred_at", "slack_user_id", "email"} <= set(
        item_schema["properties"]
    )
    assert "external_id" in item_schema["required"] and "/api/v1/activities" in document["paths"]


def test_a_slack_that_cant_match_an_email_refuses_the_item_for_now_and_parks_nothing(live_bot: LiveBot) -> None:
    live_bot.slack.users["U_SAM"] = {"profile": {"email": "sam@acme.com"}}
    live_bot.slack.fail("users.lookupByEmail", error="fatal_error", status=500, retry_after=None)
    key = new_key(live_bot)
    body = {"activities": [{**item("e-1"), "slack_user_id": None, "email": "sam@acme.com"}]}

    (result,) = post(live_bot, body, key).json()["results"]
    assert result["status"] == "rejected" and "send it again" in result["error"]
    with live_bot.session_factory() as session:
        assert parked_items(session, TEAM_ID) == {}
    assert activity_count(live_bot) == 0

    assert post(live_bot, body, key).json()["results"][0]["status"] == "created"  # sent again


def test_a_slow_email_lookup_holds_no_database_lock(live_bot: LiveBot) -> None:
    live_bot.slack.users["U_SAM"] = {"profile": {"email": "sam@acme.com"}}
    key = new_key(live_bot)
    body = {"activities": [{**item("e-1"), "slack_user_id": None, "email": "sam@acme.com"}]}
    released = live_bot.slack.hold("users.lookupByEmail")
    with ThreadPoolExecutor(max_workers=2) as pool:
        batch = pool.submit(post, live_bot, body, key)
        live_bot.slack.wait_for_held("users.lookupByEmail", 1)
        # While Slack thinks, a rep logs: on SQLite this waited for the batch's write lock.
        logged = pool.submit(live_bot.pg_reply, "1 connect")
        assert "Logged 1 connect" in logged.result(timeout=3)["text"]
        released.set()
        assert batch.result(timeout=10).json()["results"][0]["status"] == "created"


# Thursday 26 Nov 2026, 10:00 in New York: Connect Day is on.
CONNECT_DAY_10AM = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def test_a_batch_for_a_competition_day_edits_its_live_standings_once_with_the_new_totals(live_bot: LiveBot) -> None:
    with live_bot.session_factory.begin() as session:
        add_region(session, TEAM_ID, "AMER", "America/New_York", "C_AMER", actor="test")
        add_competition(session, TEAM_ID, PRESETS["connect-day"], actor="test")
        for user_id in ("U_ANA", "U_BEN"):
            join_region(session, TEAM_ID, user_id, user_id.removeprefix("U_").lower(), "AMER")
    live_bot.clock.set(CONNECT_DAY_10AM)
    key = new_key(live_bot, "dialer")
    live_bot.pg_reply("1 connect", user_id="U_ANA")  # posts the live standings message
    (live,) = live_bot.slack.wait_for("chat.postMessage")
    wait_until(lambda: _live_ts(live_bot) is not None)
    live_bot.clock.advance(timedelta(seconds=31))  # the edit throttle allows one edit now

    start = datetime(2026, 11, 26, 14, 5, tzinfo=UTC)  # 09:05 in New York
    batch = [
        item(
            f"call-{n}",
            type="connect",
            occurred_at=(start + timedelta(seconds=5 * n)).isoformat(),
            slack_user_id="U_ANA" if n % 5 < 3 else "U_BEN",
        )
        for n in range(500)
    ]
    answer = post(live_bot, {"activities": batch}, key)
    assert answer.status_code == 200, answer.text
    assert {result["status"] for result in answer.json()["results"]} == {"created"}

    (edit,) = live_bot.slack.wait_for("chat.update")
    live_bot.settle()
    assert len(live_bot.slack.calls("chat.update")) == 1  # one edit for 500 activities
    assert edit.args["ts"] == _live_ts(live_bot)
    shown = json.dumps(edit.json_arg("blocks"))
    assert "301" in shown and "200" in shown, shown  # Ana 1 typed + 300 ingested; Ben 200
    assert live.args["channel"] == "C_AMER"


def _live_ts(bot: LiveBot) -> str | None:
    with bot.session_factory.begin() as session:
        return session.scalars(select(CompetitionDay.live_ts)).first()
