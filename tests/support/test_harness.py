"""Tests of the end-to-end harness itself: the Slack stub, signed requests and the WSGI server."""

from __future__ import annotations

import json
import threading
import types
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from tests.support.slack_requests import SignedRequest, SlackRequestFactory
from tests.support.slack_stub import SlackStub, validate_message_payload, validate_view
from tests.support.wsgi_server import serve_wsgi

SECRET = "test-signing-secret"
NOW = 1_750_000_000


class FixedClock:
    def now(self) -> float:
        return float(NOW)


@pytest.fixture
def stub() -> Iterator[SlackStub]:
    with SlackStub() as running:
        yield running


@pytest.fixture
def client(stub: SlackStub) -> WebClient:
    return stub.client()


@pytest.fixture
def factory(stub: SlackStub) -> SlackRequestFactory:
    return SlackRequestFactory(SECRET, response_url_for=stub.response_url, now=lambda: float(NOW))


def section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


# ---------------------------------------------------------------------------
# Web API round trips
# ---------------------------------------------------------------------------


def test_post_message_is_recorded_with_its_args(stub: SlackStub, client: WebClient) -> None:
    response = client.chat_postMessage(channel="C1", text="hi", blocks=[section("*hi*")], thread_ts="1.2")

    assert response["ok"] is True
    assert response["channel"] == "C1"
    assert response["message"]["text"] == "hi"
    (call,) = stub.calls("chat.postMessage")
    assert call.args["channel"] == "C1"
    assert call.args["thread_ts"] == "1.2"
    assert call.json_arg("blocks") == [section("*hi*")]
    assert call.headers["Authorization"] == "Bearer xoxb-test"
    assert stub.errors == []


def test_message_ts_values_are_unique_and_increasing(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C1", text=str(n))["ts"] for n in range(3)]

    assert stamps == ["1700000000.000100", "1700000000.000200", "1700000000.000300"]


def test_ts_stays_unique_after_reset(stub: SlackStub, client: WebClient) -> None:
    first = client.chat_postMessage(channel="C1", text="a")["ts"]
    stub.reset()
    second = client.chat_postMessage(channel="C1", text="b")["ts"]

    assert second > first
    assert len(stub.calls()) == 1


def test_auth_test_reports_the_configured_team(stub: SlackStub, client: WebClient) -> None:
    stub.team_id = "T0042"

    answer = client.auth_test()

    assert (answer["team_id"], answer["user_id"], answer["bot_id"]) == ("T0042", "U_BOT", "B_BOT")


def test_users_info_uses_configured_profile_and_flags(stub: SlackStub, client: WebClient) -> None:
    stub.users["U_BOSS"] = {"is_admin": True, "profile": {"display_name": "Boss", "real_name": "Bo Ss"}}

    boss = client.users_info(user="U_BOSS")["user"]
    rep = client.users_info(user="U_REP1")["user"]

    assert (boss["is_admin"], boss["is_owner"], boss["profile"]["display_name"]) == (True, False, "Boss")
    assert boss["real_name"] == "Bo Ss"
    assert (rep["is_admin"], rep["profile"]["display_name"]) == (False, "rep1")


def test_conversations_open_returns_a_dm_channel(client: WebClient) -> None:
    assert client.conversations_open(users="U_REP1")["channel"]["id"] == "DU_REP1"


def test_ephemeral_update_and_delete_answer_like_slack(client: WebClient) -> None:
    assert client.chat_postEphemeral(channel="C1", user="U1", text="psst")["message_ts"]
    updated = client.chat_update(channel="C1", ts="1.2", text="new", blocks=[section("new")])
    assert (updated["ts"], updated["message"]["blocks"]) == ("1.2", [section("new")])
    assert client.chat_delete(channel="C1", ts="1.2")["ts"] == "1.2"


def test_views_publish_keeps_one_home_view_per_user(stub: SlackStub, client: WebClient) -> None:
    home = {"type": "home", "blocks": [section("Your week")]}

    first = client.views_publish(user_id="U1", view=home)["view"]["id"]
    second = client.views_publish(user_id="U1", view=home)["view"]["id"]

    assert first == second
    assert stub.home_view("U1")["blocks"] == [section("Your week")]
    assert stub.home_view("U2") is None


def test_views_open_and_update_return_view_ids(client: WebClient) -> None:
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Log"}, "blocks": [section("x")]}

    opened = client.views_open(trigger_id="t1", view=modal)["view"]
    updated = client.views_update(view_id=opened["id"], view=modal)["view"]

    assert opened["id"].startswith("V")
    assert updated["id"] == opened["id"]


def test_missing_required_argument_is_an_error(stub: SlackStub, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.api_call("chat.postMessage", json={"text": "no channel"})

    assert raised.value.response["error"] == "invalid_arguments"
    assert "channel" in stub.errors[0]


def test_call_without_token_is_not_authed(stub: SlackStub) -> None:
    with pytest.raises(SlackApiError) as raised:
        WebClient(base_url=stub.base_url).chat_postMessage(channel="C1", text="hi")

    assert raised.value.response["error"] == "not_authed"
    assert stub.errors


def test_unknown_methods_are_ok_and_recorded(stub: SlackStub, client: WebClient) -> None:
    client.reactions_add(channel="C1", timestamp="1.2", name="trophy")
    client.api_call("pins.add", params={"channel": "C1", "timestamp": "1.2"})

    assert [c.method for c in stub.calls()] == ["reactions.add", "pins.add"]
    assert stub.calls("pins.add")[0].args == {"channel": "C1", "timestamp": "1.2"}


# ---------------------------------------------------------------------------
# File uploads
# ---------------------------------------------------------------------------


def test_files_upload_v2_stores_bytes_and_records_completion(stub: SlackStub, client: WebClient) -> None:
    gif = b"GIF89a-fake-wheel"

    result = client.files_upload_v2(
        content=gif, filename="w.gif", title="Wheel", channel="C1", thread_ts="1.2", initial_comment="Spin!"
    )

    (file_id,) = stub.uploads
    assert stub.uploads[file_id] == gif
    assert result["file"]["id"] == file_id
    (complete,) = stub.calls("files.completeUploadExternal")
    assert (complete.args["channel_id"], complete.args["thread_ts"]) == ("C1", "1.2")
    assert complete.args["initial_comment"] == "Spin!"
    (shared,) = stub.shared_files()
    assert (shared.filename, shared.title, shared.content, shared.thread_ts) == ("w.gif", "Wheel", gif, "1.2")
    assert stub.errors == []


def test_upload_url_accepts_a_multipart_file_part(stub: SlackStub, client: WebClient) -> None:
    upload_url = client.files_getUploadURLExternal(filename="chart.png", length=4)["upload_url"]
    boundary = "XyZ"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="chart.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + b"\x89PNG"
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}

    with urllib.request.urlopen(urllib.request.Request(upload_url, data=body, headers=headers)) as answer:
        assert answer.status == 200

    assert list(stub.uploads.values()) == [b"\x89PNG"]


def test_completing_an_upload_that_never_happened_fails(stub: SlackStub, client: WebClient) -> None:
    file_id = client.files_getUploadURLExternal(filename="w.gif", length=3)["file_id"]

    with pytest.raises(SlackApiError) as raised:
        client.files_completeUploadExternal(files=[{"id": file_id, "title": "w"}], channel_id="C1")

    assert raised.value.response["error"] == "file_not_found"
    assert stub.errors


# ---------------------------------------------------------------------------
# Block Kit validation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("blocks", "text", "expected_problem"),
    [
        ([section("x" * 3001)], "fallback", "3000"),
        ([section(f"row {n}") for n in range(51)], "fallback", "51 blocks"),
        ([section("no fallback")], None, "fallback"),
        ([section("a", "dup"), section("b", "dup")], "fallback", "dup"),
        ([{"type": "section", "text": "bare string"}], "fallback", "text object"),
        ([{"type": "not_a_block"}], "fallback", "unknown block type"),
    ],
    ids=["3001-char-section", "51-blocks", "no-fallback-text", "duplicate-block-id", "bare-text", "unknown-type"],
)
@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
def test_invalid_blocks_are_rejected_and_recorded(
    stub: SlackStub, client: WebClient, blocks: list[dict[str, Any]], text: str | None, expected_problem: str
) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text=text, blocks=blocks)

    assert raised.value.response["error"] == "invalid_blocks"
    assert len(stub.errors) == 1
    assert expected_problem in stub.errors[0]


def test_fifty_valid_blocks_pass(stub: SlackStub, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="board", blocks=[section(f"row {n}") for n in range(50)])

    assert stub.errors == []


def test_blocks_sent_as_json_text_are_validated_too(stub: SlackStub, client: WebClient) -> None:
    form = {"channel": "C1", "ts": "1.2", "text": "t", "blocks": json.dumps([section("x" * 3001)])}

    with pytest.raises(SlackApiError):
        client.api_call("chat.update", params=form)

    assert "3000" in stub.errors[0]


def test_views_with_101_blocks_are_rejected(stub: SlackStub, client: WebClient) -> None:
    view = {"type": "home", "blocks": [section(str(n)) for n in range(101)]}

    with pytest.raises(SlackApiError):
        client.views_publish(user_id="U1", view=view)

    assert "101 blocks" in stub.errors[0]
    assert stub.home_view("U1") is None


def test_validate_view_checks_modal_rules() -> None:
    input_block = {
        "type": "input",
        "block_id": "count",
        "label": {"type": "plain_text", "text": "How many?"},
        "element": {"type": "number_input", "action_id": "n", "is_decimal_allowed": False},
    }
    long_title = {"type": "modal", "title": {"type": "plain_text", "text": "t" * 25}, "blocks": [section("x")]}
    no_submit = {"type": "modal", "title": {"type": "plain_text", "text": "Log"}, "blocks": [input_block]}
    good = {**no_submit, "submit": {"type": "plain_text", "text": "Log it"}}

    assert any("title" in p for p in validate_view(long_title))
    assert any("submit" in p for p in validate_view(no_submit))
    assert validate_view({"type": "home", "blocks": []}) == ["view must contain at least one block"]
    assert validate_view(json.dumps(good)) == []


def test_validate_message_payload_for_ack_bodies() -> None:
    assert validate_message_payload({"response_type": "ephemeral", "text": "Logged 3 connects"}) == []
    assert validate_message_payload({"blocks": [section("x")], "text": " "})
    assert validate_message_payload({"response_type": "ephemeral"})
    assert validate_message_payload({"delete_original": True}) == []


# ---------------------------------------------------------------------------
# Forced errors and retries
# ---------------------------------------------------------------------------


def test_forced_rate_limit_is_retried_by_the_sdk_handler(stub: SlackStub, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    # The handler sleeps Retry-After (+ jitter); record the wait instead of spending it.
    monkeypatch.setattr(builtin_handlers, "time", types.SimpleNamespace(sleep=slept.append))
    stub.fail("chat.postMessage", retry_after=2, times=1)
    client = WebClient(base_url=stub.base_url, token="xoxb-test", retry_handlers=[RateLimitErrorRetryHandler()])

    response = client.chat_postMessage(channel="C1", text="hi")

    assert response["ok"] is True
    assert len(stub.calls("chat.postMessage")) == 2
    assert len(slept) == 1 and 2 <= slept[0] < 3


def test_forced_rate_limit_without_handler_surfaces_429(stub: SlackStub, client: WebClient) -> None:
    stub.fail("chat.postMessage", retry_after=7, times=2)

    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            client.chat_postMessage(channel="C1", text="hi")
        assert raised.value.response.status_code == 429
        assert raised.value.response.headers["Retry-After"] == "7"
        assert raised.value.response["error"] == "ratelimited"
    assert client.chat_postMessage(channel="C1", text="hi")["ok"] is True


def test_forced_failure_with_other_error(stub: SlackStub, client: WebClient) -> None:
    stub.fail("chat.update", error="message_not_found", status=200, retry_after=None)

    with pytest.raises(SlackApiError) as raised:
        client.chat_update(channel="C1", ts="1.2", text="x")

    assert raised.value.response["error"] == "message_not_found"
    assert "Retry-After" not in raised.value.response.headers


# ---------------------------------------------------------------------------
# Waiting
# ---------------------------------------------------------------------------


def test_wait_for_sees_calls_made_from_another_thread(stub: SlackStub, client: WebClient) -> None:
    worker = threading.Thread(target=lambda: client.chat_postMessage(channel="C1", text="later"))
    worker.start()

    calls = stub.wait_for("chat.postMessage", timeout=5.0)

    worker.join()
    assert calls[0].args["text"] == "later"


def test_wait_for_timeout_lists_methods_seen(stub: SlackStub, client: WebClient) -> None:
    client.auth_test()

    with pytest.raises(AssertionError, match=r"chat\.postMessage.*auth\.test x1"):
        stub.wait_for("chat.postMessage", timeout=0.05)


# ---------------------------------------------------------------------------
# Response URLs
# ---------------------------------------------------------------------------


def test_response_url_posts_are_recorded(stub: SlackStub) -> None:
    url = stub.response_url("r7")

    answer = WebhookClient(url).send(text="Logged", response_type="ephemeral")

    assert (answer.status_code, answer.body) == (200, "ok")
    (posted,) = stub.wait_for_responses("r7")
    assert posted.args == {"text": "Logged", "response_type": "ephemeral"}
    assert stub.errors == []


def test_invalid_response_url_payload_is_rejected(stub: SlackStub) -> None:
    answer = WebhookClient(stub.response_url("r8")).send(blocks=[section("no fallback")])

    assert answer.status_code == 400
    assert "fallback" in stub.errors[0]


def test_response_url_allows_five_uses(stub: SlackStub) -> None:
    webhook = WebhookClient(stub.response_url("r9"))

    statuses = [webhook.send(text=str(n)).status_code for n in range(6)]

    assert statuses == [200] * 5 + [404]
    assert "used_url" in stub.errors[0]


# ---------------------------------------------------------------------------
# Signed requests
# ---------------------------------------------------------------------------


def all_request_kinds(factory: SlackRequestFactory) -> list[SignedRequest]:
    return [
        factory.slash_command("3 connects"),
        factory.block_action("spin", "day-1"),
        factory.view_submission("log_activity", {"count": {"n": {"type": "number_input", "value": "3"}}}),
        factory.event_callback({"type": "app_home_opened", "user": "U_REP1", "tab": "home"}),
        factory.url_verification("challenge-123"),
    ]


def test_every_request_kind_verifies(factory: SlackRequestFactory) -> None:
    verifier = SignatureVerifier(SECRET, clock=FixedClock())

    for signed in all_request_kinds(factory):
        assert verifier.is_valid_request(signed.body, signed.headers), signed.body[:60]


def test_tampered_body_wrong_secret_and_stale_timestamp_fail(factory: SlackRequestFactory) -> None:
    verifier = SignatureVerifier(SECRET, clock=FixedClock())
    signed = factory.slash_command("3 connects")

    assert not verifier.is_valid_request(signed.body.replace(b"3", b"9"), signed.headers)
    assert not SignatureVerifier("other", clock=FixedClock()).is_valid_request(signed.body, signed.headers)
    stale = factory.slash_command("3 connects", timestamp=NOW - 301)
    assert not verifier.is_valid_request(stale.body, stale.headers)


def test_slash_command_has_every_field_slack_sends(stub: SlackStub, factory: SlackRequestFactory) -> None:
    signed = factory.slash_command("3 connects", user_id="U_AE7")
    form = signed.form()

    assert set(form) == {
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    }
    assert (form["text"], form["user_name"], form["command"]) == ("3 connects", "ae7", "/pg")
    assert form["response_url"] == signed.response_url
    assert signed.response_url.startswith(stub.response_url(""))
    assert factory.slash_command("x").form()["trigger_id"] != form["trigger_id"]


def test_block_action_payload_from_a_message_and_from_a_view(factory: SlackRequestFactory) -> None:
    from_message = factory.block_action("spin", "day-1", user_id="U_MGR", message_ts="1.2").payload()
    from_home = factory.block_action("quick_log", "connects", view={"type": "home", "id": "V1"}).payload()

    assert from_message["type"] == "block_actions"
    assert from_message["user"] == {"id": "U_MGR", "username": "mgr", "name": "mgr", "team_id": "T0001"}
    assert from_message["container"] == {
        "type": "message",
        "message_ts": "1.2",
        "channel_id": "C_GENERAL",
        "is_ephemeral": False,
    }
    assert from_message["actions"][0]["value"] == "day-1"
    assert from_message["response_url"]
    assert from_home["container"] == {"type": "view", "view_id": "V1"}
    assert "response_url" not in from_home


def test_event_callback_envelope_and_retry_headers(factory: SlackRequestFactory) -> None:
    event = {"type": "app_mention", "user": "U_REP1", "text": "hi", "channel": "C1", "ts": "1.2"}
    first = factory.event_callback(event, event_id="Ev1")
    retried = factory.event_callback(event, event_id="Ev1", retry_num=1)

    envelope = first.payload()
    assert (envelope["type"], envelope["event_id"], envelope["event"]) == ("event_callback", "Ev1", event)
    assert envelope["authorizations"][0]["user_id"] == "U_BOT"
    assert "X-Slack-Retry-Num" not in first.headers
    assert (retried.headers["X-Slack-Retry-Num"], retried.headers["X-Slack-Retry-Reason"]) == ("1", "http_timeout")


# ---------------------------------------------------------------------------
# WSGI server and the whole loop with a real Bolt app
# ---------------------------------------------------------------------------


def test_serve_wsgi_serves_flask_and_closes_the_port() -> None:
    flask_app = Flask("trivial")
    flask_app.add_url_rule("/healthz", "healthz", lambda: "ok")

    with serve_wsgi(flask_app) as base_url, urllib.request.urlopen(f"{base_url}/healthz") as answer:
        assert (answer.status, answer.read()) == (200, b"ok")

    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{base_url}/healthz", timeout=2)


def test_signed_request_send_returns_error_statuses(factory: SlackRequestFactory) -> None:
    flask_app = Flask("echo")

    @flask_app.post("/slack/events")
    def reject() -> tuple[str, int]:
        return request.headers["X-Slack-Signature"], 401

    signed = factory.url_verification("c")
    with serve_wsgi(flask_app) as base_url:
        answer = signed.send(base_url)

    assert (answer.status_code, answer.text) == (401, signed.headers["X-Slack-Signature"])


def build_bolt_app(stub: SlackStub) -> Flask:
    bolt = App(signing_secret=SECRET, client=stub.client())

    @bolt.command("/pg")
    def pg(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        ack(text=f"Logged {command['text']}", response_type="ephemeral")
        respond(text="Board updated", blocks=[section("*Board*")])

    @bolt.event("app_mention")
    def mention(event: dict[str, Any], say: Any) -> None:
        say(text="hello", blocks=[section("hello")])

    flask_app = Flask("bolt-harness")
    handler = SlackRequestHandler(bolt)
    flask_app.add_url_rule("/slack/events", "events", lambda: handler.handle(request), methods=["POST"])
    return flask_app


def test_bolt_app_round_trip_through_the_harness(stub: SlackStub) -> None:
    factory = SlackRequestFactory(SECRET, response_url_for=stub.response_url)  # real clock: Bolt checks it

    with serve_wsgi(build_bolt_app(stub)) as base_url:
        command = factory.slash_command("3 connects")
        ack = command.send(base_url)
        mention = factory.event_callback({"type": "app_mention", "user": "U1", "text": "hi", "channel": "C1"})
        event_ack = mention.send(base_url)
        stale = factory.slash_command("3 connects", timestamp=int(factory.now()) - 600).send(base_url)
        posted = stub.wait_for("chat.postMessage")
        responses = stub.wait_for_responses()

    assert ack.status_code == 200
    assert ack.json() == {"text": "Logged 3 connects", "response_type": "ephemeral"}
    assert validate_message_payload(ack.json()) == []
    assert event_ack.status_code == 200
    assert posted[0].args["channel"] == "C1"
    assert responses[0].args["text"] == "Board updated"
    assert responses[0].method == command.response_url.rsplit("/", 1)[-1]
    assert stale.status_code == 401
    assert stub.errors == []
