"""Every request to /slack/events is verified on its raw bytes before Bolt sees it: anything
unverifiable is 401 and anything signed but malformed is 400, with no listener, no error
handler, no outbound call, nothing stored and one warning line in the log."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from models import Activity
from tests.e2e.conftest import LiveBot
from tests.support.slack_requests import FORM_CONTENT_TYPE, JSON_CONTENT_TYPE, SignedRequest


def _event_with_response_url(live_bot: LiveBot) -> SignedRequest:
    """An Events API body carrying a response_url that points at a host the sender picked."""
    request = live_bot.requests.event_callback({"type": "app_home_opened", "user": "U_REP1", "tab": "home"})
    body = json.loads(request.body)
    body["response_url"] = live_bot.slack.response_url("attacker")
    return live_bot.requests.sign(json.dumps(body).encode(), JSON_CONTENT_TYPE)


def _with_headers(request: SignedRequest, **headers: str) -> SignedRequest:
    return replace(request, headers={**request.headers, **headers})


UNVERIFIABLE = {
    "timestamp abc": {"X-Slack-Request-Timestamp": "abc"},
    "timestamp 1e3": {"X-Slack-Request-Timestamp": "1e3"},
    "timestamp with a superscript digit": {"X-Slack-Request-Timestamp": "17²"},
    "negative timestamp": {"X-Slack-Request-Timestamp": "-1"},
    "empty timestamp": {"X-Slack-Request-Timestamp": ""},
    "non-ASCII signature": {"X-Slack-Signature": "v0=" + "é" * 64},
    "signature of the wrong scheme": {"X-Slack-Signature": "v1=" + "0" * 64},
    "signature in upper case hex": {"X-Slack-Signature": "v0=" + "A" * 64},
    "truncated signature": {"X-Slack-Signature": "v0=abc"},
}


def _assert_nothing_happened(live_bot: LiveBot, *, past_bolts_authorization: bool = False) -> None:
    live_bot.settle()  # anything the app started for this request has finished
    # Once a request is verified, Bolt's authorization may check the bot token (auth.test) first.
    allowed = [[], ["auth.test"]] if past_bolts_authorization else [[]]
    assert [call.method for call in live_bot.slack.calls()] in allowed
    assert live_bot.slack.responses() == []
    with live_bot.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Activity)) == 0


@pytest.mark.parametrize("headers", UNVERIFIABLE.values(), ids=UNVERIFIABLE.keys())
@pytest.mark.parametrize("kind", ["slash command", "event with a response_url"])
def test_unverifiable_requests_are_401_with_nothing_run_sent_or_stored(
    live_bot: LiveBot, caplog: pytest.LogCaptureFixture, headers: dict[str, str], kind: str
) -> None:
    signed = (
        live_bot.requests.slash_command("3 connects") if kind == "slash command" else _event_with_response_url(live_bot)
    )
    # The header is sent as raw bytes (latin-1), as an attacker's client would.
    forged = _with_headers(signed, **{k: v.encode().decode("latin-1") for k, v in headers.items()})

    with caplog.at_level(logging.WARNING):
        result = forged.send(live_bot.base_url)

    assert result.status_code == 401
    assert result.body == b""
    _assert_nothing_happened(live_bot)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "refused" in warnings[0].getMessage()
    assert warnings[0].exc_info is None  # one line, no traceback


def test_missing_headers_are_401(live_bot: LiveBot) -> None:
    signed = live_bot.requests.slash_command("3 connects")
    bare = replace(signed, headers={"Content-Type": FORM_CONTENT_TYPE})
    assert bare.send(live_bot.base_url).status_code == 401
    _assert_nothing_happened(live_bot)


def test_unsigned_garbage_is_401_not_a_500(live_bot: LiveBot, caplog: pytest.LogCaptureFixture) -> None:
    garbage = SignedRequest(body=b"payload=%7Bnot json", headers={"Content-Type": FORM_CONTENT_TYPE})
    with caplog.at_level(logging.WARNING):
        result = garbage.send(live_bot.base_url)
    assert result.status_code == 401
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


MALFORMED_BODIES = {
    "JSON body with a form content type": (b'{"type": "event_callback", "event": {}}', FORM_CONTENT_TYPE),
    "payload that isn't JSON": (urlencode({"payload": "{not json"}).encode(), FORM_CONTENT_TYPE),
    "payload that is a JSON list": (urlencode({"payload": "[1, 2]"}).encode(), FORM_CONTENT_TYPE),
    "body that isn't UTF-8": (b"command=%2Fpg&text=\xff\xfe", FORM_CONTENT_TYPE),
    "JSON list with a JSON content type": (b"[1, 2, 3]", JSON_CONTENT_TYPE),
    "broken JSON": (b'{"type": ', JSON_CONTENT_TYPE),
    "JSON nested past the parser's depth": (b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", JSON_CONTENT_TYPE),
    "XML": (b"<xml/>", "text/xml"),
}


@pytest.mark.parametrize(("body", "content_type"), MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
def test_malformed_signed_bodies_get_a_clean_400(
    live_bot: LiveBot, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str
) -> None:
    with caplog.at_level(logging.WARNING):
        result = live_bot.requests.sign(body, content_type).send(live_bot.base_url)

    assert result.status_code == 400
    assert result.body == b""  # no HTML page, no traceback
    _assert_nothing_happened(live_bot)
    assert [r.levelno for r in caplog.records if r.levelno >= logging.WARNING] == [logging.WARNING]


def test_a_body_over_a_megabyte_is_refused_before_it_is_read(live_bot: LiveBot) -> None:
    body = urlencode({"command": "/pg", "text": "x" * (1024 * 1024)}).encode()
    assert live_bot.requests.sign(body, FORM_CONTENT_TYPE).send(live_bot.base_url).status_code == 413
    _assert_nothing_happened(live_bot)


def test_a_well_formed_request_still_goes_through(live_bot: LiveBot) -> None:
    reply = live_bot.pg_reply("help")
    assert "/pg" in json.dumps(reply)


FOREIGN_RESPONSE_URLS = [
    "https://evil.example/collect",
    "http://hooks.slack.com/commands/T1/2/3",  # Slack's host, but not over https
    "https://hooks.slack.com.evil.example/commands/T1/2/3",
    "http://127.0.0.1:9/commands",  # loopback, but not the configured Slack
]


@pytest.mark.parametrize("url", FOREIGN_RESPONSE_URLS)
@pytest.mark.parametrize("kind", ["slash command", "button"])
def test_a_signed_request_whose_response_url_is_not_slacks_is_refused_unanswered(
    live_bot: LiveBot, caplog: pytest.LogCaptureFixture, url: str, kind: str
) -> None:
    if kind == "slash command":
        request = live_bot.requests.slash_command("3 connects", response_url=url)
    else:
        request = live_bot.requests.block_action("home_quick_log", "connect", response_url=url)
    with caplog.at_level(logging.WARNING):
        result = request.send(live_bot.base_url)
    assert result.status_code == 400
    _assert_nothing_happened(live_bot, past_bolts_authorization=True)
    assert any("response_url is not Slack's" in r.getMessage() for r in caplog.records)
