"""Weekly summary chart: a dependable PNG whatever the week looked like."""

from __future__ import annotations

import io
import math

import pytest
from PIL import Image, ImageFont

from bot.render.summary_chart import (
    BACKGROUND,
    BORDER,
    SERIES_COLOURS,
    drawable_text,
    render_week_chart,
)

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri"]
FULL_WEEK = [*WEEKDAYS, "Sat", "Sun"]
SIX_TYPES = ["call", "email", "connect", "meeting", "qbm", "opp"]


def open_png(data: bytes) -> Image.Image:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def colour_counts(data: bytes) -> dict[tuple[int, int, int], int]:
    image = open_png(data).convert("RGB")
    return {colour: count for count, colour in image.getcolors(maxcolors=1 << 20)}


def test_png_parses_with_the_requested_size():
    data = render_week_chart("AMER", WEEKDAYS, {"connect": [1, 2, 3, 4, 5]}, width=640, height=320)

    image = open_png(data)
    assert image.format == "PNG"
    assert image.size == (640, 320)


def test_default_size_is_800_by_400():
    data = render_week_chart("AMER", WEEKDAYS, {"connect": [1, 0, 0, 0, 0]})

    assert open_png(data).size == (800, 400)


def test_white_card_with_a_border_for_light_and_dark_themes():
    data = render_week_chart("AMER", WEEKDAYS, {"connect": [3, 1, 4, 1, 5]})
    counts = colour_counts(data)
    image = open_png(data).convert("RGB")

    assert max(counts, key=counts.get) == BACKGROUND
    assert image.getpixel((0, 0)) == BORDER
    assert image.getpixel((799, 399)) == BORDER


def test_each_non_zero_series_draws_bars_in_its_colour():
    series = {"connect": [10, 20, 30, 40, 50], "meeting": [1, 2, 3, 4, 5], "deal": [0, 0, 0, 0, 0]}

    counts = colour_counts(render_week_chart("AMER", WEEKDAYS, series))
    connect, meeting, deal = (counts.get(SERIES_COLOURS[i], 0) for i in range(3))

    # Every series has a legend swatch; only non-zero ones add bars, bigger totals more ink.
    assert deal > 0
    assert meeting > deal
    assert connect > 5 * meeting


def test_a_single_tiny_value_is_still_visible():
    series = {"connect": [1000, 0, 0, 0, 0], "qbm": [0, 0, 1, 0, 0], "opp": [0, 0, 0, 0, 0]}

    counts = colour_counts(render_week_chart("AMER", WEEKDAYS, series))

    assert counts[SERIES_COLOURS[1]] > counts[SERIES_COLOURS[2]]


def test_all_zero_week_renders_with_every_legend_entry():
    series = {name: [0] * 7 for name in SIX_TYPES}

    counts = colour_counts(render_week_chart("EMEA", FULL_WEEK, series))

    swatches = [counts.get(colour, 0) for colour in SERIES_COLOURS[: len(SIX_TYPES)]]
    assert all(swatches)
    assert len(set(swatches)) == 1  # legend swatches only, no bars


def test_no_series_at_all_renders_without_any_series_colour():
    counts = colour_counts(render_week_chart("APAC", WEEKDAYS, {}))

    assert not set(counts) & set(SERIES_COLOURS)


@pytest.mark.parametrize("count", [1, 6, 11])
def test_every_series_gets_a_legend_entry_and_its_own_colour(count):
    names = [
        "account",
        "email",
        "call",
        "referral",
        "connect",
        "meeting",
        "qbm",
        "opp",
        "pov",
        "deal",
        "hour",
    ]
    series = {name: [index + 1] * 7 for index, name in enumerate(names[:count])}

    counts = colour_counts(render_week_chart("AMER", FULL_WEEK, series))

    for colour in SERIES_COLOURS[:count]:
        assert counts.get(colour, 0) > 0, colour
    assert not set(counts) & set(SERIES_COLOURS[count:])


def test_series_colours_are_distinct_and_not_grey():
    assert len(set(SERIES_COLOURS)) == len(SERIES_COLOURS)
    for red, green, blue in SERIES_COLOURS:
        # Antialiased grey text must never be mistaken for a series colour.
        assert not red == green == blue


def test_half_hours_and_long_titles_render():
    series = {"hour": [0.5, 1.5, 0, 2.5, 4]}
    title = "AMER — week of 2026-11-23 — " + "a very long region description " * 5

    data = render_week_chart("AMER", WEEKDAYS, series, title=title, width=300, height=200)

    assert open_png(data).size == (300, 200)


def test_rendering_is_deterministic():
    series = {"connect": [3, 1, 4, 1, 5], "meeting": [2, 7, 1, 8, 2]}

    first = render_week_chart("AMER", WEEKDAYS, series)

    assert render_week_chart("AMER", WEEKDAYS, series) == first


@pytest.mark.parametrize(
    ("days", "series", "message"),
    [
        (WEEKDAYS, {"connect": [1, 2, 3]}, "3 values for 5 days"),
        (WEEKDAYS, {"connect": [1, -2, 3, 4, 5]}, "invalid total"),
        (WEEKDAYS, {"connect": [1, math.nan, 3, 4, 5]}, "invalid total"),
        (WEEKDAYS, {"connect": [1, math.inf, 3, 4, 5]}, "invalid total"),
        ([], {}, "at least one day"),
        (WEEKDAYS, {f"type{i}": [0] * 5 for i in range(len(SERIES_COLOURS) + 1)}, "at most"),
    ],
)
def test_bad_input_is_refused_clearly(days, series, message):
    with pytest.raises(ValueError, match=message):
        render_week_chart("AMER", days, series)


def test_too_small_canvas_is_refused():
    with pytest.raises(ValueError, match="at least 200x150"):
        render_week_chart("AMER", WEEKDAYS, {}, width=100, height=100)


def test_text_the_fallback_font_cannot_draw_is_replaced():
    bundled = ImageFont.load_default(size=12)

    # The bundled face lacks dashes and accents but has the ellipsis, which is kept.
    assert drawable_text("AMER — Zürich … naïve 🚀", bundled) == "AMER - Zurich … naive ?"
    assert drawable_text("AMER - week of 2026-11-23", bundled) == "AMER - week of 2026-11-23"
