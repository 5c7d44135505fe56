"""What the global error handler does with a failure nobody expected: log the traceback
under a short reference and give the user a short answer that quotes it."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt import Respond

logger = logging.getLogger(__name__)
SORRY = "Sorry — something went wrong on our side and nothing was saved. Please try again in a moment."
# After the ack the request has been carried out (a day closed, a spin drawn) and what
# failed is finishing it (a post, an upload): "nothing was saved" would be untrue, and
# whether doing it again helps depends on what failed, so no advice beyond the reference.
SORRY_AFTER_ACK = (
    "Sorry — that went through, but something went wrong on our side while finishing it. "
    "An admin can look it up under this reference"
)


def log_unexpected_error(error: Exception, body: dict[str, Any]) -> str:
    """Log `error` with its traceback; return the reference the user is given."""
    reference = uuid.uuid4().hex[:8]
    logger.error("unhandled error (ref %s) for %s", reference, _describe(body), exc_info=error)
    return reference


def sorry(reference: str) -> str:
    """The apology in the ack: nothing happened, so trying again is the advice."""
    return f"{SORRY} (ref `{reference}`)"


def apologise_later(reference: str, body: dict[str, Any], respond: Respond | None) -> None:
    answer_later({"text": f"{SORRY_AFTER_ACK} (ref `{reference}`)."}, body, respond)


def answer_later(message: dict[str, Any], body: dict[str, Any], respond: Respond | None) -> None:
    """Once the ack has gone out, an answer can only go to the request's response_url
    (events and App Home buttons have none: for them the log is all there is)."""
    if respond is None or not (body.get("response_url") or body.get("response_urls")):
        return
    try:
        respond(**message, response_type="ephemeral", replace_original=False)
    except Exception:
        logger.exception("could not answer %s through its response_url", _describe(body))


def _describe(body: dict[str, Any]) -> str:
    if "command" in body:
        return f"command {body.get('command')} {body.get('text', '')[:100]!r}"
    return str(body.get("type", "request"))
