"""Weekly summary chart: grouped bars per day per activity type, drawn with Pillow only.

The image is posted to a Slack channel next to the weekly summary text.  It uses a white
card with a grey border so it reads the same on Slack's light and dark themes, and a
colour-blind-friendly palette.  Series may use different units (connects vs hours), so the
bars are grouped side by side rather than stacked.
"""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

Colour = tuple[int, int, int]

# Okabe–Ito plus Tableau tones: distinct for common colour-vision deficiencies and dark
# enough to show on white.  One colour per built-in activity type at most.
SERIES_COLOURS: tuple[Colour, ...] = (
    (0, 114, 178),  # blue
    (230, 159, 0),  # orange
    (0, 158, 115),  # bluish green
    (204, 121, 167),  # reddish purple
    (213, 94, 0),  # vermillion
    (86, 180, 233),  # sky blue
    (117, 112, 179),  # violet
    (140, 86, 75),  # brown (no greys: antialiased text would match them)
    (166, 118, 29),  # ochre
    (128, 128, 0),  # olive
    (231, 41, 138),  # magenta
    (31, 56, 100),  # navy
)
BACKGROUND: Colour = (255, 255, 255)
BORDER: Colour = (200, 200, 200)
TEXT: Colour = (33, 33, 33)
MUTED_TEXT: Colour = (110, 110, 110)
GRIDLINE: Colour = (228, 228, 228)
AXIS: Colour = (120, 120, 120)

# Preferred face: wide Unicode coverage (accents, dashes) where the OS ships it; Pillow's
# bundled default face is the fallback and lacks many non-ASCII glyphs.
_PREFERRED_FONT_FILE = "DejaVuSans.ttf"
# Replacements for punctuation the fallback face cannot draw.
_ASCII_PUNCTUATION = {"—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "..."}
# A private-use code point no font draws: its mask is the face's "missing glyph" box.
_NO_GLYPH_PROBE = "\U000f0000"
_MARGIN = 16
_SWATCH = 12
_LEGEND_GAP = 18
_Y_TICKS = 5


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


def render_week_chart(
    region_name: str,
    days: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    title: str | None = None,
    width: int = 800,
    height: int = 400,
) -> bytes:
    """A PNG of per-day totals, one bar colour per series, with a legend.

    `title` defaults to the region name; callers usually pass "AMER — week of 2026-11-23".
    Empty or all-zero data still renders (axes, legend and a "no activity" note).
    """
    _validate(days, series, width, height)
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    fonts = _Fonts.for_height(height)

    draw.rectangle((0, 0, width - 1, height - 1), outline=BORDER)
    title_bottom = _draw_title(draw, title or region_name, width, fonts.title, fonts.label)
    legend_bottom = _draw_legend(draw, series, width, title_bottom + 8, fonts.label)
    plot = _plot_box(draw, series, width, height, legend_bottom + 12, fonts.label)
    top_value = _axis_top(series)
    _draw_y_axis(draw, plot, top_value, fonts.label)
    _draw_bars(draw, plot, days, series, top_value)
    _draw_x_axis(draw, plot, days, fonts.label)
    if not _has_activity(series):
        _draw_centred(draw, plot, "No activity logged this week", fonts.label, MUTED_TEXT)

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class _Fonts:
    title: Font
    label: Font

    @classmethod
    def for_height(cls, height: int) -> _Fonts:
        # Scale with the image so small thumbnails stay legible and large ones not tiny.
        label_size = max(10, round(height / 30))
        return cls(title=load_font(round(label_size * 1.5)), label=load_font(label_size))


def load_font(size: int) -> Font:
    """DejaVu Sans when installed (Pillow searches the system font folders), else Pillow's own."""
    try:
        return ImageFont.truetype(_PREFERRED_FONT_FILE, size)
    except OSError:
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
    if len(series) > len(SERIES_COLOURS):
        raise ValueError(f"at most {len(SERIES_COLOURS)} series can be told apart, got {len(series)}")
    for name, values in series.items():
        if len(values) != len(days):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(days)} days")
        for value in values:
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"series {name!r} has an invalid total {value!r}")


def _has_activity(series: Mapping[str, Sequence[float]]) -> bool:
    return any(value > 0 for values in series.values() for value in values)


def _draw_title(draw: ImageDraw.ImageDraw, title: str, width: int, font: Font, caption_font: Font) -> int:
    caption = "daily totals"
    caption_x = width - _MARGIN - _text_width(draw, caption, caption_font)
    title = _fit_width(draw, drawable_text(title, font), font, caption_x - _MARGIN - 12)
    draw.text((_MARGIN, _MARGIN), title, font=font, fill=TEXT)
    draw.text((caption_x, _MARGIN + 4), caption, font=caption_font, fill=MUTED_TEXT)
    return int(draw.textbbox((_MARGIN, _MARGIN), title, font=font)[3])


def _fit_width(draw: ImageDraw.ImageDraw, text: str, font: Font, max_width: int) -> str:
    """`text`, cut short with "..." so it fits in `max_width` pixels."""
    if _text_width(draw, text, font) <= max_width:
        return text
    while text and _text_width(draw, text + "...", font) > max_width:
        text = text[:-1]
    return text.rstrip() + "..."


def _legend_label(name: str, values: Sequence[float]) -> str:
    return f"{name} ({_format_number(sum(values))})"


def _draw_legend(
    draw: ImageDraw.ImageDraw,
    series: Mapping[str, Sequence[float]],
    width: int,
    top: int,
    font: Font,
) -> int:
    """Swatch + "name (week total)" entries, wrapping onto new rows; returns the bottom y."""
    line_height = max(_SWATCH, _text_height(draw, "Ag", font)) + 6
    x, y = _MARGIN, top
    for index, (name, values) in enumerate(series.items()):
        label = _fit_width(
            draw,
            drawable_text(_legend_label(name, values), font),
            font,
            width - 2 * _MARGIN - _SWATCH - 6,
        )
        entry_width = _SWATCH + 6 + _text_width(draw, label, font)
        if x > _MARGIN and x + entry_width > width - _MARGIN:
            x, y = _MARGIN, y + line_height
        swatch_top = y + (line_height - 6 - _SWATCH) // 2
        draw.rectangle((x, swatch_top, x + _SWATCH - 1, swatch_top + _SWATCH - 1), fill=SERIES_COLOURS[index])
        draw.text((x + _SWATCH + 6, y), label, font=font, fill=TEXT)
        x += entry_width + _LEGEND_GAP
    return y + line_height if series else top


def _plot_box(
    draw: ImageDraw.ImageDraw,
    series: Mapping[str, Sequence[float]],
    width: int,
    height: int,
    top: int,
    font: Font,
) -> _Box:
    y_label_width = _text_width(draw, _format_number(_axis_top(series)), font)
    x_label_height = _text_height(draw, "Ag", font)
    bottom = height - _MARGIN - x_label_height - 6
    # Keep a usable plot even if a long legend ate most of the height.
    top = min(top, bottom - 40)
    return _Box(left=_MARGIN + y_label_width + 8, top=top, right=width - _MARGIN, bottom=bottom)


def _axis_top(series: Mapping[str, Sequence[float]]) -> float:
    """A round axis maximum (1, 2, 2.5, 5 × 10^k per tick) at or above the largest total."""
    largest = max((value for values in series.values() for value in values), default=0.0)
    if largest <= 0:
        return float(_Y_TICKS)
    raw_step = largest / _Y_TICKS
    magnitude = 10 ** math.floor(math.log10(raw_step))
    for multiple in (1, 2, 2.5, 5, 10):
        step = multiple * magnitude
        if step * _Y_TICKS >= largest:
            # Whole-number ticks for counts: never a step below 1.
            return float(max(step, 1.0) * _Y_TICKS)
    raise AssertionError("10 × magnitude always covers the largest value")


def _draw_y_axis(draw: ImageDraw.ImageDraw, plot: _Box, top_value: float, font: Font) -> None:
    for tick in range(_Y_TICKS + 1):
        value = top_value * tick / _Y_TICKS
        y = _value_to_y(plot, value, top_value)
        draw.line((plot.left, y, plot.right, y), fill=GRIDLINE if tick else AXIS)
        label = _format_number(value)
        label_width = _text_width(draw, label, font)
        label_height = _text_height(draw, label, font)
        draw.text(
            (plot.left - 8 - label_width, y - label_height // 2 - 2),
            label,
            font=font,
            fill=MUTED_TEXT,
        )
    draw.line((plot.left, plot.top, plot.left, plot.bottom), fill=AXIS)


def _draw_bars(
    draw: ImageDraw.ImageDraw,
    plot: _Box,
    days: Sequence[str],
    series: Mapping[str, Sequence[float]],
    top_value: float,
) -> None:
    if not series:
        return
    slot_width = plot.width / len(days)
    group_width = slot_width * 0.8
    bar_width = group_width / len(series)
    for day_index in range(len(days)):
        group_left = plot.left + day_index * slot_width + (slot_width - group_width) / 2
        for series_index, values in enumerate(series.values()):
            value = values[day_index]
            if value <= 0:
                continue
            left = round(group_left + series_index * bar_width)
            right = max(left, round(group_left + (series_index + 1) * bar_width) - 2)
            top = min(_value_to_y(plot, value, top_value), plot.bottom - 2)
            draw.rectangle((left, top, right, plot.bottom - 1), fill=SERIES_COLOURS[series_index])


def _draw_x_axis(draw: ImageDraw.ImageDraw, plot: _Box, days: Sequence[str], font: Font) -> None:
    slot_width = plot.width / len(days)
    for index, day in enumerate(days):
        day = drawable_text(day, font)
        centre = plot.left + slot_width * (index + 0.5)
        left = centre - _text_width(draw, day, font) / 2
        draw.text((left, plot.bottom + 6), day, font=font, fill=TEXT)


def _draw_centred(draw: ImageDraw.ImageDraw, box: _Box, text: str, font: Font, fill: Colour) -> None:
    x = box.left + (box.width - _text_width(draw, text, font)) / 2
    y = box.top + (box.height - _text_height(draw, text, font)) / 2
    draw.text((x, y), text, font=font, fill=fill)


def _value_to_y(plot: _Box, value: float, top_value: float) -> int:
    return round(plot.bottom - plot.height * value / top_value)


def _format_number(value: float) -> str:
    # Hours come in halves; everything else is whole.
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _text_width(draw: ImageDraw.ImageDraw, text: str, font: Font) -> int:
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    return int(right - left)


def _text_height(draw: ImageDraw.ImageDraw, text: str, font: Font) -> int:
    _, top, _, bottom = draw.textbbox((0, 0), text, font=font)
    return int(bottom - top)
