"""Slack's v0 signature, checked on raw bytes, never raises on what a sender puts in a header."""

from __future__ import annotations

import pytest

from bot.slack.verification import FORM, JSON, SignedBody, check_body, check_signature, verify_request
from tests.support.slack_requests import slack_signature

SECRET = "s3cret"
NOW = 1_800_000_000
BODY = b"command=%2Fpg&text=3+connects"


def signed(body: bytes = BODY, timestamp: str = str(NOW), signature: str | None = None) -> SignedBody:
    return SignedBody(
        body, timestamp, slack_signature(SECRET, timestamp, body) if signature is None else signature, FORM
    )


def test_a_fresh_correct_signature_passes() -> None:
    assert verify_request(signed(), SECRET, NOW) is None
    assert verify_request(signed(), SECRET, NOW + 300) is None  # the edge of the 5-minute window


@pytest.mark.parametrize("skew", [301, -301])
def test_outside_the_five_minute_window_is_401(skew: int) -> None:
    refusal = check_signature(signed(), SECRET, NOW + skew)
    assert refusal is not None and refusal.status == 401 and "window" in refusal.reason


@pytest.mark.parametrize("timestamp", ["abc", "1e3", "17²", "١٢٣", " 1800000000", "1800000000\n", "9" * 13])
def test_a_timestamp_that_is_not_plain_ascii_digits_is_401_without_raising(timestamp: str) -> None:
    refusal = check_signature(signed(timestamp=timestamp, signature="v0=" + "0" * 64), SECRET, NOW)
    assert refusal is not None and refusal.status == 401 and "timestamp" in refusal.reason.lower()


@pytest.mark.parametrize("signature", ["v0=" + "é" * 64, "v0=" + "0" * 63, "", "v0=" + "0" * 64 + "\x00"])
def test_a_malformed_signature_is_401_without_raising(signature: str) -> None:
    refusal = check_signature(signed(signature=signature), SECRET, NOW)
    assert refusal is not None and refusal.status == 401 and "malformed" in refusal.reason


def test_a_signature_over_another_body_or_secret_is_401() -> None:
    tampered = SignedBody(BODY + b"0", str(NOW), slack_signature(SECRET, NOW, BODY), FORM)
    other_secret = signed(signature=slack_signature("other", NOW, BODY))
    for request in (tampered, other_secret):
        refusal = check_signature(request, SECRET, NOW)
        assert refusal is not None and refusal.reason == "X-Slack-Signature does not match the body"


def test_the_signature_covers_the_raw_bytes_not_a_decoded_string() -> None:
    latin1 = b"text=caf\xe9"  # not UTF-8: signed fine, then refused as a body
    request = signed(body=latin1)
    assert check_signature(request, SECRET, NOW) is None
    refusal = verify_request(request, SECRET, NOW)
    assert refusal is not None and refusal.status == 400


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"type": "event_callback"}', JSON),
        (b'{"type": "event_callback"}', "application/json; charset=utf-8"),
        (b"payload=%7B%22type%22%3A%22block_actions%22%7D", FORM),
        (b"ssl_check=1&token=x", FORM),
        (b"", FORM),
    ],
)
def test_bodies_shaped_as_slack_sends_them_pass(body: bytes, content_type: str) -> None:
    assert check_body(body, content_type) is None


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b' {"type": "event_callback"}', JSON),  # Bolt would read this as a form
        (b"null", JSON),
        (b"payload=null", FORM),
        (b"a=b", ""),
    ],
)
def test_other_bodies_are_400(body: bytes, content_type: str) -> None:
    refusal = check_body(body, content_type)
    assert refusal is not None and refusal.status == 400
