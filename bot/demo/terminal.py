"""Block Kit → terminal text: how `pipeday demo` shows the messages the bot really sent.

Pure functions only: a message (its fallback `text` and `blocks`, as posted to the Web API)
goes in, a list of lines comes out. Headers are bold, sections are wrapped to the width,
context is dimmed, buttons look like `[ Spin the wheel ]` and shared files like
`📎 wheel.gif (123 kB)`. mrkdwn (`*bold*`, `_italic_`, `~strike~`, `` `code` ``, `<@U1>`,
`<url|label>`, `&lt;`) is turned into styled text (bot.demo.styled_text); with `Style(enabled=False)` the output
is plain, which is what tests and non-terminal output use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.demo.styled_text import (
    DEFAULT_WIDTH,
    EMOJI_CODES,
    Segment,
    mrkdwn_segments,
    text_object_plain,
    text_object_segments,
    visible_width,
    wrap_segments,
)
from bot.demo.styled_text import PLAIN as PLAIN
from bot.demo.styled_text import Style as Style

Block = Mapping[str, Any]

BULLET_GUTTER = "│ "


@dataclass(frozen=True)
class RenderOptions:
    width: int = DEFAULT_WIDTH
    style: Style = PLAIN
    # Slack user/channel ids to show as names: {"U123": "Maya Patel", "C9": "pg-amer"}.
    names: Mapping[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------


def render_message(text: str | None, blocks: Any, options: RenderOptions = RenderOptions()) -> list[str]:
    """A posted message: its blocks, or the fallback text when it has none."""
    loaded = json.loads(blocks) if isinstance(blocks, str) else blocks
    if loaded:
        return render_blocks(loaded, options)
    return wrap_segments(mrkdwn_segments(text or "", options.names), options.width, options.style)


def render_blocks(blocks: Sequence[Block], options: RenderOptions = RenderOptions()) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        renderer = _BLOCK_RENDERERS.get(str(block.get("type")), _render_unknown)
        lines.extend(renderer(block, options))
    return lines


def _render_header(block: Block, options: RenderOptions) -> list[str]:
    segments = [Segment(s.text, s.marks | {"bold"}) for s in text_object_segments(block.get("text"), options.names)]
    return wrap_segments(segments, options.width, options.style)


def _render_section(block: Block, options: RenderOptions) -> list[str]:
    lines: list[str] = []
    if block.get("text"):
        lines += wrap_segments(text_object_segments(block["text"], options.names), options.width, options.style)
    for field_obj in block.get("fields") or []:
        lines += wrap_segments(text_object_segments(field_obj, options.names), options.width, options.style)
    accessory = block.get("accessory")
    if isinstance(accessory, Mapping):
        lines.append(element_label(accessory, options))
    return lines


def _render_context(block: Block, options: RenderOptions) -> list[str]:
    parts: list[Segment] = []
    for element in block.get("elements") or []:
        if parts:
            parts.append(Segment("  ·  "))
        if element.get("type") == "image":
            parts.append(Segment(f"🖼 {element.get('alt_text', 'image')}"))
        else:
            parts.extend(text_object_segments(element, options.names))
    dimmed = [Segment(s.text, s.marks | {"dim"}) for s in parts]
    return wrap_segments(dimmed, options.width, options.style)


def _render_divider(block: Block, options: RenderOptions) -> list[str]:
    return [options.style.dim("─" * min(options.width, 40))]


def _render_actions(block: Block, options: RenderOptions) -> list[str]:
    labels = [element_label(element, options) for element in block.get("elements") or []]
    lines: list[str] = []
    current = ""
    for label in labels:
        candidate = f"{current}  {label}" if current else label
        if current and visible_width(candidate) > options.width:
            lines.append(current)
            candidate = label
        current = candidate
    return [*lines, current] if current else lines


def _render_image(block: Block, options: RenderOptions) -> list[str]:
    title = text_object_plain(block.get("title"), options.names) if block.get("title") else ""
    caption = title or str(block.get("alt_text") or "image")
    return wrap_segments([Segment(f"🖼 {caption}")], options.width, options.style)


def _render_rich_text(block: Block, options: RenderOptions) -> list[str]:
    texts: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, Mapping):
            if node.get("type") == "text":
                texts.append(str(node.get("text", "")))
            elif node.get("type") == "user":
                texts.append("@" + options.names.get(str(node.get("user_id")), str(node.get("user_id"))))
            elif node.get("type") == "emoji":
                texts.append(EMOJI_CODES.get(str(node.get("name")), f":{node.get('name')}:"))
            collect(node.get("elements"))
        elif isinstance(node, list):
            for child in node:
                collect(child)

    collect(block.get("elements"))
    return wrap_segments([Segment("".join(texts))], options.width, options.style)


def _render_input(block: Block, options: RenderOptions) -> list[str]:
    label = text_object_plain(block.get("label"), options.names)
    return [f"{label}: [ ________ ]"]


def _render_file(block: Block, options: RenderOptions) -> list[str]:
    return [f"📎 {block.get('external_id') or block.get('file_id') or 'file'}"]


def _render_unknown(block: Block, options: RenderOptions) -> list[str]:
    return [options.style.dim(f"[{block.get('type', 'unknown')} block]")]


_BLOCK_RENDERERS: dict[str, Callable[[Block, RenderOptions], list[str]]] = {
    "header": _render_header,
    "section": _render_section,
    "context": _render_context,
    "divider": _render_divider,
    "actions": _render_actions,
    "image": _render_image,
    "rich_text": _render_rich_text,
    "input": _render_input,
    "file": _render_file,
}


def element_label(element: Mapping[str, Any], options: RenderOptions) -> str:
    """Interactive elements as bracketed labels: `[ Spin the wheel ]`, `[ Pick a prize ▾ ]`."""
    kind = element.get("type")
    if kind == "button":
        return options.style.bold(f"[ {text_object_plain(element.get('text'), options.names)} ]")
    if kind == "image":
        return f"🖼 {element.get('alt_text', 'image')}"
    if kind == "overflow":
        return "[ ⋯ ]"
    placeholder = element.get("placeholder") or element.get("initial_option", {}).get("text")
    shown = text_object_plain(placeholder, options.names) if placeholder else str(kind)
    return f"[ {shown} ▾ ]"


# ---------------------------------------------------------------------------
# Files and feed entries
# ---------------------------------------------------------------------------


def format_size(size_bytes: int) -> str:
    """Sizes as Slack shows them: 512 B, 123 kB, 1.4 MB (decimal units)."""
    if size_bytes < 1000:
        return f"{size_bytes} B"
    if size_bytes < 1_000_000:
        return f"{round(size_bytes / 1000)} kB"
    return f"{size_bytes / 1_000_000:.1f} MB"


def file_line(filename: str, size_bytes: int, title: str | None = None) -> str:
    shown = f"{title} — {filename}" if title and title != filename else filename
    return f"📎 {shown} ({format_size(size_bytes)})"


@dataclass(frozen=True)
class FeedEntry:
    """One thing that appeared in a channel: a post, an edit, a thread reply or a file."""

    channel: str  # as shown: "#pg-amer", "DM Maya Patel"
    at: datetime  # local time of the channel's region, for the heading
    kind: str  # "post", "edit", "reply", "file", "ephemeral" or "modal"
    text: str | None = None
    blocks: Any = None
    filename: str | None = None
    size_bytes: int = 0
    title: str | None = None
    in_thread: bool = False


KIND_LABELS = {
    "post": "",
    "edit": "✎ edited",
    "reply": "↳ in thread",
    "file": "",
    "ephemeral": "only they see this",
    "modal": "a modal only they see",
}


def render_feed_entry(entry: FeedEntry, options: RenderOptions = RenderOptions()) -> list[str]:
    """A heading (`#pg-amer  Thu 17:30 EDT  ✎ edited`) and the message behind a gutter."""
    style = options.style
    when = entry.at.strftime("%a %H:%M %Z").strip()
    label = "↳ in thread" if entry.in_thread else KIND_LABELS.get(entry.kind, entry.kind)
    heading = f"{style.bold(entry.channel)}  {style.dim(when)}" + (f"  {style.dim(label)}" if label else "")
    inner = RenderOptions(width=options.width - len(BULLET_GUTTER), style=style, names=options.names)
    if entry.kind == "file":
        body = [file_line(entry.filename or "file", entry.size_bytes, entry.title)]
        if entry.text:
            body = render_message(entry.text, None, inner) + body
    else:
        body = render_message(entry.text, entry.blocks, inner)
    return [heading] + [style.dim(BULLET_GUTTER) + line for line in body]
