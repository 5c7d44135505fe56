"""Channels and conversations in the Slack stub: chat.* and conversations.* methods, the
messages posted, and which channels the bot is in."""

from __future__ import annotations

import json
import time
from typing import Any

from bot.devtools.slack_stub.records import PostedMessage, StubChannel
from bot.devtools.slack_stub.state import StubState


def as_user_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part.strip() for part in str(value).split(",") if part.strip()]


class ConversationMethods(StubState):
    """chat.* and conversations.* answers, and what a test asks about channels and posts."""

    def posted_messages(self, channel: str | None = None) -> list[PostedMessage]:
        """Messages chat.postMessage accepted, in the order their ts were handed out."""
        with self._cond:
            return [m for m in self._posted if channel is None or m.channel == channel]

    def bot_is_member(self, channel_id: str) -> bool:
        """Whether the bot is in the channel (channels never added: yes; DMs always)."""
        with self._cond:
            channel = self._channels.get(channel_id)
            return channel is None or channel.bot_is_member

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        private: bool = False,
        bot_is_member: bool = False,
        archived: bool = False,
    ) -> StubChannel:
        """A channel with a membership, as Slack keeps it: conversations.info hides a private
        channel from a bot that isn't in it (channel_not_found), conversations.join joins a
        public one (with the channels:join scope), and an upload to a channel the bot isn't
        in is answered not_in_channel. chat.postMessage still works (chat:write.public)."""
        channel = StubChannel(channel_id, name, private, bot_is_member, archived)
        with self._cond:
            self._channels[channel_id] = channel
        return channel

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_for(str(args["channel"]))
        with self._cond:
            # Taking the ts and recording the post together keeps posted_messages() in ts order.
            ts = self._next_ts()
            self._posted.append(PostedMessage(channel, ts, dict(args), time.monotonic()))
        message = self._message(args, ts)
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = str(args["ts"])
        return {
            "ok": True,
            "channel": args["channel"],
            "ts": ts,
            "text": args.get("text", ""),
            "message": self._message(args, ts),
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": args["channel"], "ts": args["ts"]}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = str(args.get("message_ts", ""))
        link = f"https://{self.team_domain}.slack.com/archives/{args.get('channel')}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": args.get("channel"), "permalink": link}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Posted messages of a channel, newest first, between `oldest` and `latest`; message
        metadata only with include_all_metadata, as Slack does. One page (up to `limit`)."""
        channel = str(args["channel"])
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or "inf")
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        limit = int(args.get("limit") or 100)
        found = [m for m in reversed(self.posted_messages(channel)) if oldest < float(m.ts) < latest]
        messages = []
        for posted in found[:limit]:
            message = self._message(posted.args, posted.ts)
            metadata = posted.args.get("metadata")
            if with_metadata and metadata:
                message["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
            messages.append(message)
        return {"ok": True, "messages": messages, "has_more": len(found) > limit, "response_metadata": {}}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = as_user_list(args["users"])
        return {"ok": True, "channel": {"id": "D" + "".join(users)}}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = str(args["channel"])
        with self._cond:
            configured = self._channels.get(channel_id)
            if configured is None:
                return {"ok": True, "channel": StubChannel(channel_id, channel_id.lower(), False, True, False).answer()}
            if configured.is_private and not configured.bot_is_member:
                return {"ok": False, "error": "channel_not_found"}  # a bot can't see it
            return {"ok": True, "channel": configured.answer()}

    def _conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        if "channels:join" not in self.scopes:
            return {"ok": False, "error": "missing_scope", "needed": "channels:join", "provided": ",".join(self.scopes)}
        channel_id = str(args["channel"])
        with self._cond:
            configured = self._channels.get(channel_id)
            if configured is None:
                channel = StubChannel(channel_id, channel_id.lower(), False, True, False)
                return {"ok": True, "channel": channel.answer(), "warning": "already_in_channel"}
            if configured.is_private:
                if configured.bot_is_member:
                    return {"ok": False, "error": "method_not_supported_for_channel_type"}
                return {"ok": False, "error": "channel_not_found"}
            if configured.is_archived:
                return {"ok": False, "error": "is_archived"}
            already = configured.bot_is_member
            configured.bot_is_member = True
            answer: dict[str, Any] = {"ok": True, "channel": configured.answer()}
        if already:
            answer["warning"] = "already_in_channel"
        return answer

    def _message(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "text": args.get("text", ""),
            "ts": ts,
        }
        blocks = args.get("blocks")
        if blocks is not None:
            message["blocks"] = json.loads(blocks) if isinstance(blocks, str) else blocks
        return message

    def _channel_for(self, channel: str) -> str:
        # Posting to a user id delivers to the DM with that user, as Slack does.
        return "D" + channel if channel[:1] in ("U", "W") else channel
