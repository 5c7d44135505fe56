"""Weekly summary chart: one colour per activity type everywhere, a panel per type on its own
scale, competition metrics and the funnel first, and a dependable PNG whatever the week."""

from __future__ import annotations

import io
import math

import pytest
from PIL import Image, ImageChops, ImageFont

from bot.domain.activity_types import ACTIVITY_TYPES
from bot.render.summary_chart import (
    BACKGROUND,
    BORDER,
    LEAD_TINT,
    TYPE_COLOURS,
    chart_order,
    drawable_text,
    render_week_chart,
)

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri"]
FULL_WEEK = [*WEEKDAYS, "Sat", "Sun"]
Colour = tuple[int, int, int]
Box = tuple[int, int, int, int]


def open_png(data: bytes) -> Image.Image:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def colour_counts(data: bytes) -> dict[Colour, int]:
    image = open_png(data).convert("RGB")
    return {colour: count for count, colour in image.getcolors(maxcolors=1 << 20)}


def colour_box(data: bytes, colour: Colour) -> Box | None:
    """The bounding box of the pixels exactly `colour` (None if there are none)."""
    channels = open_png(data).convert("RGB").split()
    masks = [
        channel.point(lambda v, want=want: 255 if v == want else 0)
        for channel, want in zip(channels, colour, strict=True)
    ]
    both = ImageChops.multiply(ImageChops.multiply(masks[0], masks[1]), masks[2])
    return both.getbbox()


def overlaps(first: Box, second: Box) -> bool:
    return first[0] < second[2] and second[0] < first[2] and first[1] < second[3] and second[1] < first[3]


def tint(colour: Colour) -> Colour:
    red, green, blue = (round(255 - (255 - channel) * LEAD_TINT) for channel in colour)
    return red, green, blue


# --- one colour per type, in a fixed order ---------------------------------------------------


def test_every_activity_type_has_its_own_colour_and_none_is_grey() -> None:
    assert set(TYPE_COLOURS) == set(ACTIVITY_TYPES)
    assert len(set(TYPE_COLOURS.values())) == len(TYPE_COLOURS)
    for red, green, blue in TYPE_COLOURS.values():
        # Antialiased grey text must never be mistaken for a bar.
        assert not red == green == blue


def test_competition_metrics_lead_then_the_funnel_then_hours_last() -> None:
    logged = ["hour", "account", "deal", "email", "call", "connect", "referral", "meeting"]

    assert chart_order(logged, lead=["meeting"]) == [
        "meeting",
        "call",
        "email",
        "connect",
        "deal",
        "account",
        "referral",
        "hour",
    ]
    # The order of the data never matters; a competition metric with nothing logged still gets
    # its panel; unknown and repeated lead types are ignored.
    assert chart_order(reversed(logged)) == chart_order(logged)
    assert chart_order(["hour", "call"], lead=["connect", "nonsense", "connect"]) == ["connect", "call", "hour"]


def test_the_same_type_keeps_its_colour_in_two_regions_with_different_metric_orders() -> None:
    amer = {"connect": [5, 8, 3, 9, 4], "hour": [6, 7, 5, 8, 4], "deal": [0, 1, 0, 0, 2]}
    apac = {"deal": [1, 0, 0, 2, 1], "hour": [3, 4.5, 2, 5, 3], "call": [60, 75, 58, 80, 44]}

    amer_png = render_week_chart("AMER", WEEKDAYS, amer, lead=["connect"])
    apac_png = render_week_chart("APAC", WEEKDAYS, apac, lead=["deal"])

    amer_colours, apac_colours = colour_counts(amer_png), colour_counts(apac_png)
    for activity_type in ("hour", "deal"):
        assert amer_colours.get(TYPE_COLOURS[activity_type], 0) > 0, activity_type
        assert apac_colours.get(TYPE_COLOURS[activity_type], 0) > 0, activity_type
    # No other type's colour shows up for them: colours follow the type, not the position.
    assert not {TYPE_COLOURS["call"], TYPE_COLOURS["meeting"]} & set(amer_colours)
    assert not {TYPE_COLOURS["connect"], TYPE_COLOURS["meeting"]} & set(apac_colours)
    # And the panels moved with the order: deals lead in APAC, follow connects in AMER.
    amer_deals, apac_deals = colour_box(amer_png, TYPE_COLOURS["deal"]), colour_box(apac_png, TYPE_COLOURS["deal"])
    assert amer_deals is not None and apac_deals is not None
    assert apac_deals[0] < amer_deals[0]


def test_hours_are_drawn_in_a_panel_of_their_own() -> None:
    series = {"call": [120, 134, 98, 160, 90], "connect": [14, 18, 11, 31, 9], "hour": [6.5, 7, 5.5, 8, 4]}

    data = render_week_chart("AMER", WEEKDAYS, series)

    boxes = {t: colour_box(data, TYPE_COLOURS[t]) for t in series}
    assert all(boxes.values()), boxes
    hours = boxes["hour"]
    assert hours is not None
    for activity_type in ("call", "connect"):
        counts = boxes[activity_type]
        assert counts is not None and not overlaps(hours, counts), (activity_type, boxes)


def test_each_type_has_its_own_scale() -> None:
    # 2 deals next to 300 calls: on one axis the deal bar would be a sliver.
    series = {"call": [300, 150, 0, 0, 0], "deal": [0, 2, 0, 0, 0]}

    data = render_week_chart("AMER", WEEKDAYS, series)

    calls, deals = colour_box(data, TYPE_COLOURS["call"]), colour_box(data, TYPE_COLOURS["deal"])
    assert calls is not None and deals is not None
    calls_height, deals_height = calls[3] - calls[1], deals[3] - deals[1]
    assert calls_height > 50
    assert abs(deals_height - calls_height) <= 2


def test_competition_panels_are_shaded_in_their_colour() -> None:
    series = {"connect": [3, 1, 4, 1, 5], "meeting": [2, 7, 1, 8, 2]}

    counts = colour_counts(render_week_chart("AMER", WEEKDAYS, series, lead=["meeting"]))

    assert counts.get(tint(TYPE_COLOURS["meeting"]), 0) > 1000
    assert counts.get(tint(TYPE_COLOURS["connect"]), 0) == 0


def test_a_single_tiny_value_is_still_visible() -> None:
    series = {"connect": [1000, 0, 0, 0, 0], "qbm": [0, 0, 1, 0, 0], "opp": [0, 0, 0, 0, 0]}

    counts = colour_counts(render_week_chart("AMER", WEEKDAYS, series))

    assert counts.get(TYPE_COLOURS["qbm"], 0) > 0
    assert counts.get(TYPE_COLOURS["opp"], 0) == 0  # a panel, but no bar


@pytest.mark.parametrize("count", [1, 4, 5, 11])
def test_every_type_logged_gets_a_panel_in_its_colour(count: int) -> None:
    types = list(ACTIVITY_TYPES)[:count]
    series = {name: [index + 1.0] * 7 for index, name in enumerate(types)}

    counts = colour_counts(render_week_chart("AMER", FULL_WEEK, series))

    for name in types:
        assert counts.get(TYPE_COLOURS[name], 0) > 0, name
    assert not {TYPE_COLOURS[name] for name in ACTIVITY_TYPES if name not in types} & set(counts)


# --- a dependable PNG -----------------------------------------------------------------------


def test_png_parses_with_the_requested_size() -> None:
    data = render_week_chart("AMER", WEEKDAYS, {"connect": [1, 2, 3, 4, 5]}, width=640, height=320)

    image = open_png(data)
    assert image.format == "PNG"
    assert image.size == (640, 320)


def test_default_size_is_800_by_400() -> None:
    data = render_week_chart("AMER", WEEKDAYS, {"connect": [1, 0, 0, 0, 0]})

    assert open_png(data).size == (800, 400)


def test_white_card_with_a_border_for_light_and_dark_themes() -> None:
    data = render_week_chart("AMER", WEEKDAYS, {"connect": [3, 1, 4, 1, 5]})
    counts = colour_counts(data)
    image = open_png(data).convert("RGB")

    assert max(counts, key=lambda colour: counts[colour]) == BACKGROUND
    assert image.getpixel((0, 0)) == BORDER
    assert image.getpixel((799, 399)) == BORDER


@pytest.mark.parametrize("series", [{}, {name: [0.0] * 7 for name in ACTIVITY_TYPES}])
def test_a_week_without_activity_renders_without_any_bars(series: dict[str, list[float]]) -> None:
    counts = colour_counts(render_week_chart("APAC", FULL_WEEK, series, lead=["connect"]))

    assert not set(counts) & set(TYPE_COLOURS.values())


def test_half_hours_long_titles_and_a_small_canvas_render() -> None:
    series = {name: [0.5, 1.5, 0, 2.5, 4] for name in ACTIVITY_TYPES}
    title = "AMER — week of 2026-11-23 — " + "a very long region description " * 5

    data = render_week_chart("AMER", WEEKDAYS, series, lead=["hour"], title=title, width=200, height=150)

    assert open_png(data).size == (200, 150)


def test_rendering_is_deterministic() -> None:
    series = {"connect": [3, 1, 4, 1, 5], "meeting": [2, 7, 1, 8, 2]}

    first = render_week_chart("AMER", WEEKDAYS, series, lead=["meeting"])

    assert render_week_chart("AMER", WEEKDAYS, series, lead=["meeting"]) == first


@pytest.mark.parametrize(
    ("days", "series", "message"),
    [
        (WEEKDAYS, {"connect": [1, 2, 3]}, "3 values for 5 days"),
        (WEEKDAYS, {"connect": [1, -2, 3, 4, 5]}, "invalid total"),
        (WEEKDAYS, {"connect": [1, math.nan, 3, 4, 5]}, "invalid total"),
        (WEEKDAYS, {"connect": [1, math.inf, 3, 4, 5]}, "invalid total"),
        (WEEKDAYS, {"connects": [1, 2, 3, 4, 5]}, "not an activity type"),
        ([], {}, "at least one day"),
    ],
)
def test_bad_input_is_refused_clearly(days: list[str], series: dict[str, list[float]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_week_chart("AMER", days, series)


def test_too_small_canvas_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 200x150"):
        render_week_chart("AMER", WEEKDAYS, {}, width=100, height=100)


def test_text_the_fallback_font_cannot_draw_is_replaced() -> None:
    bundled = ImageFont.load_default(size=12)

    # The bundled face lacks dashes and accents but has the ellipsis, which is kept.
    assert drawable_text("AMER — Zürich … naïve 🚀", bundled) == "AMER - Zurich … naive ?"
    assert drawable_text("AMER - week of 2026-11-23", bundled) == "AMER - week of 2026-11-23"
