"""The wheel's text: fonts, fitting text into a width, and the last frame's prize caption.

The last frame names the prize in words, on a dark caption just under the pointer: the GIF
is often seen on its own (a preview, a forwarded file), and a segment's small radial label
can be cut short or left out. The radial labels (bot.render.wheel_labels) use the same fonts
and fitting, and on the last frame leave out any label the caption would cover.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from PIL import Image, ImageDraw, ImageFont, features

RGB = tuple[int, int, int]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

MIN_FONT_PX = 9
_DEJAVU_PATHS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSansCondensed-Bold.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
)
_ELLIPSIS = "…"
# The caption on the last frame: as large as fits, two lines for long names.
_CAPTION_FONT_SHARE = 0.058  # of the image size, at most
_CAPTION_MIN_FONT_SHARE = 0.036
_CAPTION_MAX_LINES = 2


class CaptionPlace(Protocol):
    """Where the caption goes on the image (bot.render.wheel_gif.WheelLayout)."""

    @property
    def size(self) -> int: ...

    @property
    def center(self) -> float: ...

    @property
    def rim_width(self) -> int: ...

    @property
    def caption_top(self) -> float: ...

    @property
    def caption_width(self) -> float: ...


def drawable_text(label: str) -> str:
    """The label on one line, without emoji (no bundled font draws them; they'd be boxes)."""
    kept = "".join(ch for ch in label if not _is_emoji_part(ch))
    return " ".join(kept.split())


def _is_emoji_part(ch: str) -> bool:
    code = ord(ch)
    return (
        0x1F000 <= code <= 0x1FFFF  # pictographs, emoticons, flags, skin tones
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or code == 0x200D  # zero-width joiner
        or 0xE0000 <= code <= 0xE007F  # tag characters (subdivision flags)
    )


def fit_label(text: str, font: Font, max_px: float) -> str:
    """The text, or its longest prefix plus an ellipsis, that fits in ``max_px``."""
    if font.getlength(text) <= max_px:
        return text
    low, high = 0, len(text)  # prefix length: low fits, high does not
    while high - low > 1:
        middle = (low + high) // 2
        if font.getlength(text[:middle].rstrip() + _ELLIPSIS) <= max_px:
            low = middle
        else:
            high = middle
    return text[:low].rstrip() + _ELLIPSIS if low else ""


def load_font(px: int) -> Font:
    """DejaVu if installed, else Pillow's bundled scalable font, else the bitmap default.

    DejaVu comes first because Pillow's bundled Aileron has a limited
    character set: accented or non-Latin prize names ("numéro", "Ж") came out
    as boxes with it.
    """
    if not features.check("freetype2"):
        return ImageFont.load_default()
    for path in _DEJAVU_PATHS:
        if path.exists():
            return ImageFont.truetype(str(path), px)
    return ImageFont.load_default(size=px)


def caption_lines(prize: str, font: Font, max_px: float) -> list[str]:
    """The prize name in at most two lines of at most ``max_px``; the last one is cut
    with an ellipsis when the name is longer still."""
    words = drawable_text(prize).split()
    lines: list[str] = []
    while words and len(lines) < _CAPTION_MAX_LINES - 1:
        taken = 1
        while taken < len(words) and font.getlength(" ".join(words[: taken + 1])) <= max_px:
            taken += 1
        if font.getlength(" ".join(words[:taken])) > max_px:
            break  # one word wider than the line: the last line cuts it
        lines.append(" ".join(words[:taken]))
        words = words[taken:]
    if words:
        lines.append(fit_label(" ".join(words), font, max_px))
    return [line for line in lines if line]


def _caption_layout(layout: CaptionPlace, prize: str) -> tuple[Font, list[str]]:
    """The largest font that shows the name on one line, else two lines at the smallest."""
    largest = max(MIN_FONT_PX, round(layout.size * _CAPTION_FONT_SHARE))
    smallest = max(MIN_FONT_PX, round(layout.size * _CAPTION_MIN_FONT_SHARE))
    text = drawable_text(prize)
    for px in range(largest, smallest, -2):
        font = load_font(px)
        if font.getlength(text) <= layout.caption_width:
            return font, [text] if text else []
    font = load_font(smallest)
    return font, caption_lines(text, font, layout.caption_width)


Box = tuple[float, float, float, float]


def caption_box(layout: CaptionPlace, prize: str) -> Box | None:
    """Where the caption for ``prize`` goes (left, top, right, bottom); None for a name
    made only of emoji (nothing a font can draw, so no caption)."""
    placed = _placed(layout, prize)
    return placed[0] if placed else None


def _placed(layout: CaptionPlace, prize: str) -> tuple[Box, Font, list[str], int, int] | None:
    font, lines = _caption_layout(layout, prize)
    if not lines:
        return None
    ascent, descent = font.getmetrics() if isinstance(font, ImageFont.FreeTypeFont) else (10, 2)
    line_px = ascent + descent
    padding = max(4, line_px // 3)
    text_width = max(font.getlength(line) for line in lines)
    top = layout.caption_top
    box = (
        layout.center - text_width / 2 - padding * 1.5,
        top,
        layout.center + text_width / 2 + padding * 1.5,
        top + len(lines) * line_px + 2 * padding,
    )
    return box, font, lines, line_px, padding


def draw_caption(
    image: Image.Image, layout: CaptionPlace, prize: str, *, box_colour: RGB, edge_colour: RGB, text_colour: RGB
) -> None:
    """The prize's name on a dark rounded label (``box_colour``), centred under the pointer."""
    placed = _placed(layout, prize)
    if placed is None:
        return  # a name made only of emoji: nothing a font can draw
    box, font, lines, line_px, padding = placed
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle(
        box, radius=padding * 1.5, fill=box_colour, outline=edge_colour, width=max(1, layout.rim_width // 2)
    )
    for number, line in enumerate(lines):
        y = layout.caption_top + padding + number * line_px
        draw.text((layout.center, y), line, font=font, fill=text_colour, anchor="ma")
