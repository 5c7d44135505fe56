"""Weekly summary chart: one small panel per activity type, drawn with Pillow.

Counts run from 2 deals to 400 calls a week and hours are another unit, so one shared
axis leaves most bars flat: each type gets a panel of its own scale, with its week total
in large type and its busiest day labelled. A type has one colour in every chart
(TYPE_COLOURS), so orange means connects in AMER and in APAC alike. Panels run: the
region's competition metrics (shaded), then the funnel from outreach to deals, then
accounts and referrals, hours last. A white card with a grey border reads the same on
Slack's light and dark themes.

matplotlib's Agg backend was tried for this layout: 230–350 ms a chart plus ~0.5 s to
import, and numpy with it, against ~25 ms here (bench/README.md), for no gain a reader sees.
"""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from bot.domain.activity_types import ACTIVITY_TYPES

Colour = tuple[int, int, int]

# One colour per activity type, the same in every region: Okabe–Ito's colour-blind-safe
# eight plus three darker tones, all dark enough on white and none grey (antialiased text
# must never match a bar). Neighbours in PANEL_ORDER are far apart in hue.
TYPE_COLOURS: dict[str, Colour] = {
    "call": (0, 114, 178),  # blue
    "email": (86, 180, 233),  # sky blue
    "connect": (230, 159, 0),  # orange
    "meeting": (0, 158, 115),  # bluish green
    "qbm": (204, 121, 167),  # reddish purple
    "opp": (213, 94, 0),  # vermillion
    "pov": (117, 112, 179),  # violet
    "deal": (166, 118, 29),  # ochre
    "account": (140, 86, 75),  # brown
    "referral": (128, 128, 0),  # olive
    "hour": (31, 56, 100),  # navy
}
# The funnel from outreach to deals, then the types outside it; hours last.
PANEL_ORDER: tuple[str, ...] = (
    "call",
    "email",
    "connect",
    "meeting",
    "qbm",
    "opp",
    "pov",
    "deal",
    "account",
    "referral",
    "hour",
)
BACKGROUND: Colour = (255, 255, 255)
BORDER: Colour = (200, 200, 200)
TEXT: Colour = (33, 33, 33)
MUTED_TEXT: Colour = (110, 110, 110)
BASELINE: Colour = (190, 190, 190)
LEAD_TINT = 0.14  # how much of its colour a competition metric's panel is shaded with

# Preferred faces: wide Unicode coverage (accents, dashes) where the OS ships them; Pillow's
# bundled default face is the fallback and lacks many non-ASCII glyphs.
_PREFERRED_FONT_FILE = "DejaVuSans.ttf"
_PREFERRED_BOLD_FONT_FILE = "DejaVuSans-Bold.ttf"
# Replacements for punctuation the fallback face cannot draw.
_ASCII_PUNCTUATION = {"—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "..."}
# A private-use code point no font draws: its mask is the face's "missing glyph" box.
_NO_GLYPH_PROBE = "\U000f0000"
_MARGIN = 16
_GAP = 10  # between panels
_PAD = 8  # inside a panel


@dataclass(frozen=True)
class _Box:
    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top


def chart_order(types: Iterable[str], lead: Sequence[str] = ()) -> list[str]:
    """The panels, in order: `lead` (the region's competition metrics, even on a week
    without any) first, then every other type in `types` in PANEL_ORDER."""
    leading = list(dict.fromkeys(t for t in lead if t in TYPE_COLOURS))
    rest = set(types) - set(leading)
    return leading + [t for t in PANEL_ORDER if t in rest]


def render_week_chart(
    region_name: str,
    days: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    lead: Sequence[str] = (),
    title: str | None = None,
    width: int = 800,
    height: int = 400,
) -> bytes:
    """A PNG of per-day totals, one panel per activity type (`series` is keyed by type).

    `lead` are the region's competition metrics, shown first and shaded. `title` defaults to
    the region name; callers usually pass "AMER — week of 23 Nov 2026". A week without any
    activity still renders (title and a "no activity" note).
    """
    _validate(days, series, width, height)
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    fonts = _Fonts.for_height(height)

    draw.rectangle((0, 0, width - 1, height - 1), outline=BORDER)
    order = chart_order(series, lead) if _has_activity(series) else []
    caption = "daily totals, each on its own scale" + (" · shaded: competitions" if lead and order else "")
    title_bottom = _draw_title(draw, title or region_name, caption, width, fonts)
    area = _Box(_MARGIN, title_bottom + 12, width - _MARGIN, height - _MARGIN)
    if not _has_activity(series):
        _draw_centred(draw, area, "No activity logged this week", fonts.label, MUTED_TEXT)
    for activity_type, box in zip(order, _panel_boxes(area, len(order)), strict=False):
        values = series.get(activity_type) or [0.0] * len(days)
        _draw_panel(draw, box, activity_type, days, values, activity_type in lead, fonts)

    buffer = io.BytesIO()
    # zlib's default level: `optimize` (level 9) saves 4% of ~27 kB and costs 40 ms a chart.
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class _Fonts:
    title: Font
    label: Font
    small: Font
    total: Font

    @classmethod
    def for_height(cls, height: int) -> _Fonts:
        # Scale with the image so Slack's inline preview stays legible and large ones not tiny.
        label_size = max(10, round(height / 29))
        return cls(
            title=load_font(round(label_size * 1.45), bold=True),
            label=load_font(label_size),
            small=load_font(max(9, round(label_size * 0.9))),
            total=load_font(round(label_size * 1.6), bold=True),
        )


def load_font(size: int, *, bold: bool = False) -> Font:
    """DejaVu Sans when installed (Pillow searches the system font folders), else Pillow's own."""
    for face in (_PREFERRED_BOLD_FONT_FILE, _PREFERRED_FONT_FILE) if bold else (_PREFERRED_FONT_FILE,):
        try:
            return ImageFont.truetype(face, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def drawable_text(text: str, font: Font) -> str:
    """`text` with characters the font cannot draw replaced, so no "tofu" boxes appear.

    Dashes and quotes become ASCII, accented letters lose their accents ("Zürich" →
    "Zurich"), anything else missing becomes "?".
    """
    missing = bytes(font.getmask(_NO_GLYPH_PROBE))

    def has_glyph(character: str) -> bool:
        return character.isspace() or bytes(font.getmask(character)) != missing

    drawable = []
    for character in text:
        if character.isascii() or has_glyph(character):
            drawable.append(character)
        elif character in _ASCII_PUNCTUATION:
            drawable.append(_ASCII_PUNCTUATION[character])
        else:
            base = unicodedata.normalize("NFKD", character)[0]
            drawable.append(base if base.isascii() or has_glyph(base) else "?")
    return "".join(drawable)


def _validate(days: Sequence[str], series: Mapping[str, Sequence[float]], width: int, height: int) -> None:
    if not days:
        raise ValueError("a week chart needs at least one day")
    if width < 200 or height < 150:
        raise ValueError(f"chart must be at least 200x150 pixels, got {width}x{height}")
    for name, values in series.items():
        if name not in TYPE_COLOURS:
            raise ValueError(f"series {name!r} is not an activity type")
        if len(values) != len(days):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(days)} days")
        for value in values:
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"series {name!r} has an invalid total {value!r}")


def _has_activity(series: Mapping[str, Sequence[float]]) -> bool:
    return any(value > 0 for values in series.values() for value in values)


def _draw_title(draw: ImageDraw.ImageDraw, title: str, caption: str, width: int, fonts: _Fonts) -> int:
    """The title, and the caption on its right if both fit, else under it; returns the bottom y."""
    title = _fit_width(draw, drawable_text(title, fonts.title), fonts.title, width - 2 * _MARGIN)
    draw.text((_MARGIN, _MARGIN), title, font=fonts.title, fill=TEXT)
    bottom = int(draw.textbbox((_MARGIN, _MARGIN), title, font=fonts.title)[3])
    caption_width = _text_width(draw, caption, fonts.small)
    if _MARGIN + _text_width(draw, title, fonts.title) + 24 + caption_width <= width - _MARGIN:
        caption_top = bottom - _text_height(draw, "Ag", fonts.small) - 2
        draw.text((width - _MARGIN - caption_width, caption_top), caption, font=fonts.small, fill=MUTED_TEXT)
        return bottom
    caption = _fit_width(draw, caption, fonts.small, width - 2 * _MARGIN)
    draw.text((_MARGIN, bottom + 4), caption, font=fonts.small, fill=MUTED_TEXT)
    return int(draw.textbbox((_MARGIN, bottom + 4), caption, font=fonts.small)[3])


def _panel_boxes(area: _Box, count: int) -> list[_Box]:
    """Up to four panels side by side; more in two rows."""
    if count == 0:
        return []
    rows = 1 if count <= 4 else 2
    columns = math.ceil(count / rows)
    panel_width = (area.width - _GAP * (columns - 1)) / columns
    panel_height = (area.height - _GAP * (rows - 1)) / rows
    boxes = []
    for index in range(count):
        row, column = divmod(index, columns)
        left = area.left + column * (panel_width + _GAP)
        top = area.top + row * (panel_height + _GAP)
        boxes.append(_Box(round(left), round(top), round(left + panel_width), round(top + panel_height)))
    return boxes


def _draw_panel(
    draw: ImageDraw.ImageDraw,
    box: _Box,
    activity_type: str,
    days: Sequence[str],
    values: Sequence[float],
    is_lead: bool,
    fonts: _Fonts,
) -> None:
    colour = TYPE_COLOURS[activity_type]
    if is_lead:
        draw.rectangle((box.left, box.top, box.right - 1, box.bottom - 1), fill=_tint(colour))
    inner = _Box(box.left + _PAD, box.top + _PAD, box.right - _PAD, box.bottom - _PAD)
    name = ACTIVITY_TYPES[activity_type].plural
    name = _fit_width(draw, name[:1].upper() + name[1:], fonts.label, inner.width)
    draw.text((inner.left, inner.top), name, font=fonts.label, fill=TEXT)
    total_top = inner.top + _text_height(draw, "Ag", fonts.label) + 6
    total = _fit_width(draw, _format_number(sum(values)), fonts.total, inner.width)
    draw.text((inner.left, total_top), total, font=fonts.total, fill=TEXT)
    # The busiest day's figure sits above its bar: the panel's scale, in words.
    bars_top = total_top + _text_height(draw, "0", fonts.total) + 8 + _text_height(draw, "0", fonts.small) + 4
    day_label_height = _text_height(draw, "MTWFS", fonts.small)
    baseline = inner.bottom - day_label_height - 5
    plot = _Box(inner.left, min(bars_top, baseline - 12), inner.right, baseline)
    _draw_bars(draw, plot, days, values, colour, fonts.small)


def _draw_bars(
    draw: ImageDraw.ImageDraw, plot: _Box, days: Sequence[str], values: Sequence[float], colour: Colour, font: Font
) -> None:
    slot = plot.width / len(days)
    peak = max(values, default=0.0)
    peak_index = values.index(peak) if peak > 0 else None
    draw.line((plot.left, plot.bottom, plot.right - 1, plot.bottom), fill=BASELINE)
    for index, (day, value) in enumerate(zip(days, values, strict=True)):
        centre = plot.left + slot * (index + 0.5)
        half = max(1.0, slot * 0.34)
        if value > 0:
            # Every non-zero day shows, however small next to the peak.
            top = min(plot.bottom - 2, round(plot.bottom - plot.height * value / peak))
            draw.rectangle((round(centre - half), top, round(centre + half) - 1, plot.bottom - 1), fill=colour)
            if index == peak_index:
                label = _format_number(value)
                label_left = _clamp(centre - _text_width(draw, label, font) / 2, plot, _text_width(draw, label, font))
                draw.text((label_left, top - _text_height(draw, "0", font) - 5), label, font=font, fill=TEXT)
        initial = drawable_text(day[:1], font)
        draw.text((centre - _text_width(draw, initial, font) / 2, plot.bottom + 4), initial, font=font, fill=MUTED_TEXT)


def _clamp(left: float, plot: _Box, text_width: int) -> float:
    return min(max(left, plot.left), plot.right - text_width)


def _tint(colour: Colour) -> Colour:
    red, green, blue = (round(255 - (255 - channel) * LEAD_TINT) for channel in colour)
    return red, green, blue


def _fit_width(draw: ImageDraw.ImageDraw, text: str, font: Font, max_width: int) -> str:
    """`text`, cut short with "..." so it fits in `max_width` pixels."""
    if _text_width(draw, text, font) <= max_width:
        return text
    while text and _text_width(draw, text + "...", font) > max_width:
        text = text[:-1]
    return text.rstrip() + "..."


def _draw_centred(draw: ImageDraw.ImageDraw, box: _Box, text: str, font: Font, fill: Colour) -> None:
    x = box.left + (box.width - _text_width(draw, text, font)) / 2
    y = box.top + (box.height - _text_height(draw, text, font)) / 2
    draw.text((x, y), text, font=font, fill=fill)


def _format_number(value: float) -> str:
    # Hours come in halves; everything else is whole.
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _text_width(draw: ImageDraw.ImageDraw, text: str, font: Font) -> int:
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    return int(right - left)


def _text_height(draw: ImageDraw.ImageDraw, text: str, font: Font) -> int:
    _, top, _, bottom = draw.textbbox((0, 0), text, font=font)
    return int(bottom - top)
