"""`/pg tv`: the reply with a new wallboard link (ephemeral: the link is the secret)."""

from __future__ import annotations

from bot.blocks.common import Message, context, escape, message, section


def tv_link_reply(name: str, region: str, url: str | None, path: str) -> Message:
    """`url` is None without PIPEDAY_PUBLIC_URL: the path is shown and the setting named."""
    shown = url or path
    lines = [
        f":tv: *{escape(region)}'s live board* — open this on the TV (full screen: F11):",
        f"<{shown}>" if url else f"`{shown}`",
    ]
    if url is None:
        lines.append("PIPEDAY_PUBLIC_URL isn't set, so put this app's public address in front of the path.")
    return message(
        f"A TV link for {escape(region)}: {shown}",
        [
            section("\n".join(lines)),
            context(
                f"Only you see this. Anyone with the link sees {escape(region)}'s board, nothing else. "
                f"Turn it off with `pipeday tv revoke {escape(name)}`."
            ),
        ],
    )
