"""File uploads (the wheel GIF, the weekly chart, the CSV export) that never take a post down
with them.

Slack answers an upload to a channel the bot isn't in with `not_in_channel` (`chat:write.public`
covers chat.postMessage only). upload_file then joins the channel (public channels only) and
tries once more; an upload Slack still refuses raises UploadRefused with the reason in words,
so the caller posts its message without the file and a note saying why.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.common import escape, message
from bot.posting.slack_messages import describe_error, is_transient, post_message
from bot.slack.channels import join_channel, slack_error_code, upload_refusal_reason

logger = logging.getLogger(__name__)


class UploadRefused(Exception):
    """Slack refused a file for good (not a network failure or a try-again answer)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def upload_file(client: WebClient, channel: str, **file_args: Any) -> None:
    """files_upload_v2 to `channel`, joining it first if Slack says the bot isn't in it.

    Raises UploadRefused for an answer no retry will change; network failures and Slack's
    try-again answers propagate as they are (SLACK_FAILURES), for the caller's retry policy."""
    try:
        client.files_upload_v2(channel=channel, **file_args)
        return
    except SlackApiError as error:
        code = slack_error_code(error)
        if code != "not_in_channel":
            _raise_unless_transient(error)
            raise
    # Only public channels (C…) can be joined; a private one needs an /invite.
    join_error = join_channel(client, channel) if channel.startswith("C") else "method_not_supported_for_channel_type"
    if join_error is not None:
        raise UploadRefused(upload_refusal_reason("not_in_channel", join_error))
    logger.info("joined %s to upload %s there", channel, file_args.get("filename"))
    try:
        client.files_upload_v2(channel=channel, **file_args)
    except SlackApiError as error:
        _raise_unless_transient(error)
        raise


def _raise_unless_transient(error: SlackApiError) -> None:
    if not is_transient(error):
        raise UploadRefused(upload_refusal_reason(slack_error_code(error), None)) from error


def failure_reason(error: Exception) -> str:
    """The reason an upload failed, for a note: UploadRefused's words, else Slack's answer."""
    return error.reason if isinstance(error, UploadRefused) else describe_error(error)


def post_missing_file_note(client: WebClient, channel: str, thread_ts: str | None, what: str, reason: str) -> str:
    """Say in the thread (or the channel) that `what` (mrkdwn, e.g. with a mention) couldn't
    be attached and why; the reason is shown as plain text."""
    note = message(f"⚠️ {what} couldn't be attached: {escape(reason)}.")
    threaded = {**note, "thread_ts": thread_ts} if thread_ts else note
    return post_message(client, channel, threaded)
