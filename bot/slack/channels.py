"""Region channels as Slack sees them: is this a channel id, can Pipeday post and upload there,
and what to tell an admin when it can't.

`chat:write.public` lets the bot post in a public channel it was never invited to, but Slack
refuses its file uploads there (`not_in_channel`), and it can't see a private channel at all
until someone types `/invite @Pipeday` in it. So a region's channel is checked when it is set
(conversations.info), a public one is joined (conversations.join), and an upload answered
`not_in_channel` joins and tries once more.

The decisions (judge_channel, join_outcome, upload_refusal_reason) are pure functions of what
Slack answered, so they are tested without a Slack; check_channel and join_channel make the
Web API calls.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

# Channel ids: `C…` for channels, `G…` for older private channels; upper-case letters and
# digits. Channel names are lower-case, so a name can never pass for an id.
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{1,20}")
INVITE = "type `/invite @Pipeday` in that channel"
INVITE_HERE = "type `/invite @Pipeday` in this channel"  # for a note posted in the channel itself
JOIN_SCOPE_FIX = "re-create the app from manifest.yml and reinstall it"


def is_channel_id(value: str) -> bool:
    """True for `C0123ABCD` or `G0123ABCD`; False for `#sales`, `sales` or a user id."""
    return _CHANNEL_ID.fullmatch(value) is not None


def channel_id_problem(value: str) -> str | None:
    """Why `value` can't be a region's channel, in words; None when it is a channel id."""
    if is_channel_id(value):
        return None
    return (
        f"use the channel's id (like C0123ABCD), not {value!r}: Slack refuses channel names for edits "
        "and file uploads. The id is at the bottom of the channel's details (click its name)."
    )


@dataclass(frozen=True)
class ChannelFacts:
    """What conversations.info says about a channel the bot can see."""

    channel_id: str
    name: str
    is_private: bool
    is_member: bool
    is_archived: bool

    @property
    def shown(self) -> str:
        return f"#{self.name}" if self.name else self.channel_id

    @staticmethod
    def from_info(channel: Mapping[str, Any]) -> ChannelFacts:
        return ChannelFacts(
            channel_id=str(channel.get("id") or ""),
            name=str(channel.get("name") or ""),
            is_private=bool(channel.get("is_private") or channel.get("is_group")),
            is_member=bool(channel.get("is_member")),
            is_archived=bool(channel.get("is_archived")),
        )


Verdict = Literal["ready", "join", "invite", "archived", "unseen", "unchecked"]


@dataclass(frozen=True)
class ChannelCheck:
    """Whether Pipeday can post and upload in a channel, and the sentence saying so.
    `usable` is False when an admin has something to do."""

    verdict: Verdict
    message: str

    @property
    def usable(self) -> bool:
        return self.verdict == "ready"


def judge_channel(channel_id: str, facts: ChannelFacts | None, info_error: str | None = None) -> ChannelCheck:
    """What to do about a channel, from conversations.info's answer: its channel object
    (`facts`), or its error code (`info_error`; channel_not_found is how Slack answers a bot
    about a private channel it isn't in)."""
    if facts is None:
        if info_error in (None, "channel_not_found"):
            return ChannelCheck(
                "unseen",
                f"Slack can't show Pipeday channel {channel_id}: either the id is wrong, or it is a private "
                f"channel Pipeday isn't in (then {INVITE}).",
            )
        if info_error == "missing_scope":
            return ChannelCheck(
                "unchecked",
                f"Couldn't check channel {channel_id}: the app lacks the channels:read and groups:read scopes "
                "(re-create the app from manifest.yml and reinstall it).",
            )
        return ChannelCheck("unchecked", f"Couldn't check channel {channel_id} with Slack ({info_error}).")
    if facts.is_archived:
        return ChannelCheck(
            "archived", f"{facts.shown} is archived: nothing can be posted there. Pick another channel."
        )
    if facts.is_member:
        return ChannelCheck("ready", f"Pipeday is in {facts.shown}.")
    if facts.is_private:
        return ChannelCheck(
            "invite", f"{facts.shown} is a private channel and Pipeday isn't in it: {INVITE}, or nothing can go there."
        )
    return ChannelCheck("join", f"Pipeday isn't in {facts.shown} yet; joining it.")


def join_outcome(shown: str, join_error: str | None) -> ChannelCheck:
    """The result of conversations.join on a public channel (`join_error` None: joined)."""
    if join_error is None:
        return ChannelCheck("ready", f"Pipeday joined {shown}, so it can post and upload the wheel and charts there.")
    return ChannelCheck("invite", f"Pipeday couldn't join {shown}: {_join_failure(join_error)}. Until then, {INVITE}.")


def upload_refusal_reason(upload_error: str, join_error: str | None) -> str:
    """Why a file couldn't be attached, for the note posted instead of it. `join_error` is
    what conversations.join answered after the upload said not_in_channel (None: it joined
    and the second upload was refused too)."""
    if upload_error == "not_in_channel":
        if join_error is None:
            return "Slack still refused the upload after Pipeday joined the channel (not_in_channel)"
        if join_error in ("channel_not_found", "method_not_supported_for_channel_type"):
            return f"Pipeday isn't in this private channel: {INVITE_HERE}"
        return f"Pipeday isn't in this channel and couldn't join it ({_join_failure(join_error)}); {INVITE_HERE}"
    if upload_error == "missing_scope":
        return "the app lacks the files:write scope (re-create the app from manifest.yml and reinstall it)"
    if upload_error == "is_archived":
        return "the channel is archived"
    return f"Slack answered {upload_error!r}"


def _join_failure(join_error: str) -> str:
    if join_error == "missing_scope":
        return f"the app needs the channels:join scope ({JOIN_SCOPE_FIX})"
    if join_error == "is_archived":
        return "the channel is archived"
    return f"Slack answered {join_error!r}"


# --- Web API calls ---------------------------------------------------------------------------


def slack_error_code(error: SlackApiError) -> str:
    return str(error.response.get("error") or "unknown_error")


def join_channel(client: WebClient, channel_id: str) -> str | None:
    """conversations.join; None when the bot is in the channel now, else Slack's error code."""
    try:
        client.conversations_join(channel=channel_id)
    except SlackApiError as error:
        return slack_error_code(error)
    return None


def check_channel(client: WebClient, channel_id: str) -> ChannelCheck:
    """Ask Slack about a region's channel and join it when it is public and the bot isn't in it.
    Network failures propagate (the caller says the check couldn't be made)."""
    try:
        info = client.conversations_info(channel=channel_id)
    except SlackApiError as error:
        return judge_channel(channel_id, None, slack_error_code(error))
    facts = ChannelFacts.from_info(info.get("channel") or {})
    check = judge_channel(channel_id, facts)
    if check.verdict != "join":
        return check
    return join_outcome(facts.shown, join_channel(client, channel_id))
