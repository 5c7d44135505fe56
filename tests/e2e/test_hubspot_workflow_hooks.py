"""HubSpot *workflow* webhooks over real HTTP, on the same `/hooks/hubspot/<source-id>` URL as app
webhooks (tests/e2e/test_hubspot_hooks.py): a workflow's "Send a webhook" action POSTs the enrolled
call or meeting as one JSON object, signed v2 (`X-HubSpot-Signature`, hex SHA-256 of client
secret + method + URI + body: no time) or v3. A customized body naming the owner's email needs no
API token; a body naming only the owner id reads the owner's email when the source has a token,
and is parked as `hubspot:<owner id>` without one. HubSpot retries with the same body: counted
once. Anything not provably HubSpot's gets 401 and stores nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.adapters.hubspot import signature
from bot.adapters.hubspot_workflow import signature_v2
from bot.devtools.slack_requests import HttpResult, SignedRequest
from models import Activity, ParkedItem
from models.ingestion import WebhookDelivery
from tests.e2e.conftest import LiveBot
from tests.e2e.test_hubspot_hooks import (
    API_TOKEN,
    CLIENT_SECRET,
    EXPECTED,
    PUBLIC_URL,
    count,
    delivery_states,
    documented_records,
    hubspot_api,
    new_source,
    now_ms,
    reps_known_to_slack,
    stored,
)
from tests.support.cli import run_pipeday
from tests.support.waiting import wait_until

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hooks" / "hubspot"
# A call-based workflow's customized body: the call's id, time, outcome, owner id and owner email.
CALL = (FIXTURES / "workflow-call-custom-body.json").read_bytes()
# A meeting-based workflow's "Include all meeting properties" body: the meeting as the objects API gives it.
MEETING = (FIXTURES / "workflow-meeting-all-properties.json").read_bytes()
BOOKED = datetime(2021, 3, 23, 1, 2, 44, 872000, tzinfo=UTC)


@pytest.fixture
def public_url() -> str:
    return PUBLIC_URL


@pytest.fixture
def bot(live_bot: LiveBot) -> LiveBot:
    return live_bot


def deliver_v2(
    bot: LiveBot,
    source_id: str,
    body: bytes,
    *,
    event: str = "call",
    secret: str = CLIENT_SECRET,
    signed_body: bytes | None = None,
    signed_url: str | None = None,
    version: str = "v2",
    extra: dict[str, str] | None = None,
) -> HttpResult:
    """POST as a workflow's webhook action does: signed v2 over the public URI (query included) and the body."""
    path = f"/hooks/hubspot/{source_id}?event={event}"
    url = signed_url if signed_url is not None else PUBLIC_URL + path
    headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Signature": signature_v2(secret, "POST", url, body if signed_body is None else signed_body),
        "X-HubSpot-Signature-Version": version,
        **(extra or {}),
    }
    return SignedRequest(body, headers).send(bot.base_url, path)


def deliver_v3(bot: LiveBot, source_id: str, body: bytes, *, event: str, timestamp_ms: int | None = None) -> HttpResult:
    path = f"/hooks/hubspot/{source_id}?event={event}"
    stamp = str(now_ms(bot) if timestamp_ms is None else timestamp_ms)
    headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": signature(CLIENT_SECRET, "POST", PUBLIC_URL + path, body, stamp),
        "X-HubSpot-Request-Timestamp": stamp,
    }
    return SignedRequest(body, headers).send(bot.base_url, path)


def cli_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_a_workflow_call_counts_for_its_owners_email_once_with_no_api_token(bot: LiveBot) -> None:
    reps_known_to_slack(bot)
    source = new_source(bot, None)
    answer = deliver_v2(bot, source.id, CALL)
    assert answer.status_code == 200 and answer.json() == {"status": "received"}, answer.text
    wait_until(lambda: delivery_states(bot) == ["done"], what="the run")
    # The same call and connect, under the same ids, as when the app webhook reports it.
    assert stored(bot) == EXPECTED[:2]

    # HubSpot retries a workflow webhook with the same body (v2 signs no time: the same signature).
    bot.clock.advance(timedelta(hours=2))
    again = deliver_v2(bot, source.id, CALL)
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}, again.text
    # The same call re-enrolled with its outcome changed is a new delivery, and still counted once.
    edited = json.dumps({**json.loads(CALL), "hs_call_body": "left a voicemail"}).encode()
    assert deliver_v2(bot, source.id, edited).json() == {"status": "received"}
    wait_until(lambda: delivery_states(bot) == ["done", "done"], what="the second run")
    assert stored(bot) == EXPECTED[:2]


def test_a_meeting_naming_only_its_owner_id_reads_the_owners_email_with_the_token(bot: LiveBot) -> None:
    reps_known_to_slack(bot)
    with hubspot_api(documented_records()) as (api_url, api):
        source = new_source(bot, api_url)
        answer = deliver_v3(bot, source.id, MEETING, event="meeting")
        assert answer.status_code == 200 and answer.json() == {"status": "received"}, answer.text
        wait_until(lambda: delivery_states(bot) == ["done"], what=lambda: f"the run (API saw {api.seen})")
    assert api.seen == [("/crm/v3/owners/41629779", "", f"Bearer {API_TOKEN}")]  # no record fetch
    # Counted when it was booked (createdAt), not at hs_timestamp / hs_meeting_start_time.
    assert stored(bot) == [("ext:hubspot:17591596501", "meeting", "hubspot", "U_REP1", BOOKED)]


def test_an_owner_id_without_a_token_is_parked_as_the_hubspot_owner_then_linked(bot: LiveBot, engine: Engine) -> None:
    source = new_source(bot, None)
    assert deliver_v2(bot, source.id, MEETING, event="meeting").json() == {"status": "received"}
    wait_until(lambda: delivery_states(bot) == ["done"], what="the run")
    assert (count(bot, Activity), count(bot, ParkedItem)) == (0, 1)
    code, output = run_pipeday(cli_url(engine), "member", "link", "hubspot:41629779", "U0REP1")
    assert code == 0, output
    assert stored(bot) == [("ext:hubspot:17591596501", "meeting", "hubspot", "U0REP1", BOOKED)]
    assert count(bot, ParkedItem) == 0


def test_an_unmatched_owner_email_is_parked_then_member_link_replays_it(bot: LiveBot, engine: Engine) -> None:
    source = new_source(bot, None)  # Slack knows nobody by email@hubspot.com
    assert deliver_v2(bot, source.id, CALL).json() == {"status": "received"}
    wait_until(lambda: delivery_states(bot) == ["done"], what="the run")
    assert (count(bot, Activity), count(bot, ParkedItem)) == (0, 2)
    code, output = run_pipeday(cli_url(engine), "ingest", "unmatched")
    assert code == 0 and "email@hubspot.com: 2 item(s)" in output, output
    code, output = run_pipeday(cli_url(engine), "member", "link", "email@hubspot.com", "U0REP2")
    assert code == 0 and "Replayed 2 activities" in output, output
    assert [(key, user) for key, _, _, user, _ in stored(bot)] == [
        ("ext:hubspot:17591596434", "U0REP2"),
        ("ext:hubspot:17591596434:connect", "U0REP2"),
    ]
    assert count(bot, ParkedItem) == 0


def test_workflow_deliveries_not_provably_hubspots_get_401_and_store_nothing(bot: LiveBot) -> None:
    reps_known_to_slack(bot)
    source = new_source(bot, None)
    own_url = PUBLIC_URL + f"/hooks/hubspot/{source.id}?event=call"
    changed = CALL.replace(b"17591596434", b"17591596435")
    assert changed != CALL
    stale = now_ms(bot) - 6 * 60 * 1000
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("bad signature", {"secret": "not-the-client-secret"}),
        ("body changed after signing", {"signed_body": CALL}),
        ("signed for another URL", {"signed_url": own_url.replace("https://", "http://")}),
        ("signed without the query", {"signed_url": own_url.partition("?")[0]}),
        ("v1 (secret + body, no URL)", {"version": "v1"}),
        ("no version", {"version": ""}),
        # A v3 present decides, even beside a good v2: a stale one is refused.
        (
            "stale v3 beside a good v2",
            {
                "extra": {
                    "X-HubSpot-Signature-v3": signature(CLIENT_SECRET, "POST", own_url, CALL, str(stale)),
                    "X-HubSpot-Request-Timestamp": str(stale),
                }
            },
        ),
    ]
    for what, changes in attempts:
        body = changed if what == "body changed after signing" else CALL
        answer = deliver_v2(bot, source.id, body, **changes)
        assert answer.status_code == 401, (what, answer.text)
    stale_v3 = deliver_v3(bot, source.id, CALL, event="call", timestamp_ms=stale)
    assert stale_v3.status_code == 401, stale_v3.text
    unsigned = SignedRequest(CALL, {"Content-Type": "application/json"}).send(
        bot.base_url, f"/hooks/hubspot/{source.id}?event=call"
    )
    assert unsigned.status_code == 401, unsigned.text
    assert (count(bot, Activity), count(bot, ParkedItem), count(bot, WebhookDelivery)) == (0, 0, 0)
