"""`POST /hooks/salesloft/<source-id>` over real HTTP with Salesloft's documented Call and Email
objects, signed as Salesloft signs them (`x-salesloft-signature`: hex HMAC-SHA1 of the body with
the callback token). Salesloft's scheme has no timestamp, so there is no stale delivery to refuse:
a replayed genuine delivery is a duplicate instead."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.devtools.slack_requests import HttpResult, SignedRequest
from bot.domain.ingestion import link_person
from bot.domain.secret_box import SecretBox
from bot.domain.webhook_sources import NewSource, add_source
from models import Activity, Member, ParkedItem
from models.ingestion import WebhookDelivery
from tests.e2e.conftest import SECRET_KEY, TEAM_ID, LiveBot
from tests.e2e.webhook_runs import wait_for_runs
from tests.support.waiting import wait_until
from tests.support.wsgi_server import serve_wsgi

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hooks" / "salesloft"
CALL_BODY = (FIXTURES / "call_created.json").read_bytes()
EMAIL_BODY = (FIXTURES / "email_updated.json").read_bytes()
TOKEN = "a-callback-token-chosen-by-the-admin"
API_TOKEN = "salesloft-api-key"
SALESLOFT_USER = "salesloft:10"  # the fixtures' user: {"id": 10, ...}


def new_source(bot: LiveBot, *, api_url: str | None = None) -> NewSource:
    with bot.session_factory.begin() as session:
        api = {"api_token": API_TOKEN, "api_url": api_url} if api_url is not None else {}
        return add_source(session, TEAM_ID, "salesloft", "salesloft", SecretBox(SECRET_KEY), secret=TOKEN, **api)


def link_rep(bot: LiveBot, user_id: str = "U_REP1") -> None:
    with bot.session_factory.begin() as session:
        link_person(session, TEAM_ID, SALESLOFT_USER, user_id)


def sign(body: bytes, token: str = TOKEN) -> str:
    return hmac.new(token.encode(), body, hashlib.sha1).hexdigest()


def deliver(bot: LiveBot, source_id: str, body: bytes, event: str, signature: str | None) -> HttpResult:
    headers = {"Content-Type": "application/json", "x-salesloft-event": event}
    if signature is not None:
        headers["x-salesloft-signature"] = signature
    return SignedRequest(body, headers).send(bot.base_url, f"/hooks/salesloft/{source_id}")


def stored(bot: LiveBot) -> list[tuple[str, str, str]]:
    with bot.session_factory() as session:
        rows = session.execute(
            select(Activity.type, Activity.source, Member.user_id)
            .join(Member, Member.id == Activity.member_id)
            .order_by(Activity.type)
        )
        return [(row.type, row.source, row.user_id) for row in rows]


def count(bot: LiveBot, model: type[Any]) -> int:
    with bot.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_documented_connected_call_is_a_call_and_a_connect_counted_once(live_bot: LiveBot) -> None:
    source = new_source(live_bot)
    link_rep(live_bot)
    answer = deliver(live_bot, source.id, CALL_BODY, "call_created", sign(CALL_BODY))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "received"}
    wait_for_runs(live_bot.session_factory)
    assert stored(live_bot) == [("call", "salesloft", "U_REP1"), ("connect", "salesloft", "U_REP1")]
    with live_bot.session_factory() as session:
        # created_at 2023-01-01T00:00:00.000000-05:00, stored in UTC
        assert set(session.scalars(select(Activity.occurred_at))) == {datetime(2023, 1, 1, 5, 0, tzinfo=UTC)}
    # Salesloft retries a failed delivery three times with the same body: counted once.
    again = deliver(live_bot, source.id, CALL_BODY, "call_created", sign(CALL_BODY))
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    assert len(stored(live_bot)) == 2


def test_a_sent_email_counts_once_however_often_salesloft_updates_it(live_bot: LiveBot) -> None:
    source = new_source(live_bot)
    link_rep(live_bot)
    answer = deliver(live_bot, source.id, EMAIL_BODY, "email_updated", sign(EMAIL_BODY))
    assert answer.status_code == 200 and answer.json() == {"status": "received"}, answer.text
    # Opens and clicks update the email again: a new delivery, the same email.
    opened = json.loads(EMAIL_BODY)
    opened["counts"]["views"] += 1
    opened["updated_at"] = "2023-01-02T00:00:00.000000-05:00"
    opened_body = json.dumps(opened).encode()
    later = deliver(live_bot, source.id, opened_body, "email_updated", sign(opened_body))
    assert later.status_code == 200 and later.json() == {"status": "received"}, later.text
    scheduled = json.dumps({**opened, "id": 2, "status": "scheduled"}).encode()
    ignored = deliver(live_bot, source.id, scheduled, "email_updated", sign(scheduled))
    assert ignored.status_code == 200 and ignored.json() == {"status": "received"}, ignored.text
    wait_for_runs(live_bot.session_factory)
    assert count(live_bot, WebhookDelivery) == 3
    assert stored(live_bot) == [("email", "salesloft", "U_REP1")]


def test_a_rep_nobody_linked_yet_is_parked_then_replayed_by_the_link(live_bot: LiveBot) -> None:
    source = new_source(live_bot)
    answer = deliver(live_bot, source.id, CALL_BODY, "call_created", sign(CALL_BODY))
    assert answer.status_code == 200 and answer.json() == {"status": "received"}, answer.text
    wait_for_runs(live_bot.session_factory)
    assert (stored(live_bot), count(live_bot, ParkedItem)) == ([], 2)
    link_rep(live_bot)
    assert stored(live_bot) == [("call", "salesloft", "U_REP1"), ("connect", "salesloft", "U_REP1")]
    assert count(live_bot, ParkedItem) == 0


def test_unsigned_changed_or_misdirected_deliveries_get_401_and_store_nothing(live_bot: LiveBot) -> None:
    source = new_source(live_bot)
    link_rep(live_bot)
    changed = CALL_BODY.replace(b'"duration": 60', b'"duration": 61')
    assert changed != CALL_BODY
    attempts = [
        (source.id, CALL_BODY, sign(CALL_BODY, "not-the-token")),  # bad signature
        (source.id, CALL_BODY, None),  # no signature
        (source.id, CALL_BODY, ""),  # empty signature
        (source.id, CALL_BODY, "sha1=" + sign(CALL_BODY)),  # not the documented form
        (source.id, changed, sign(CALL_BODY)),  # body changed after signing
        ("no-such-source", CALL_BODY, sign(CALL_BODY)),  # unknown source
    ]
    for source_id, body, signature in attempts:
        answer = deliver(live_bot, source_id, body, "call_created", signature)
        assert answer.status_code == 401, (source_id, signature, answer.text)
    assert (count(live_bot, Activity), count(live_bot, ParkedItem), count(live_bot, WebhookDelivery)) == (0, 0, 0)


@contextmanager
def salesloft_api(records: dict[str, dict[str, Any]]) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """A loopback stand-in for api.salesloft.com: `records` by path, answered as {"data": …}."""
    seen: list[tuple[str, str]] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        seen.append((path, environ.get("HTTP_AUTHORIZATION", "")))
        if path not in records:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error": "Not Found"}']
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"data": records[path]}).encode()]

    with serve_wsgi(app) as base_url:
        yield base_url, seen


def test_a_call_delivered_without_its_disposition_is_fetched_from_the_api_after_the_answer(
    live_bot: LiveBot,
) -> None:
    with salesloft_api({"/v2/activities/calls/1": json.loads(CALL_BODY)}) as (api_url, seen):
        source = new_source(live_bot, api_url=api_url)
        link_rep(live_bot)
        partial = json.loads(CALL_BODY)
        del partial["disposition"]
        body = json.dumps(partial).encode()
        answer = deliver(live_bot, source.id, body, "call_created", sign(body))
        assert answer.status_code == 200 and answer.json() == {"status": "received"}, answer.text
        wait_until(lambda: len(stored(live_bot)) == 2, what=lambda: f"the fetched call (API saw {seen})")
        wait_for_runs(live_bot.session_factory)
    assert seen == [("/v2/activities/calls/1", f"Bearer {API_TOKEN}")]
    assert stored(live_bot) == [("call", "salesloft", "U_REP1"), ("connect", "salesloft", "U_REP1")]
    with live_bot.session_factory() as session:
        assert session.scalars(select(WebhookDelivery.state)).all() == ["done"]


def test_a_call_and_an_email_with_the_same_salesloft_id_are_both_counted(live_bot: LiveBot) -> None:
    # Calls and emails are separate Salesloft resources with their own id spaces: the
    # documented Call and Email fixtures are both record 1, and neither is the other's repeat.
    assert json.loads(CALL_BODY)["id"] == json.loads(EMAIL_BODY)["id"]
    source = new_source(live_bot)
    link_rep(live_bot)
    for body, event in ((CALL_BODY, "call_created"), (EMAIL_BODY, "email_updated")):
        answer = deliver(live_bot, source.id, body, event, sign(body))
        assert answer.status_code == 200 and answer.json() == {"status": "received"}, answer.text
    wait_for_runs(live_bot.session_factory)
    assert stored(live_bot) == [
        ("call", "salesloft", "U_REP1"),
        ("connect", "salesloft", "U_REP1"),
        ("email", "salesloft", "U_REP1"),
    ]
