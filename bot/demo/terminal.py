"""Block Kit → terminal text: how `pipeday demo` shows the messages the bot really sent.

Pure functions only: a message (its fallback `text` and `blocks`, as posted to the Web API)
goes in, a list of lines comes out. Headers are bold, sections are wrapped to the width,
context is dimmed, buttons look like `[ Spin the wheel ]` and shared files like
`📎 wheel.gif (123 kB)`. mrkdwn (`*bold*`, `_italic_`, `~strike~`, `` `code` ``, `<@U1>`,
`<url|label>`, `&lt;`) is turned into styled text; with `Style(enabled=False)` the output
is plain, which is what tests and non-terminal output use.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import click

Block = Mapping[str, Any]

DEFAULT_WIDTH = 78
MIN_WIDTH = 20
BULLET_GUTTER = "│ "
EMOJI_CODES = {
    "warning": "⚠️",
    "trophy": "🏆",
    "tada": "🎉",
    "crown": "👑",
    "fire": "🔥",
    "rocket": "🚀",
    "white_check_mark": "✅",
    "x": "❌",
    "clock1": "🕐",
    "alarm_clock": "⏰",
    "bell": "🔔",
    "first_place_medal": "🥇",
    "second_place_medal": "🥈",
    "third_place_medal": "🥉",
    "sports_medal": "🏅",
    "chart_with_upwards_trend": "📈",
    "bar_chart": "📊",
    "gift": "🎁",
    "moneybag": "💰",
    "muscle": "💪",
    "wave": "👋",
    "calendar": "📅",
    "dart": "🎯",
    "telephone_receiver": "📞",
    "email": "✉️",
    "star": "⭐",
    "sparkles": "✨",
    "mega": "📣",
    "loudspeaker": "📢",
    "hourglass": "⌛",
    "stopwatch": "⏱️",
    "ferris_wheel": "🎡",
    "zap": "⚡",
}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Slack's special tokens: <@U123>, <@U123|name>, <#C123|name>, <!here>, <url|label>, <url>.
_ANGLE_TOKEN = re.compile(r"<([^<>\n]+)>")
_EMOJI_CODE = re.compile(r":([a-z0-9_+-]+):")
# Formatting spans open at a word start and close at a word end, as Slack parses them.
_SPAN = re.compile(
    r"```(?P<pre>.+?)```"
    r"|`(?P<code>[^`\n]+)`"
    r"|(?<![\w*])\*(?P<bold>[^*\n]*[^*\s])\*(?![\w*])"
    r"|(?<![\w_])_(?P<italic>[^_\n]*[^_\s])_(?![\w_])"
    r"|(?<![\w~])~(?P<strike>[^~\n]*[^~\s])~(?![\w~])",
    re.DOTALL,
)


@dataclass(frozen=True)
class Style:
    """How to decorate text; `enabled=False` gives plain text (tests, pipes, --no-color)."""

    enabled: bool = True

    def apply(self, text: str, marks: frozenset[str]) -> str:
        if not self.enabled or not marks or not text:
            return text
        return click.style(
            text,
            bold="bold" in marks or None,
            dim="dim" in marks or None,
            italic="italic" in marks or None,
            strikethrough="strike" in marks or None,
            fg="cyan" if "code" in marks else None,
        )

    def bold(self, text: str) -> str:
        return self.apply(text, frozenset({"bold"}))

    def dim(self, text: str) -> str:
        return self.apply(text, frozenset({"dim"}))


PLAIN = Style(enabled=False)


@dataclass(frozen=True)
class Segment:
    """A run of text with the same formatting."""

    text: str
    marks: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RenderOptions:
    width: int = DEFAULT_WIDTH
    style: Style = PLAIN
    # Slack user/channel ids to show as names: {"U123": "Maya Patel", "C9": "pg-amer"}.
    names: Mapping[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Text measurement and wrapping
# ---------------------------------------------------------------------------


def visible_width(text: str) -> int:
    """Terminal columns `text` takes: ANSI codes take none, wide characters and emoji two."""
    width = 0
    for char in _ANSI.sub("", text):
        if unicodedata.combining(char) or char in "\u200d\ufe0f\ufe0e":
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


Word = tuple[tuple[str, frozenset[str]], ...]
NEWLINE: Word = ()


def wrap_segments(segments: Sequence[Segment], width: int, style: Style) -> list[str]:
    """Wrap styled text on spaces, keeping explicit newlines. Styling is applied per line,
    so a bold span that crosses a line break never bleeds into the next line's gutter."""
    width = max(width, MIN_WIDTH)
    lines: list[str] = []
    current: list[tuple[str, frozenset[str]]] = []
    used = 0
    for word in _words(segments):
        if word == NEWLINE:
            lines.append(_styled_line(current, style))
            current, used = [], 0
            continue
        for piece in _split_long_word(word, width):
            size = sum(visible_width(text) for text, _ in piece)
            if current and used + 1 + size > width:
                lines.append(_styled_line(current, style))
                current, used = [], 0
            if current:
                # The space takes the marks of the words around it when they agree.
                space_marks = piece[0][1] if current[-1][1] == piece[0][1] else frozenset()
                current.append((" ", space_marks))
                used += 1
            current.extend(piece)
            used += size
    lines.append(_styled_line(current, style))
    return lines


def _styled_line(parts: Sequence[tuple[str, frozenset[str]]], style: Style) -> str:
    merged: list[tuple[str, frozenset[str]]] = []
    for text, marks in parts:
        if merged and merged[-1][1] == marks:
            merged[-1] = (merged[-1][0] + text, marks)
        else:
            merged.append((text, marks))
    return "".join(style.apply(text, marks) for text, marks in merged).rstrip()


def _words(segments: Sequence[Segment]) -> Iterable[Word]:
    """Words and NEWLINE markers; a word is built of the styled pieces that touch each other."""
    pending: list[tuple[str, frozenset[str]]] = []

    def flush() -> Iterable[Word]:
        if pending:
            yield tuple(pending)
            pending.clear()

    for segment in segments:
        for token in re.split(r"(\n| +)", segment.text):
            if token == "\n":
                yield from flush()
                yield NEWLINE
            elif token.strip(" ") == "":
                if token:
                    yield from flush()
            else:
                pending.append((token, segment.marks))
    yield from flush()


def _split_long_word(word: Word, width: int) -> list[Word]:
    """URLs and other unbroken runs longer than a line are cut rather than overflowing."""
    if sum(visible_width(text) for text, _ in word) <= width:
        return [word]
    pieces: list[Word] = []
    current: list[tuple[str, frozenset[str]]] = []
    used = 0
    for text, marks in word:
        for char in text:
            size = visible_width(char)
            if used + size > width:
                pieces.append(tuple(current))
                current, used = [], 0
            if current and current[-1][1] == marks:
                current[-1] = (current[-1][0] + char, marks)
            else:
                current.append((char, marks))
            used += size
    return [*pieces, tuple(current)] if current else pieces


# ---------------------------------------------------------------------------
# mrkdwn
# ---------------------------------------------------------------------------


def mrkdwn_segments(text: str, names: Mapping[str, str] | None = None) -> list[Segment]:
    """Parse Slack mrkdwn into styled segments (links resolved, entities unescaped)."""
    return _parse_spans(_resolve_angle_tokens(text, names or {}), frozenset())


def plain_segments(text: str) -> list[Segment]:
    """`plain_text` objects: only emoji shortcodes are interpreted."""
    return [Segment(_emoji(text))]


def _parse_spans(text: str, marks: frozenset[str]) -> list[Segment]:
    segments: list[Segment] = []
    position = 0
    for match in _SPAN.finditer(text):
        if match.start() > position:
            segments.append(Segment(_finish(text[position : match.start()]), marks))
        kind = match.lastgroup or ""
        inner = match.group(kind)
        if kind in ("code", "pre"):
            # Nothing inside code is formatting; keep it verbatim (but unescaped).
            segments.append(Segment(_unescape(inner.strip("\n")), marks | {"code"}))
        else:
            segments.extend(_parse_spans(inner, marks | {kind}))
        position = match.end()
    if position < len(text):
        segments.append(Segment(_finish(text[position:]), marks))
    return segments


def _resolve_angle_tokens(text: str, names: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            return "@" + (names.get(target[1:]) or label or target[1:])
        if target.startswith("#"):
            return "#" + (label or names.get(target[1:]) or target[1:])
        if target.startswith("!"):
            special = target[1:].split("^")[0]
            return label or ("@" + special if special in ("here", "channel", "everyone") else special)
        return label or target

    return _ANGLE_TOKEN.sub(replace, text)


def _finish(text: str) -> str:
    return _emoji(_unescape(text))


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _emoji(text: str) -> str:
    return _EMOJI_CODE.sub(lambda m: EMOJI_CODES.get(m.group(1), m.group(0)), text)


def text_object_segments(obj: Any, names: Mapping[str, str]) -> list[Segment]:
    """A Block Kit text object (or a bare string) as segments."""
    if isinstance(obj, str):
        return mrkdwn_segments(obj, names)
    if not isinstance(obj, Mapping):
        return []
    text = str(obj.get("text", ""))
    if obj.get("type") == "plain_text":
        return plain_segments(text)
    return mrkdwn_segments(text, names)


def text_object_plain(obj: Any, names: Mapping[str, str] | None = None) -> str:
    return "".join(segment.text for segment in text_object_segments(obj, names or {}))


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
