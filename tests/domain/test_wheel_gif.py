import io
import itertools

import pytest
from PIL import Image, ImageFont

from bot.render.wheel_caption import caption_lines, drawable_text, fit_label
from bot.render.wheel_gif import (
    WheelLayout,
    final_rotation,
    pointer_segment,
    render_wheel_gif,
    segment_bounds,
    segment_colours,
    spin_rotations,
)

SIX_LABELS = ["Cowboy boots", "Gift card $50", "Lunch with the CRO", "Extra PTO day", "Hoodie", "Mystery box"]
SIX_ODDS = [0.1, 0.2, 0.15, 0.05, 0.3, 0.2]
ODDS_CASES = [
    [1.0],
    [0.5, 0.5],
    SIX_ODDS,
    [0.999, 0.001],
    [0.001, 0.998, 0.001],
    [1.0] * 12,
    [3, 1, 0.002, 7, 0.5],
]


def open_gif(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def frame_rgb(gif: Image.Image, index: int) -> Image.Image:
    gif.seek(index)
    return gif.convert("RGB")


def colour_under_pointer(data: bytes, size: int = 480) -> tuple[int, int, int]:
    gif = open_gif(data)
    return frame_rgb(gif, gif.n_frames - 1).getpixel(WheelLayout(size).probe)


def test_default_gif_is_animated_480px_at_least_40_frames_and_under_1mb() -> None:
    data = render_wheel_gif(SIX_LABELS, SIX_ODDS, 2)
    gif = open_gif(data)

    assert gif.format == "GIF"
    assert gif.is_animated
    assert gif.n_frames >= 40
    assert gif.size == (480, 480)
    assert len(data) <= 1_000_000


def test_gif_plays_once_and_holds_the_result_frame() -> None:
    gif = open_gif(render_wheel_gif(SIX_LABELS, SIX_ODDS, 2))

    assert "loop" not in gif.info  # no loop extension: viewers stop on the last frame
    gif.seek(1)
    assert gif.info["duration"] == 60
    gif.seek(gif.n_frames - 1)
    assert gif.info["duration"] == 4000


@pytest.mark.parametrize("odds", ODDS_CASES)
@pytest.mark.parametrize("jitter", [0.0, 0.25, 0.5, 0.999])
def test_final_rotation_puts_every_winner_under_the_pointer(odds: list[float], jitter: float) -> None:
    for winner in range(len(odds)):
        rotation = final_rotation(odds, winner, turns=4.0, jitter=jitter)

        assert pointer_segment(odds, rotation) == winner
        assert 4 * 360 <= rotation < 5 * 360


@pytest.mark.parametrize("jitter", [0.0, 0.999])
def test_landing_spot_keeps_away_from_segment_edges(jitter: float) -> None:
    start, end = segment_bounds(SIX_ODDS)[3]
    width = end - start

    wheel_angle_at_pointer = -final_rotation(SIX_ODDS, 3, jitter=jitter) % 360

    assert start + 0.1 * width < wheel_angle_at_pointer < end - 0.1 * width


def test_pointer_segment_reads_the_wheel_angle_at_the_top() -> None:
    odds = [0.25, 0.75]  # segment 0 spans 0-90 degrees clockwise from the top

    assert pointer_segment(odds, 0) == 0
    assert pointer_segment(odds, -45) == 0  # wheel turned back 45: pointer at 45
    assert pointer_segment(odds, 45) == 1  # wheel turned on 45: pointer at 315
    assert pointer_segment(odds, 360 * 3 - 89) == 0


def test_spin_decelerates_and_ends_on_the_final_rotation() -> None:
    rotations = spin_rotations(1500.0, 48)
    steps = [b - a for a, b in itertools.pairwise(rotations)]

    assert rotations[0] == 0
    assert rotations[-1] == pytest.approx(1500.0)
    assert all(later < earlier for earlier, later in itertools.pairwise(steps))
    assert steps[-1] > 0.5  # still a visible move, so the GIF writer keeps every frame


@pytest.mark.parametrize(
    ("odds", "winner", "jitter"),
    [
        (SIX_ODDS, 0, 0.5),
        (SIX_ODDS, 3, 0.1),
        (SIX_ODDS, 4, 0.9),
        ([1.0] * 5 + [0.02], 5, 0.5),  # 1.4 degree segment
        ([0.02, 1.0, 1.0], 0, 0.5),
        ([1.0] * 12, 11, 0.7),
    ],
)
def test_final_frame_shows_the_winner_colour_under_the_pointer(odds: list[float], winner: int, jitter: float) -> None:
    labels = [f"Prize {i}" for i in range(len(odds))]

    data = render_wheel_gif(labels, odds, winner, jitter=jitter)

    assert colour_under_pointer(data) == segment_colours(len(odds))[winner]


def test_every_frame_shows_the_segment_its_rotation_puts_under_the_pointer() -> None:
    odds, winner, jitter = SIX_ODDS, 4, 0.6
    rotations = spin_rotations(final_rotation(odds, winner, jitter=jitter), 48)
    gif = open_gif(render_wheel_gif(SIX_LABELS, odds, winner, jitter=jitter))
    colours = segment_colours(len(odds))
    edges = [start for start, _ in segment_bounds(odds)] + [360.0]

    checked = 0
    for index, rotation in enumerate(rotations):
        wheel_angle = -rotation % 360
        if min(abs(wheel_angle - edge) for edge in edges) < 3:
            continue  # a pixel's rounding could tip it into the neighbour
        expected = colours[pointer_segment(odds, rotation)]
        assert frame_rgb(gif, index).getpixel(WheelLayout(480).probe) == expected, index
        checked += 1
    assert checked > 30


def test_single_prize_wheel() -> None:
    data = render_wheel_gif(["The only prize"], [1.0], 0)
    gif = open_gif(data)

    assert gif.n_frames >= 40
    assert colour_under_pointer(data) == segment_colours(1)[0]


def test_twelve_prizes_with_long_unicode_and_emoji_labels() -> None:
    labels = [f"🎁 Prix numéro {i} — très long libellé ünïcödé Ж 🤠👩‍👩‍👧🇫🇷" for i in range(12)]

    data = render_wheel_gif(labels, [1.0] * 12, 7, jitter=0.2)

    assert open_gif(data).n_frames >= 40
    assert len(data) <= 1_000_000
    assert colour_under_pointer(data) == segment_colours(12)[7]


def test_labels_appear_only_once_the_wheel_slows_down() -> None:
    labelled = open_gif(render_wheel_gif(SIX_LABELS, SIX_ODDS, 1))
    blank = open_gif(render_wheel_gif([""] * 6, SIX_ODDS, 1))

    assert frame_rgb(labelled, 1).tobytes() == frame_rgb(blank, 1).tobytes()
    last = labelled.n_frames - 1
    assert frame_rgb(labelled, last).tobytes() != frame_rgb(blank, last).tobytes()


def test_rendering_is_deterministic() -> None:
    assert render_wheel_gif(SIX_LABELS, SIX_ODDS, 5, jitter=0.3) == render_wheel_gif(
        SIX_LABELS, SIX_ODDS, 5, jitter=0.3
    )


def test_neighbouring_segments_never_share_a_colour() -> None:
    for count in range(2, 40):
        colours = segment_colours(count)
        neighbours = zip(colours, colours[1:] + colours[:1], strict=False)

        assert all(a != b for a, b in neighbours), count


def test_long_label_is_truncated_with_an_ellipsis_to_fit() -> None:
    font = ImageFont.load_default(size=16)
    label = "Lunch with the Chief Revenue Officer at the best place in town"

    fitted = fit_label(label, font, 120)

    assert fitted.endswith("…")
    assert label.startswith(fitted[:-1])
    assert font.getlength(fitted) <= 120
    assert fit_label("Hoodie", font, 120) == "Hoodie"
    assert fit_label(label, font, 3) == ""


def test_drawable_text_drops_emoji_and_joins_lines() -> None:
    assert drawable_text("🤠 Cowboy\nboots 👩‍👩‍👧 Ж") == "Cowboy boots Ж"


@pytest.mark.parametrize(
    ("labels", "odds", "winner", "jitter"),
    [
        (["a", "b"], [1.0], 0, 0.5),
        (["a"], [1.0], 1, 0.5),
        (["a"], [1.0], 0, 1.0),
        (["a", "b"], [1.0, 0.0], 0, 0.5),
        ([], [], 0, 0.5),
    ],
)
def test_invalid_arguments_are_rejected(labels: list[str], odds: list[float], winner: int, jitter: float) -> None:
    with pytest.raises(ValueError):
        render_wheel_gif(labels, odds, winner, jitter=jitter)


def caption_crop(data: bytes, size: int = 480) -> Image.Image:
    """The middle of the caption's first line on the last frame."""
    layout = WheelLayout(size)
    gif = open_gif(data)
    top = round(layout.caption_top)
    centre = round(layout.center)
    return frame_rgb(gif, gif.n_frames - 1).crop((centre - 50, top + 6, centre + 50, top + 30))


def test_the_last_frame_names_the_prize_under_the_pointer() -> None:
    # The same winning name on two different wheels (other prizes, odds, positions, landing spot)...
    boots_first = render_wheel_gif(["Cowboy boots", "Hoodie"], [0.3, 0.7], 0, jitter=0.2)
    boots_second = render_wheel_gif(["Mystery box", "Cowboy boots", "Gift card"], [0.5, 0.2, 0.3], 1, jitter=0.8)
    hoodie = render_wheel_gif(["Cowboy boots", "Hoodie"], [0.3, 0.7], 1, jitter=0.2)

    caption = caption_crop(boots_first)
    # ...shows the same words on the same dark caption: light text on ink, not the wheel.
    assert caption.tobytes() == caption_crop(boots_second).tobytes()
    assert caption.tobytes() != caption_crop(hoodie).tobytes()
    colours = {colour: count for count, colour in caption.getcolors(maxcolors=4096) or []}
    ink, text = colours.get((28, 28, 36), 0), colours.get((255, 255, 255), 0)
    assert ink > 0.4 * caption.width * caption.height and text > 0.05 * caption.width * caption.height
    assert colour_under_pointer(boots_first) == segment_colours(2)[0]  # the pointer's tip still shows the segment


def test_a_long_prize_name_wraps_onto_two_lines_and_is_cut_after_that() -> None:
    font = ImageFont.load_default(size=17)
    name = "Dinner for two at the best steakhouse in town, with wine and dessert"

    lines = caption_lines(name, font, 240)

    assert len(lines) == 2 and lines[0].startswith("Dinner for two") and lines[1].endswith("…")
    assert all(font.getlength(line) <= 240 for line in lines)
    assert caption_lines("Hoodie", font, 240) == ["Hoodie"]
    assert caption_lines("🎁", font, 240) == []
