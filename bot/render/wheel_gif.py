"""Animated GIF of the prize wheel spinning and landing on the winner.

Geometry convention used throughout: angles are in degrees, measured
*clockwise from 12 o'clock*. Segment ``i`` covers wheel angles
``[start_i, end_i)`` with widths proportional to the odds, in order. The wheel
spins clockwise by ``rotation`` degrees; the pointer is fixed at the top, so it
points at wheel angle ``-rotation mod 360``.

Speed: the wheel (with its labels) is drawn once in RGB, already in its final
orientation, and mapped onto a small fixed palette; every other frame is a
nearest-neighbour ``Image.rotate`` of that palette image plus the static
pointer. Frames share one global palette, no per-frame quantisation is
needed, and the last frame (the one people read) is the crisp, unrotated
drawing.

Playback: the GIF has no loop extension, so viewers play it once and stop on
the last frame (the result); that frame is also held for
``_HOLD_LAST_FRAME_MS`` for viewers that loop anyway.

The last frame also names the prize in words, on a caption just under the
pointer (bot.render.wheel_caption, which also holds the fonts and text fitting); how
each prize's name fits its segment is bot.render.wheel_labels.
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

from bot.render.wheel_caption import RGB, Box, Font, caption_box, draw_caption, load_font
from bot.render.wheel_labels import fit_segment_label, sprite_touches

# Channel values are multiples of 4 so palette mapping keeps them exact, and
# neighbours in the list differ in hue so adjacent segments never look alike.
_SEGMENT_COLOURS: tuple[RGB, ...] = (
    (228, 76, 60),
    (52, 140, 220),
    (244, 196, 48),
    (168, 80, 184),
    (120, 192, 68),
    (240, 140, 36),
    (36, 168, 140),
    (224, 96, 152),
    (100, 88, 200),
    (188, 180, 40),
    (140, 100, 64),
    (96, 124, 140),
)
_BACKGROUND: RGB = (248, 248, 248)
_INK: RGB = (28, 28, 36)  # rim, hub, pointer and text outline
_TEXT: RGB = (255, 255, 255)
_POINTER_EDGE: RGB = (255, 255, 255)

_SPIN_FRAME_MS = 60
# Faster frames show the wheel without labels: text turning this fast is a
# blur to the eye anyway, and rotated text is most of the GIF's bytes.
_MAX_READABLE_STEP_DEG = 20.0
_HOLD_LAST_FRAME_MS = 4000
# Landing spot inside the winner's segment stays this far (as a fraction of
# the segment) from either edge, so nobody argues about a pixel-thin call.
_EDGE_MARGIN = 0.15


@dataclass(frozen=True)
class WheelLayout:
    """Pixel geometry of a wheel image of ``size`` × ``size``."""

    size: int

    @property
    def center(self) -> float:
        return self.size / 2

    @property
    def radius(self) -> float:
        # Leave room above the wheel for the pointer.
        return self.size * 0.44

    @property
    def rim_width(self) -> int:
        return max(2, round(self.radius * 0.025))

    @property
    def label_inner(self) -> float:
        return self.radius * 0.11

    @property
    def label_outer(self) -> float:
        # The ring between this and the rim has no text, so the colour right
        # under the pointer is always the plain segment colour.
        return self.radius * 0.84

    @property
    def pointer_tip_radius(self) -> float:
        return self.radius * 0.94

    @property
    def caption_top(self) -> float:
        """Top of the prize caption: below the pointer tip and the probe ring above it."""
        return self.center - self.radius * 0.80

    @property
    def caption_width(self) -> float:
        """Widest caption text: the chord of the wheel where the caption sits, less a margin."""
        return self.radius * 1.15

    @property
    def probe(self) -> tuple[int, int]:
        """The pixel just under the pointer tip, inside the text-free ring."""
        return (int(self.center), int(self.center - self.radius * 0.885))


def segment_colours(count: int) -> list[RGB]:
    """Fill colour of each of ``count`` segments; neighbours (incl. last/first) differ."""
    palette_size = len(_SEGMENT_COLOURS)
    indices = [i % palette_size for i in range(count)]
    if count > 1 and indices[-1] == indices[0]:
        indices[-1] = (indices[-1] + 1) % palette_size
    return [_SEGMENT_COLOURS[i] for i in indices]


def segment_bounds(odds: Sequence[float]) -> list[tuple[float, float]]:
    """``(start, end)`` wheel angles of each segment; odds are normalised first."""
    _check_odds(odds)
    total = math.fsum(odds)
    bounds = []
    cumulative = 0.0
    for share in odds:
        start = 360.0 * cumulative / total
        cumulative += share
        bounds.append((start, 360.0 * cumulative / total))
    return bounds


def pointer_segment(odds: Sequence[float], rotation_degrees: float) -> int:
    """Index of the segment under the top pointer after a clockwise rotation."""
    wheel_angle = (-rotation_degrees) % 360.0
    bounds = segment_bounds(odds)
    for index, (start, end) in enumerate(bounds):
        if start <= wheel_angle < end:
            return index
    return len(bounds) - 1  # wheel_angle rounded up to 360.0


def final_rotation(odds: Sequence[float], winner_index: int, *, turns: float = 4.0, jitter: float = 0.5) -> float:
    """Total clockwise rotation at which the pointer sits inside the winner's segment.

    ``jitter`` in [0, 1) picks the spot across the segment (0.5 = middle),
    kept ``_EDGE_MARGIN`` away from both edges. The result is the smallest
    such rotation of at least ``turns`` full turns.
    """
    if not 0 <= jitter < 1:
        raise ValueError(f"jitter must be in [0, 1), got {jitter}")
    if turns < 0:
        raise ValueError(f"turns must be >= 0, got {turns}")
    bounds = segment_bounds(odds)
    if not 0 <= winner_index < len(bounds):
        raise ValueError(f"winner_index {winner_index} out of range for {len(bounds)} segments")
    start, end = bounds[winner_index]
    spot = _EDGE_MARGIN + jitter * (1 - 2 * _EDGE_MARGIN)
    target_wheel_angle = start + spot * (end - start)
    minimum = turns * 360.0
    return minimum + (-target_wheel_angle - minimum) % 360.0


def spin_rotations(final: float, frames: int) -> list[float]:
    """Rotation of each frame, decelerating to ``final`` on the last frame.

    Quadratic ease-out is what constant friction produces (speed falls
    linearly), and unlike steeper easings its last steps still move the wheel
    visibly, so no two frames are identical (the GIF writer would merge them).
    """
    if frames < 2:
        raise ValueError(f"need at least 2 frames, got {frames}")
    last = frames - 1
    return [final * (1 - (1 - k / last) ** 2) for k in range(frames)]


def render_wheel_gif(
    labels: Sequence[str],
    odds: Sequence[float],
    winner_index: int,
    *,
    size: int = 480,
    frames: int = 48,
    turns: float = 4.0,
    jitter: float = 0.5,
) -> bytes:
    """Animated GIF bytes of the wheel spinning and stopping on ``winner_index``.

    ``odds`` need not sum to 1 (they are normalised) but must all be > 0.
    ``jitter`` chooses the stopping spot inside the winner's segment; pass
    ``bot.domain.wheel.landing_jitter(...)`` so it matches the verifiable draw.
    Raises ``ValueError`` for inconsistent arguments.
    """
    if len(labels) != len(odds):
        raise ValueError(f"{len(labels)} labels but {len(odds)} odds")
    if size < 64:
        raise ValueError(f"size must be >= 64 px, got {size}")
    layout = WheelLayout(size)
    colours = segment_colours(len(odds))
    palette = _palette(colours)
    final = final_rotation(odds, winner_index, turns=turns, jitter=jitter)
    labelled = _quantized(_draw_wheel(layout, labels, odds, colours, final % 360.0), palette)
    unlabelled = _quantized(_draw_wheel(layout, [""] * len(odds), odds, colours, final % 360.0), palette)
    rotations = spin_rotations(final, frames)
    images = [
        _frame(labelled if step <= _MAX_READABLE_STEP_DEG else unlabelled, layout, final - rotation, palette)
        for rotation, step in zip(rotations, _steps(rotations), strict=True)
    ]
    # The last frame is the unrotated drawing (rotations end exactly on `final`) with the
    # caption in place of the winner's radial label, which it would half cover.
    # Labels the caption would cover are left out rather than shown cut in half.
    shown = [label if index != winner_index else "" for index, label in enumerate(labels)]
    covered = caption_box(layout, labels[winner_index])
    result = _draw_wheel(layout, shown, odds, colours, final % 360.0, keep_clear=covered)
    draw_caption(result, layout, labels[winner_index], box_colour=_INK, edge_colour=_POINTER_EDGE, text_colour=_TEXT)
    images[-1] = _frame(_quantized(result, palette), layout, 0.0, palette)
    durations = [_SPIN_FRAME_MS] * (frames - 1) + [_HOLD_LAST_FRAME_MS]
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=durations,
        palette=bytes(_flatten(palette)),
        # With a fixed palette, optimize would only turn unchanged pixels
        # transparent; measured with 6-30 prizes that made the GIF 4-6 % larger.
        optimize=False,
    )
    return buffer.getvalue()


def _steps(rotations: Sequence[float]) -> list[float]:
    """Degrees each frame turns before the next one (0 for the last frame)."""
    return [after - before for before, after in itertools.pairwise(rotations)] + [0.0]


def _quantized(image: Image.Image, palette: Sequence[RGB]) -> Image.Image:
    return image.quantize(palette=_palette_image(palette), dither=Image.Dither.NONE)


def _check_odds(odds: Sequence[float]) -> None:
    if not odds:
        raise ValueError("the wheel needs at least one segment")
    if any(not math.isfinite(p) or p <= 0 for p in odds):
        raise ValueError(f"odds must be finite and > 0, got {list(odds)}")


def _palette(segment_fills: Sequence[RGB]) -> list[RGB]:
    """Every colour the wheel may contain, including anti-aliased text edges."""
    fixed = [_BACKGROUND, _INK, _TEXT, _POINTER_EDGE]
    text_edges = [_blend(_TEXT, _INK, t) for t in (0.25, 0.5, 0.75)]
    fills = list(dict.fromkeys(segment_fills))
    outline_edges = [_blend(fill, _INK, t) for fill in fills for t in (0.3, 0.65)]
    colours = list(dict.fromkeys(fixed + fills + text_edges + outline_edges))
    return colours


def _blend(a: RGB, b: RGB, t: float) -> RGB:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def _flatten(colours: Sequence[RGB]) -> list[int]:
    return [channel for colour in colours for channel in colour]


def _palette_image(colours: Sequence[RGB]) -> Image.Image:
    image = Image.new("P", (1, 1))
    # Deliberately not padded to 256: padding slots could attract pixels, and
    # then the frames' palette would no longer match the GIF's global one.
    image.putpalette(_flatten(colours))
    return image


def _draw_wheel(
    layout: WheelLayout,
    labels: Sequence[str],
    odds: Sequence[float],
    colours: Sequence[RGB],
    rotation: float,
    *,
    keep_clear: Box | None = None,
) -> Image.Image:
    """The wheel turned clockwise by ``rotation`` degrees, without the pointer; no label
    is drawn that would touch ``keep_clear``."""
    image = Image.new("RGB", (layout.size, layout.size), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    box = _circle_box(layout.center, layout.radius)
    bounds = [(start + rotation, end + rotation) for start, end in segment_bounds(odds)]
    for (start, end), colour in zip(bounds, colours, strict=True):
        # Pillow measures pieslice angles clockwise from 3 o'clock.
        draw.pieslice(box, start - 90, end - 90, fill=colour)
    draw.ellipse(box, outline=_INK, width=layout.rim_width)
    fonts: dict[int, Font] = {}
    for label, (start, end) in zip(labels, bounds, strict=True):
        _draw_label(image, layout, label, start, end, fonts, keep_clear)
    return image


def _circle_box(center: float, radius: float) -> tuple[float, float, float, float]:
    return (center - radius, center - radius, center + radius, center + radius)


def _draw_label(
    image: Image.Image,
    layout: WheelLayout,
    label: str,
    start: float,
    end: float,
    fonts: dict[int, Font],
    keep_clear: Box | None = None,
) -> None:
    def font_for(px: int) -> Font:
        if px not in fonts:
            fonts[px] = load_font(px)
        return fonts[px]

    fit = fit_segment_label(layout, label, end - start, font_for)
    if fit is None or not fit.lines:
        return  # segment too thin for legible text; the result message names it
    font = font_for(fit.font_px)
    sprite = _text_sprite(fit.lines, font, max(1, fit.font_px // 8))
    # Right-aligned to label_outer: the segment is widest near the rim.
    centre_radius = layout.label_outer - sprite.width / 2
    middle = ((start + end) / 2) % 360.0
    # Text runs along the radius, reading outward on the right half and inward
    # on the left half so no label is upside down on the final frame.
    # Image.rotate turns counter-clockwise.
    text_angle = 90 - middle if middle <= 180 else 270 - middle
    sprite = sprite.rotate(text_angle, resample=Image.Resampling.BICUBIC, expand=True)
    x = layout.center + centre_radius * math.sin(math.radians(middle))
    y = layout.center - centre_radius * math.cos(math.radians(middle))
    corner = (round(x - sprite.width / 2), round(y - sprite.height / 2))
    if keep_clear is None or not sprite_touches(sprite, corner, keep_clear):
        image.paste(sprite, corner, sprite)


def _text_sprite(lines: Sequence[str], font: Font, stroke: int) -> Image.Image:
    """White outlined text on a transparent sprite; two lines are centred on each other."""
    if len(lines) == 1:
        left, top, right, bottom = font.getbbox(lines[0], stroke_width=stroke)
        sprite = Image.new("RGBA", (int(right - left), int(bottom - top)), (0, 0, 0, 0))
        draw = ImageDraw.Draw(sprite)
        draw.text((-left, -top), lines[0], font=font, fill=_TEXT, stroke_width=stroke, stroke_fill=_INK)
        return sprite
    text = "\n".join(lines)
    spacing = 0  # the outline already keeps the lines apart
    measure = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = measure.multiline_textbbox(
        (0, 0), text, font=font, spacing=spacing, align="center", stroke_width=stroke
    )
    sprite = Image.new("RGBA", (int(right - left), int(bottom - top)), (0, 0, 0, 0))
    ImageDraw.Draw(sprite).multiline_text(
        (-left, -top),
        text,
        font=font,
        fill=_TEXT,
        spacing=spacing,
        align="center",
        stroke_width=stroke,
        stroke_fill=_INK,
    )
    return sprite


def _frame(wheel: Image.Image, layout: WheelLayout, turn_back: float, palette: Sequence[RGB]) -> Image.Image:
    """The final-orientation ``wheel`` turned back (counter-clockwise) by ``turn_back`` degrees."""
    frame = wheel.rotate(turn_back, resample=Image.Resampling.NEAREST, fillcolor=palette.index(_BACKGROUND))
    _draw_pointer(ImageDraw.Draw(frame), layout, palette)
    return frame


def _draw_pointer(draw: ImageDraw.ImageDraw, layout: WheelLayout, palette: Sequence[RGB]) -> None:
    c, r = layout.center, layout.radius
    half_width = r * 0.07
    tip = (c, c - layout.pointer_tip_radius)
    top = c - r - r * 0.08
    triangle = [(c - half_width, top), (c + half_width, top), tip]
    draw.polygon(triangle, fill=palette.index(_INK), outline=palette.index(_POINTER_EDGE))
    hub = r * 0.07
    draw.ellipse(_circle_box(c, hub), fill=palette.index(_INK), outline=palette.index(_POINTER_EDGE))
