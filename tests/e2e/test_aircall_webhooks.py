"""`POST /hooks/aircall/<source-id>` over real HTTP with Aircall's documented body
(tests/fixtures/hooks/aircall/SOURCES.md): the token checked, answered before anything is
ingested, a redelivery counted once, connects after 30 s of talk, the source's mapping applied,
unmatched people parked; Slack's email lookups off the request path, remembered when nobody
has the email, and retried (never lost) when Slack fails."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.devtools.slack_requests import HttpResult, SignedRequest
from bot.domain.directory import get_member
from bot.domain.ingestion import link_person, parked_items
from bot.domain.secret_box import SecretBox
from bot.domain.webhook_sources import NewSource, add_source, map_event
from bot.scheduler.delivery_retries import retry_due_deliveries
from bot.scheduler.jobs import JobRuntime
from models import Activity, Member, WebhookSource
from models.ingestion import EmailLookupMiss, WebhookDelivery
from tests.e2e.conftest import SECRET_KEY, TEAM_ID, LiveBot
from tests.e2e.webhook_runs import wait_for_runs

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "hooks" / "aircall" / "call_ended.json"
TOKEN = "cebcaac65XXXXXXXXXx"  # the documented sample's token, pasted with --secret
EMAIL = "madelaine.dupont@aircall.io"


def documented(**call: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(FIXTURE.read_text())
    body["data"].update(call)
    return body


def new_source(bot: LiveBot, name: str = "aircall") -> NewSource:
    with bot.session_factory.begin() as session:
        return add_source(session, TEAM_ID, "aircall", name, SecretBox(SECRET_KEY), secret=TOKEN)


def deliver(bot: LiveBot, source_id: str, body: bytes | dict[str, Any], kind: str = "aircall") -> HttpResult:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return SignedRequest(raw, {"Content-Type": "application/json"}).send(bot.base_url, f"/hooks/{kind}/{source_id}")


def stored(bot: LiveBot) -> list[tuple[str, str, float, str, str]]:
    with bot.session_factory() as session:
        rows = session.execute(
            select(Activity.idempotency_key, Activity.type, Activity.quantity, Activity.source, Member.user_id)
            .join(Member, Member.id == Activity.member_id)
            .order_by(Activity.idempotency_key)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def count(bot: LiveBot, model: type[Activity] | type[WebhookDelivery]) -> int:
    with bot.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def known_rep(bot: LiveBot) -> None:
    """Slack knows Madelaine's email: she's U_MADE."""
    bot.slack.users["U_MADE"] = {"profile": {"email": EMAIL}}


def test_an_answered_call_that_talked_is_a_call_and_a_connect_and_a_redelivery_counts_once(
    live_bot: LiveBot,
) -> None:
    known_rep(live_bot)
    source = new_source(live_bot)
    answer = deliver(live_bot, source.id, documented())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "received"}
    wait_for_runs(live_bot.session_factory)
    assert stored(live_bot) == [
        ("ext:aircall:123", "call", 1.0, "aircall", "U_MADE"),
        ("ext:aircall:123:connect", "connect", 1.0, "aircall", "U_MADE"),
    ]
    # Aircall retries what it thinks failed: the same event again is acknowledged and stores nothing.
    again = deliver(live_bot, source.id, documented())
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    assert count(live_bot, Activity) == 2 and count(live_bot, WebhookDelivery) == 1
    with live_bot.session_factory() as session:
        assert get_member(session, TEAM_ID, "U_MADE").email == EMAIL  # type: ignore[union-attr]


def test_a_ten_second_call_is_a_call_only(live_bot: LiveBot) -> None:
    known_rep(live_bot)
    source = new_source(live_bot)
    short = documented(id=124, ended_at=documented()["data"]["answered_at"] + 10)
    assert deliver(live_bot, source.id, short).json() == {"status": "received"}
    wait_for_runs(live_bot.session_factory)
    assert [(key, kind) for key, kind, *_ in stored(live_bot)] == [("ext:aircall:124", "call")]


def test_a_bad_token_a_changed_body_an_unknown_source_or_the_wrong_kind_get_401_and_store_nothing(
    live_bot: LiveBot,
) -> None:
    known_rep(live_bot)
    source = new_source(live_bot)
    raw = FIXTURE.read_bytes()
    attempts = [
        (source.id, "aircall", {**documented(), "token": "not-the-webhooks-token"}),  # bad token
        (source.id, "aircall", {key: value for key, value in documented().items() if key != "token"}),  # no token
        (source.id, "aircall", raw.replace(TOKEN.encode(), b"cebcaac65XXXXXXXXXy")),  # body changed, token too
        (source.id, "aircall", raw[:-40]),  # cut short: its token can't be read
        ("no-such-source", "aircall", documented()),  # unknown source
        (source.id, "generic", documented()),  # an Aircall source's id under another kind
    ]
    for source_id, kind, body in attempts:
        answer = deliver(live_bot, source_id, body, kind)
        assert answer.status_code == 401, (kind, answer.text)
    assert count(live_bot, Activity) == 0 and count(live_bot, WebhookDelivery) == 0
    with live_bot.session_factory() as session:
        assert parked_items(session, TEAM_ID) == {}


def test_a_body_that_isnt_an_aircall_event_is_400_and_other_events_store_nothing(live_bot: LiveBot) -> None:
    source = new_source(live_bot)
    broken = documented()
    del broken["data"]["id"]
    answer = deliver(live_bot, source.id, broken)
    assert answer.status_code == 400 and "id" in answer.json()["error"]
    created = {**documented(), "event": "call.created"}
    assert deliver(live_bot, source.id, created).json() == {"status": "received"}
    assert count(live_bot, Activity) == 0 and count(live_bot, WebhookDelivery) == 0


def test_changing_the_mapping_changes_what_the_next_delivery_stores(live_bot: LiveBot) -> None:
    known_rep(live_bot)
    source = new_source(live_bot)
    with live_bot.session_factory.begin() as session:
        assert map_event(session, TEAM_ID, "aircall", "call.ended.answered", "meeting") == ("connect", "meeting")
        assert map_event(session, TEAM_ID, "aircall", "call.ended", "none") == ("call", "")
    assert deliver(live_bot, source.id, documented()).json() == {"status": "received"}
    wait_for_runs(live_bot.session_factory)
    assert [(key, kind) for key, kind, *_ in stored(live_bot)] == [("ext:aircall:123:connect", "meeting")]
    with live_bot.session_factory.begin() as session:
        assert map_event(session, TEAM_ID, "aircall", "call.ended", "call") == ("", "call")
        changes = session.get(WebhookSource, source.id).mapping  # type: ignore[union-attr]
        assert changes == {"call.ended.answered": "meeting"}  # back to its default: no longer a change
    deliver(live_bot, source.id, documented(id=125))
    wait_for_runs(live_bot.session_factory)
    assert [(key, kind) for key, kind, *_ in stored(live_bot)] == [
        ("ext:aircall:123:connect", "meeting"),
        ("ext:aircall:125", "call"),
        ("ext:aircall:125:connect", "meeting"),
    ]


def test_a_rep_slack_cant_match_is_parked_by_email_and_linking_replays_the_calls(live_bot: LiveBot) -> None:
    source = new_source(live_bot)  # nobody in Slack has Madelaine's email
    assert deliver(live_bot, source.id, documented()).json() == {"status": "received"}
    assert deliver(live_bot, source.id, documented(id=126, answered_at=None)).json() == {"status": "received"}
    wait_for_runs(live_bot.session_factory)
    assert count(live_bot, Activity) == 0
    with live_bot.session_factory.begin() as session:
        assert {key: len(rows) for key, rows in parked_items(session, TEAM_ID).items()} == {EMAIL: 3}
        linked = link_person(session, TEAM_ID, EMAIL.upper(), "U_MADE")
        assert (linked.key, linked.created, linked.duplicate) == (EMAIL, 3, 0)
        assert {(fact.type, fact.source) for fact in linked.touched} == {("call", "aircall"), ("connect", "aircall")}
        assert parked_items(session, TEAM_ID) == {}
    assert [(key, kind, user) for key, kind, _, _, user in stored(live_bot)] == [
        ("ext:aircall:123", "call", "U_MADE"),
        ("ext:aircall:123:connect", "connect", "U_MADE"),
        ("ext:aircall:126", "call", "U_MADE"),
    ]
    # Known now: the next call is matched, and the earlier ones stay counted once.
    assert deliver(live_bot, source.id, documented(id=127)).json() == {"status": "received"}
    wait_for_runs(live_bot.session_factory)
    assert count(live_bot, Activity) == 5


def test_eight_concurrent_copies_of_a_delivery_store_it_once(live_bot: LiveBot) -> None:
    from concurrent.futures import ThreadPoolExecutor

    known_rep(live_bot)
    source = new_source(live_bot)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: deliver(live_bot, source.id, documented()), range(8)))
    assert all(answer.status_code == 200 for answer in answers), [answer.text for answer in answers]
    bodies = sorted((answer.json() for answer in answers), key=lambda body: body["status"])
    assert bodies == [{"status": "duplicate"}] * 7 + [{"status": "received"}]
    wait_for_runs(live_bot.session_factory)
    assert count(live_bot, Activity) == 2 and count(live_bot, WebhookDelivery) == 1


def clock_runtime(bot: LiveBot) -> JobRuntime:
    """What `pipeday clock` runs deliveries with, on the test's clock and Slack."""
    return JobRuntime(
        bot.session_factory, bot.slack.client(), worker_id="clock-test", clock=bot.clock, secret_key=SECRET_KEY
    )


def delivery(bot: LiveBot) -> WebhookDelivery:
    with bot.session_factory() as session:
        return session.scalars(select(WebhookDelivery)).one()


def lookups(bot: LiveBot) -> int:
    return len(bot.slack.calls("users.lookupByEmail"))


def test_a_slack_lookup_that_fails_is_retried_by_the_runner_not_lost_nor_a_duplicate(live_bot: LiveBot) -> None:
    """Slack failing once used to make the call "rejected" in a claimed delivery: Aircall's retry
    was a duplicate and the call and connect were lost. Now the items wait on the delivery."""
    known_rep(live_bot)
    source = new_source(live_bot)
    live_bot.slack.fail("users.lookupByEmail", error="fatal_error", status=200, retry_after=None, times=1)
    assert deliver(live_bot, source.id, documented()).json() == {"status": "received"}
    wait_for_runs(live_bot.session_factory)
    waiting = delivery(live_bot)
    assert (waiting.state, waiting.attempts, count(live_bot, Activity)) == ("pending", 1, 0)
    assert waiting.reason == "Slack couldn't match an email just now (Slack answered fatal_error); retried"
    assert [item["external_id"] for item in waiting.items or []] == ["123", "123:connect"]
    assert waiting.next_attempt_at == live_bot.clock() + timedelta(minutes=1)
    with live_bot.session_factory() as session:
        assert parked_items(session, TEAM_ID) == {}
    # Aircall's retry of the same event: acknowledged, nothing new to do.
    assert deliver(live_bot, source.id, documented()).json() == {"status": "duplicate"}
    live_bot.clock.advance(timedelta(minutes=1))
    assert retry_due_deliveries(clock_runtime(live_bot)) == ["done"]
    assert [(key, user) for key, _, _, _, user in stored(live_bot)] == [
        ("ext:aircall:123", "U_MADE"),
        ("ext:aircall:123:connect", "U_MADE"),
    ]
    done = delivery(live_bot)
    assert (done.state, done.items, done.reason, done.rejected) == ("done", None, None, 0)


def test_the_answer_doesnt_wait_for_slacks_email_lookup(live_bot: LiveBot) -> None:
    known_rep(live_bot)
    source = new_source(live_bot)
    slack_answers = live_bot.slack.hold("users.lookupByEmail")
    try:
        answer = deliver(live_bot, source.id, documented())  # answered while Slack is still thinking
        assert answer.json() == {"status": "received"}
        live_bot.slack.wait_for_held("users.lookupByEmail", 1)
        assert count(live_bot, Activity) == 0
    finally:
        slack_answers.set()
    wait_for_runs(live_bot.session_factory)
    assert count(live_bot, Activity) == 2


def test_an_email_slack_doesnt_know_is_asked_once_an_hour_and_linking_it_clears_that(live_bot: LiveBot) -> None:
    source = new_source(live_bot)  # Madelaine's Aircall address is nobody's in Slack
    for call_id in (201, 202):
        deliver(live_bot, source.id, documented(id=call_id))
        wait_for_runs(live_bot.session_factory)
    assert lookups(live_bot) == 1  # the second call believed the first answer
    live_bot.clock.advance(timedelta(minutes=61))
    deliver(live_bot, source.id, documented(id=203))
    wait_for_runs(live_bot.session_factory)
    assert lookups(live_bot) == 2  # an hour on, Slack is asked again
    with live_bot.session_factory() as session:
        assert {key: len(rows) for key, rows in parked_items(session, TEAM_ID).items()} == {EMAIL: 6}
        assert session.scalars(select(EmailLookupMiss.email)).all() == [EMAIL]
    with live_bot.session_factory.begin() as session:
        assert link_person(session, TEAM_ID, EMAIL, "U_MADE").created == 6
        assert session.scalars(select(EmailLookupMiss.email)).all() == []
    deliver(live_bot, source.id, documented(id=204))
    wait_for_runs(live_bot.session_factory)
    assert (lookups(live_bot), count(live_bot, Activity)) == (2, 8)  # matched by the link, Slack not asked
