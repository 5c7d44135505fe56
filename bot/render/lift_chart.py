"""The lift chart: per competition, each week's difference and its 95% interval, drawn with Pillow.

One panel per region and competition. A week's dot is its competition day's metric per rep
minus that week's ordinary working days', the bar through it the bootstrap interval; a dot
whose bar clears zero is filled in the metric's colour (TYPE_COLOURS, as in the weekly
chart), one whose bar crosses zero is hollow, and a week without the competition (or
without an ordinary day) leaves a gap. Drawn by hand like the weekly chart, for the same
reasons (bot.render.summary_chart): matplotlib would add half a second of imports for a
dozen dots and bars.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

from bot.domain.activity_types import ACTIVITY_TYPES
from bot.domain.lift import CompetitionLift, RegionLift, WeekPoint
from bot.domain.lift_text import number, ratio_text
from bot.render.summary_chart import (
    BACKGROUND,
    BASELINE,
    BORDER,
    MUTED_TEXT,
    TEXT,
    TYPE_COLOURS,
    Colour,
    Font,
    drawable_text,
    load_font,
)

GRID: Colour = (235, 235, 235)
_MARGIN = 16
_GAP = 14
_PANEL_HEIGHT = 230
_LABEL_SIZE = 13


@dataclass(frozen=True)
class _Panel:
    title: str
    note: str  # the whole period's ratio, or "not enough data yet"
    unit: str
    colour: Colour
    weeks: list[WeekPoint]


@dataclass(frozen=True)
class _Fonts:
    title: Font
    label: Font
    small: Font


def render_lift_chart(regions: Sequence[RegionLift], *, width: int | None = None) -> bytes:
    """A PNG with one panel per region and competition (regions without one say so)."""
    panels = [_panel(region, lift, len(regions) > 1) for region in regions for lift in region.competitions]
    columns = 1 if len(panels) <= 3 else 2
    width = width or (800 if columns == 1 else 1200)
    rows = max(1, math.ceil(len(panels) / columns))
    fonts = _Fonts(load_font(19, bold=True), load_font(_LABEL_SIZE), load_font(11))
    header = 78
    height = header + rows * _PANEL_HEIGHT + (rows - 1) * _GAP + _MARGIN
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width - 1, height - 1), outline=BORDER)
    title = (
        f"Lift per week — {regions[0].region_name}" if len(regions) == 1 else f"Lift per week — {len(regions)} regions"
    )
    draw.text((_MARGIN, _MARGIN), drawable_text(title, fonts.title), font=fonts.title, fill=TEXT)
    captions = (
        "dot: a competition day's metric per rep minus that week's ordinary working days",
        "bar: its 95% interval · hollow: the interval includes zero · gap: no competition day that week",
    )
    for line, caption in enumerate(captions):
        fitted = _fit(draw, caption, fonts.small, width - 2 * _MARGIN)
        draw.text((_MARGIN, _MARGIN + 26 + 14 * line), fitted, font=fonts.small, fill=MUTED_TEXT)
    if not panels:
        draw.text((_MARGIN, header + 20), "No prospecting days in this period.", font=fonts.label, fill=MUTED_TEXT)
    panel_width = (width - 2 * _MARGIN - (columns - 1) * _GAP) // columns
    for index, panel in enumerate(panels):
        row, column = divmod(index, columns)
        left = _MARGIN + column * (panel_width + _GAP)
        top = header + row * (_PANEL_HEIGHT + _GAP)
        _draw_panel(draw, panel, (left, top, left + panel_width, top + _PANEL_HEIGHT), fonts)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def _panel(region: RegionLift, lift: CompetitionLift, name_region: bool) -> _Panel:
    comparison = lift.vs_ordinary
    overall = ratio_text(comparison) if comparison.enough_data else None
    note = f"whole period: {overall}" if overall else "whole period: not enough data yet"
    title = f"{region.region_name} · {lift.name}" if name_region else lift.name
    unit = f"{ACTIVITY_TYPES[lift.metric].plural} per rep, vs ordinary days"
    return _Panel(title, note, unit, TYPE_COLOURS.get(lift.metric, TEXT), lift.weeks)


def _draw_panel(draw: ImageDraw.ImageDraw, panel: _Panel, box: tuple[int, int, int, int], fonts: _Fonts) -> None:
    left, top, right, bottom = box
    draw.rectangle(box, outline=BORDER)
    draw.text((left + 10, top + 8), drawable_text(panel.title, fonts.label), font=fonts.label, fill=TEXT)
    note = drawable_text(panel.note, fonts.small)
    draw.text((right - 10 - _width(draw, note, fonts.small), top + 10), note, font=fonts.small, fill=MUTED_TEXT)
    draw.text((left + 10, top + 28), drawable_text(panel.unit, fonts.small), font=fonts.small, fill=MUTED_TEXT)
    plot = (left + 56, top + 52, right - 12, bottom - 26)
    low, high = _value_range(panel.weeks)
    ticks = _ticks(low, high)
    low, high = min(low, ticks[0]), max(high, ticks[-1])

    def y_of(value: float) -> float:
        return plot[3] - (value - low) / (high - low) * (plot[3] - plot[1])

    for tick in ticks:
        y = y_of(tick)
        draw.line((plot[0], y, plot[2], y), fill=BASELINE if tick == 0 else GRID)
        label = _tick_label(tick)
        draw.text((plot[0] - 6 - _width(draw, label, fonts.small), y - 6), label, font=fonts.small, fill=MUTED_TEXT)
    slot = (plot[2] - plot[0]) / max(1, len(panel.weeks))
    label_every = max(1, math.ceil(len(panel.weeks) * 44 / max(1, plot[2] - plot[0])))
    for index, week in enumerate(panel.weeks):
        x = plot[0] + slot * (index + 0.5)
        if index % label_every == 0:
            label = f"{week.monday:%d %b}".lstrip("0")
            draw.text((x - _width(draw, label, fonts.small) / 2, plot[3] + 6), label, font=fonts.small, fill=MUTED_TEXT)
        _draw_week(draw, week, x, y_of, panel.colour)
    if not any(week.comparison for week in panel.weeks):
        message = "no week with both a competition day and an ordinary day"
        draw.text((plot[0] + 8, plot[1] + 8), message, font=fonts.small, fill=MUTED_TEXT)


def _draw_week(
    draw: ImageDraw.ImageDraw, week: WeekPoint, x: float, scale: Callable[[float], float], colour: Colour
) -> None:
    comparison = week.comparison
    if comparison is None or comparison.difference is None:
        return
    interval = comparison.difference_interval
    if interval is not None and interval.low is not None and interval.high is not None:
        draw.line((x, scale(interval.low), x, scale(interval.high)), fill=colour, width=2)
        for end in (interval.low, interval.high):
            draw.line((x - 4, scale(end), x + 4, scale(end)), fill=colour, width=2)
    y = scale(comparison.difference)
    clear = interval is not None and interval.excludes(0.0)
    draw.ellipse((x - 5, y - 5, x + 5, y + 5), fill=colour if clear else BACKGROUND, outline=colour, width=2)


def _value_range(weeks: Sequence[WeekPoint]) -> tuple[float, float]:
    values = [0.0]
    for week in weeks:
        comparison = week.comparison
        if comparison is None or comparison.difference is None:
            continue
        values.append(comparison.difference)
        interval = comparison.difference_interval
        if interval is not None:
            values += [v for v in (interval.low, interval.high) if v is not None]
    low, high = min(values), max(values)
    if high - low < 1e-9:
        return low - 1.0, high + 1.0
    return low, high


def _ticks(low: float, high: float) -> list[float]:
    """Round steps covering [low, high], zero always among them."""
    raw = (high - low) / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    count = math.ceil((high - first) / step - 1e-9) + 1
    return [round(first + n * step, 10) for n in range(count)]


def _tick_label(value: float) -> str:
    if value == 0:
        return "0"
    return ("+" if value > 0 else "-") + number(abs(value)).rstrip("0").rstrip(".")


def _width(draw: ImageDraw.ImageDraw, text: str, font: Font) -> int:
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    return int(right - left)


def _fit(draw: ImageDraw.ImageDraw, text: str, font: Font, max_width: int) -> str:
    if _width(draw, text, font) <= max_width:
        return text
    while text and _width(draw, text + "...", font) > max_width:
        text = text[:-1]
    return text.rstrip() + "..."
