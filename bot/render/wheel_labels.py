"""Fitting a prize's name into its segment of the wheel (bot.render.wheel_gif draws it).

A label runs along the radius, ending near the rim. It gets the largest font that shows the
whole name, on one line or, for a long name, on two; the font may shrink from the wheel's
usual size down to a legible minimum. Only a name that fits neither way at the minimum is
cut short with an ellipsis, on one line at the usual size (the last frame's caption names
the winning prize in full anyway).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from PIL import Image

from bot.render.wheel_caption import MIN_FONT_PX, Box, Font, drawable_text, fit_label

LABEL_FONT_SHARE = 0.036  # of the image size: the usual label size (17 px on the 480 px wheel)
LEGIBLE_FONT_SHARE = 0.024  # the smallest a label may shrink to (12 px on the 480 px wheel)
LINE_PITCH = 1.2  # a line's height across the segment, in font sizes (with the outline)
MAX_LINES = 2
_BREAK_AFTER = re.compile(r"(?<=-)(?=\S)|\s+")  # "Noise-|cancelling| |headphones"


class LabelPlace(Protocol):
    """The ring labels sit in (bot.render.wheel_gif.WheelLayout)."""

    @property
    def size(self) -> int: ...

    @property
    def label_inner(self) -> float: ...

    @property
    def label_outer(self) -> float: ...


@dataclass(frozen=True)
class LabelFit:
    font_px: int
    lines: tuple[str, ...]  # one or two; empty when nothing legible fits


def fit_segment_label(
    layout: LabelPlace, label: str, width_degrees: float, font_for: Callable[[int], Font]
) -> LabelFit | None:
    """How to show ``label`` in a segment ``width_degrees`` wide; None when the segment is
    too thin for legible text (the result message names the prize)."""
    text = drawable_text(label)
    largest = _largest_px(layout, width_degrees, 1)
    if largest is None or not text:
        return None
    smallest = max(MIN_FONT_PX, round(layout.size * LEGIBLE_FONT_SHARE))
    for px in range(largest, smallest - 1, -1):
        font = font_for(px)
        length = font.getlength(text)
        for count in range(1, MAX_LINES + 1):
            most = _largest_px(layout, width_degrees, count)
            room = label_room(layout, width_degrees, px, count)
            if most is None or px > most:
                break  # more lines would be too tall across the segment
            if length / count > room:
                continue  # the longest of `count` lines can't be shorter than this
            lines = _split(text, count, font)
            if lines and max(font.getlength(line) for line in lines) <= room:
                return LabelFit(px, lines)
    font = font_for(largest)
    cut = fit_label(text, font, label_room(layout, width_degrees, largest, 1))
    return LabelFit(largest, (cut,) if cut else ())


def _largest_px(layout: LabelPlace, width_degrees: float, lines: int) -> int | None:
    """Biggest font that fits ``lines`` lines across the segment where the text is, if any."""
    base_px = round(layout.size * LABEL_FONT_SHARE)
    # Text is right-aligned to label_outer; judge the width a bit inside it.
    chord = 2 * layout.label_outer * 0.75 * math.sin(math.radians(min(width_degrees, 180)) / 2)
    font_px = min(base_px, int(chord * 0.8 / lines))
    return font_px if font_px >= MIN_FONT_PX else None


def label_room(layout: LabelPlace, width_degrees: float, font_px: int, lines: int = 1) -> float:
    """Radial length available to a label before the wedge gets narrower than its lines."""
    half_angle = math.radians(min(width_degrees, 180.0)) / 2
    narrowest_radius = font_px * LINE_PITCH * lines / (2 * math.sin(half_angle))
    return layout.label_outer - max(layout.label_inner, narrowest_radius)


def _split(text: str, count: int, font: Font) -> tuple[str, ...]:
    """``text`` on ``count`` lines (1 or 2), broken at a space or after a hyphen so that the
    longer line is as short as it can be; () when it has nowhere to break."""
    if count == 1:
        return (text,)
    candidates = [
        (text[: m.start()].rstrip(), text[m.end() :].lstrip()) for m in _BREAK_AFTER.finditer(text) if m.start() > 0
    ]
    candidates = [(first, rest) for first, rest in candidates if first and rest]
    if not candidates:
        return ()
    return min(candidates, key=lambda pair: max(font.getlength(pair[0]), font.getlength(pair[1])))


def sprite_touches(sprite: Image.Image, corner: tuple[int, int], box: Box) -> bool:
    """Whether any drawn pixel of ``sprite`` pasted at ``corner`` falls inside ``box``."""
    left, top = max(box[0], corner[0]), max(box[1], corner[1])
    right, bottom = min(box[2], corner[0] + sprite.width), min(box[3], corner[1] + sprite.height)
    if left >= right or top >= bottom:
        return False
    inside = (math.floor(left) - corner[0], math.floor(top) - corner[1])
    crop = (*inside, math.ceil(right) - corner[0], math.ceil(bottom) - corner[1])
    return sprite.getchannel("A").crop(crop).getbbox() is not None
