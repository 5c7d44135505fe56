"""What the global error handler does with a failure nobody expected: log the traceback
under a short reference and give the user a short answer that quotes it."""
from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt import Respond

logger = logging.getLogger(__name__)
SORRY = "Sorry — something went wrong on our side and nothing was saved. Please try again in a moment."


def log_unexpected_error(error: Exception, body: dict[str, Any]) -> str:
    """Log `error` with its traceback; return the apology for the user, carrying the reference."""
    reference = uuid.uuid4().hex[:8]
    logger.error("unhandled error (ref %s) for %s", reference, _describe(body), exc_info=error)
    return f"{SORRY} (ref `{reference}`)"


def apologise_later(text: str, body: dict[str, Any], respond: Respond | None) -> None:
    """Once the ack has gone out, the apology can only go to the request's response_url
    (events have none: for them the log line is all there is)."""
    if respond is not None and (body.get("response_url") or body.get("response_urls")):
        respond(text=text, response_type="ephemeral", replace_original=False)


def _describe(body: dict[str, Any]) -> str:
    if "command" in body:
        return f"command {body.get('command')} {body.get('text', '')[:100]!r}"
    return str(body.get("type", "request"))
