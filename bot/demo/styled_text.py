"""Styled terminal text for `pipeday demo`: Slack mrkdwn (`*bold*`, `_italic_`, `~strike~`,
`` `code` ``, `<@U1>`, `<url|label>`, `&lt;`, `:emoji:`) parsed into styled segments, and
segments wrapped to a width in terminal columns (wide characters and emoji take two). With
`Style(enabled=False)` the output is plain. bot.demo.terminal renders Block Kit with these.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import click

DEFAULT_WIDTH = 78
MIN_WIDTH = 20
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
