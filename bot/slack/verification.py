"""Check a Slack request on its raw bytes before Bolt parses or acts on any of it.

Bolt parses the body before it checks the signature, and slack_sdk's verifier raises (rather
than answering False) on a timestamp that isn't an integer or a signature that isn't ASCII;
either way the request reached our error handler, which answered it and could even post to a
`response_url` the sender chose. So the web layer asks `verify_request` first: anything that
isn't provably from Slack is refused here, with nothing parsed, stored, run or sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

# Slack's replay window: a request signed more than five minutes ago (or ahead) is refused.
MAX_CLOCK_SKEW_S = 5 * 60
# Slack's requests are a few KB; a megabyte leaves room for large modal states and no more.
MAX_BODY_BYTES = 1024 * 1024
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: the HTTP status and a short reason for the log (never the
    reply, which says no more than the status)."""

    status: int
    reason: str


@dataclass(frozen=True)
class SignedBody:
    """What a request to /slack/events carries that verification looks at."""

    body: bytes
    timestamp: str  # X-Slack-Request-Timestamp
    signature: str  # X-Slack-Signature
    content_type: str


def verify_request(request: SignedBody, signing_secret: str, now: float) -> Refusal | None:
    """None when the body is signed by Slack, fresh, and shaped as Slack sends it; else why not."""
    return check_signature(request, signing_secret, now) or check_body(request.body, request.content_type)


def check_signature(request: SignedBody, signing_secret: str, now: float) -> Refusal | None:
    """Slack's v0 scheme, on the raw bytes: HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    return check_v0_signature(
        request.body,
        request.timestamp,
        request.signature,
        signing_secret,
        now,
        timestamp_header="X-Slack-Request-Timestamp",
        signature_header="X-Slack-Signature",
    )


def check_v0_signature(
    body: bytes,
    timestamp: str,
    signature: str,
    secret: str,
    now: float,
    *,
    timestamp_header: str,
    signature_header: str,
) -> Refusal | None:
    """The v0 scheme (Slack's, and Pipeday's generic webhooks'): `v0=` and the hex HMAC-SHA256
    of `v0:{timestamp}:{body}`, the timestamp within five minutes of `now`. The header names
    only word the refusal."""
    if not _TIMESTAMP.fullmatch(timestamp):
        return Refusal(401, f"missing or malformed {timestamp_header}")
    if abs(now - int(timestamp)) > MAX_CLOCK_SKEW_S:
        return Refusal(401, f"{timestamp_header} outside the 5-minute window")
    if not _SIGNATURE.fullmatch(signature):
        return Refusal(401, f"missing or malformed {signature_header}")
    expected = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    if not hmac.compare_digest("v0=" + expected.hexdigest(), signature):
        return Refusal(401, f"{signature_header} does not match the body")
    return None


def check_body(body: bytes, content_type: str) -> Refusal | None:
    """A signed body Bolt can parse: UTF-8, and a JSON object (Events API) or a form whose
    `payload`, if any, is a JSON object (interactivity). Anything else would have failed
    inside Bolt with a 500 and a traceback."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal(400, "body is not UTF-8")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == JSON:
        # Bolt only parses a body as JSON when it starts with "{" (whatever the content type).
        return None if text.startswith("{") and _is_json_object(text) else Refusal(400, "body is not a JSON object")
    if media_type != FORM:
        return Refusal(400, f"unexpected content type {media_type or '(none)'}")
    if text.startswith("{"):
        # Bolt reads any body that starts with "{" as JSON, whatever its content type says.
        return Refusal(400, "JSON body sent as a form")
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in fields and not _is_json_object(fields["payload"]):
        return Refusal(400, "form field payload is not a JSON object")
    return None


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        return False
