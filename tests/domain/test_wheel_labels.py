"""Prize names on the wheel's segments: shrink to a legible minimum, then two lines, then cut."""

from __future__ import annotations

import io

from PIL import Image

from bot.demo.world import PRIZES
from bot.render.wheel_caption import load_font
from bot.render.wheel_gif import WheelLayout, render_wheel_gif, segment_bounds, segment_colours
from bot.render.wheel_labels import LABEL_FONT_SHARE, LEGIBLE_FONT_SHARE, LabelFit, fit_segment_label, label_room

LAYOUT = WheelLayout(480)
USUAL_PX, LEGIBLE_PX = round(480 * LABEL_FONT_SHARE), round(480 * LEGIBLE_FONT_SHARE)


def fit(label: str, degrees: float) -> LabelFit | None:
    return fit_segment_label(LAYOUT, label, degrees, load_font)


def joined(lines: tuple[str, ...]) -> str:
    return "".join(line if line.endswith("-") or i == len(lines) - 1 else f"{line} " for i, line in enumerate(lines))


def test_every_demo_prize_shows_in_full_at_a_legible_size() -> None:
    names = [prize.name for prize in PRIZES]
    widths = [end - start for start, end in segment_bounds([prize.weight for prize in PRIZES])]
    for name, degrees in zip(names, widths, strict=True):
        fitted = fit(name, degrees)
        assert fitted is not None and joined(fitted.lines) == name, (name, fitted)
        assert LEGIBLE_PX <= fitted.font_px <= USUAL_PX
        font = load_font(fitted.font_px)
        room = label_room(LAYOUT, degrees, fitted.font_px, len(fitted.lines))
        assert all(font.getlength(line) <= room for line in fitted.lines), (name, fitted)
    by_name = {name: fit(name, degrees) for name, degrees in zip(names, widths, strict=True)}
    # The long name breaks after its hyphen; the short one in a thin slice only shrinks.
    assert by_name["Noise-cancelling headphones"] == LabelFit(13, ("Noise-cancelling", "headphones"))
    extra = by_name["Extra PTO day"]
    assert extra is not None and extra.lines == ("Extra PTO day",) and extra.font_px < USUAL_PX
    assert by_name["Team lunch"] == LabelFit(USUAL_PX, ("Team lunch",))  # room to spare: the usual size


def test_a_name_too_long_for_two_lines_is_cut_on_one_line_and_a_sliver_gets_no_label() -> None:
    name = "Dinner for two at the best steakhouse in town, with wine and dessert"
    cut = fit(name, 30)
    assert cut is not None and cut.font_px == USUAL_PX and len(cut.lines) == 1
    assert cut.lines[0].endswith("…") and name.startswith(cut.lines[0][:-1])
    assert fit("Hoodie", 1.0) is None
    assert fit("🎁", 90) is None  # nothing a font can draw


def test_labels_never_move_the_wheel_the_pointer_lands_where_the_draw_says() -> None:
    labels, odds = [prize.name for prize in PRIZES], [prize.weight for prize in PRIZES]
    for winner in range(len(PRIZES)):
        gif = Image.open(io.BytesIO(render_wheel_gif(labels, odds, winner, jitter=0.37)))
        blank = Image.open(io.BytesIO(render_wheel_gif([""] * len(odds), odds, winner, jitter=0.37)))
        gif.seek(gif.n_frames - 1)
        assert gif.convert("RGB").getpixel(LAYOUT.probe) == segment_colours(len(odds))[winner]
        gif.seek(1)
        blank.seek(1)
        assert gif.convert("RGB").tobytes() == blank.convert("RGB").tobytes()  # same spin, frame for frame


def last_frame(labels: list[str], odds: list[float], winner: int) -> bytes:
    gif = Image.open(io.BytesIO(render_wheel_gif(labels, odds, winner, jitter=0.5)))
    gif.seek(gif.n_frames - 1)
    return gif.convert("RGB").tobytes()


def test_the_last_frame_leaves_out_a_label_its_caption_would_cut_rather_than_show_half_of_it() -> None:
    labels, odds = [prize.name for prize in PRIZES], [prize.weight for prize in PRIZES]
    extra, noise, lunch = (labels.index(n) for n in ("Extra PTO day", "Noise-cancelling headphones", "Team lunch"))
    shown = last_frame(labels, odds, extra)
    # "Extra PTO day" won: its neighbour's label, under the caption, is left out entirely...
    assert shown == last_frame([n if i != noise else "" for i, n in enumerate(labels)], odds, extra)
    # ...while labels clear of the caption stay.
    assert shown != last_frame([n if i != lunch else "" for i, n in enumerate(labels)], odds, extra)
