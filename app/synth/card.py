"""Identity documents drawn as cards (front, optional back) on a scanned or cropped page.

Cards are larger than real ID-1 cards: the text must stay at least 10 pt at the target dpi
to be OCR-readable, and a real card scanned at 200 dpi would not be.
"""

import math
import random
from collections.abc import Sequence
from dataclasses import replace

from PIL import Image, ImageDraw

from app.synth.layout import MIN_PT, Color, Result, Style, Typesetter
from app.synth.model import Line
from app.synth.paint import paint
from app.synth.styles import choose_style

# Pale on purpose: Tesseract binarises with a global Otsu threshold, and a card much darker
# than the surrounding paper ends up on the "ink" side, taking its text with it.
_TINTS: tuple[Color, ...] = (
    (236, 242, 250),
    (247, 238, 243),
    (238, 247, 240),
    (248, 244, 232),
    (242, 242, 246),
)
_MONO_ADVANCE = 0.62  # advance width of monospace fonts, in ems (a little margin included)


def render_cards(
    pages: Sequence[Sequence[Line]], dpi: int, rng: random.Random
) -> list[Image.Image]:
    style = choose_style(rng, "identity_document", color=True)
    style = replace(
        style,
        table_style="plain",
        kv_columns=False,
        heading_band=False,
        heading_rule=False,
        title_align="center",
    )
    tint = rng.choice(_TINTS)
    width = round(rng.uniform(5.0, 5.8) * dpi)
    scan = rng.random() < 0.45
    out = []
    for lines in pages:
        groups = sorted({line.group for line in lines})
        cards = [
            _card([ln for ln in lines if ln.group == g], g == 0, style, tint, width, dpi, rng)
            for g in groups
        ]
        out.append(_page(cards, scan, dpi, rng))
    return out


def _card(
    lines: list[Line],
    front: bool,
    style: Style,
    tint: Color,
    width: int,
    dpi: int,
    rng: random.Random,
) -> Image.Image:
    header = []
    for line in lines:
        if line.role not in ("heading", "title"):
            break
        header.append(line)
    mrz = [line for line in lines if line.role == "mrz"]
    fields = [line for line in lines[len(header) :] if line.role != "mrz"]
    pad = 0.16 * dpi
    body_pt = style.body_pt

    head = Typesetter(style, dpi, pad, width - pad, pad, body_pt).run(header)
    photo_w = width * 0.26 if front else 0.0
    photo_h = photo_w * 1.28
    field_left = pad + photo_w + (pad if front else 0.0)
    field_top = head.bottom + 0.06 * dpi
    result = _fit_fields(fields, style, dpi, field_left, width - pad, field_top, body_pt)
    mrz_result = None
    mrz_h = 0.0
    if mrz:
        chars = max(len(line.text) for line in mrz)
        fit_pt = (width - 2 * pad) / (chars * _MONO_ADVANCE) / (dpi / 72.0)
        scale = max(MIN_PT, min(body_pt * 1.25, fit_pt)) / (body_pt * 1.1)
        mrz = [replace(line, scale=scale, space_before=0.0) for line in mrz]
        probe = Typesetter(style, dpi, pad, width - pad, 0, body_pt).run(mrz)
        mrz_h = probe.bottom + 0.1 * dpi
    content_bottom = max(result.bottom, field_top + photo_h) + 0.12 * dpi
    ratio = 1.42 if len(mrz) == 2 else 1.58
    height = round(max(content_bottom + mrz_h + pad, width / ratio))
    if mrz:
        mrz_top = height - pad - mrz_h + 0.1 * dpi
        mrz_result = Typesetter(style, dpi, pad, width - pad, mrz_top, body_pt).run(mrz)

    card = Image.new("RGB", (width, height), tint)
    draw = ImageDraw.Draw(card)
    _guilloche(draw, width, height, tint, rng)
    band = _darker(tint, 12)
    draw.rectangle((0, 0, width, head.bottom + 0.02 * dpi), fill=band)
    if front:
        _photo(draw, (pad, field_top, pad + photo_w, field_top + photo_h))
    if mrz_result is not None:
        draw.rectangle((0, height - pad - mrz_h, width, height), fill=(246, 246, 244))
    paint(card, head.ops)
    paint(card, result.ops)
    if mrz_result is not None:
        paint(card, mrz_result.ops)
    return card


def _darker(color: Color, amount: int) -> Color:
    return (max(0, color[0] - amount), max(0, color[1] - amount), max(0, color[2] - amount))


def _fit_fields(
    fields: list[Line], style: Style, dpi: int, left: float, right: float, top: float, pt: float
) -> Result:
    """Shrink towards MIN_PT until no field needs wrapping (wrap at MIN_PT otherwise)."""
    result = Typesetter(style, dpi, left, right, top, pt).run(fields)
    while result.wrapped and pt > MIN_PT:
        pt = max(MIN_PT, pt - 0.5)
        result = Typesetter(style, dpi, left, right, top, pt).run(fields)
    return result


def _guilloche(
    draw: ImageDraw.ImageDraw, width: int, height: int, tint: Color, rng: random.Random
) -> None:
    """Faint security waves; close to the card colour so binarisation drops them."""
    color = _darker(tint, 10)
    waves = rng.randint(4, 8)
    for k in range(waves):
        amp = height * rng.uniform(0.03, 0.08)
        period = width * rng.uniform(0.15, 0.4)
        base = height * (k + 0.5) / waves
        phase = rng.uniform(0, math.tau)
        points = [
            (x, base + amp * math.sin(phase + math.tau * x / period)) for x in range(0, width, 6)
        ]
        draw.line(points, fill=color, width=2)


def _photo(draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float]) -> None:
    """Portrait placeholder: a soft grey silhouette without hard outlines."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    draw.rectangle(box, fill=(214, 216, 220))
    cx = (x0 + x1) / 2
    draw.ellipse((cx - w * 0.22, y0 + h * 0.18, cx + w * 0.22, y0 + h * 0.55), fill=(196, 198, 204))
    draw.pieslice(
        (x0 + w * 0.1, y0 + h * 0.6, x1 - w * 0.1, y1 + h * 0.35), 180, 360, fill=(196, 198, 204)
    )


def _page(cards: list[Image.Image], scan: bool, dpi: int, rng: random.Random) -> Image.Image:
    """Stack the card sides on a flatbed-scan A4 page or a tight crop."""
    gap = round(0.3 * dpi)
    if scan:
        size = (round(8.27 * dpi), round(11.69 * dpi))
        x = round(rng.uniform(0.4, 1.2) * dpi)
        y = round(rng.uniform(0.4, 1.0) * dpi)
        level = rng.randint(248, 255)
        background = (level, level, level)
    else:
        margin = round(rng.uniform(0.12, 0.35) * dpi)
        size = (
            max(c.width for c in cards) + 2 * margin,
            sum(c.height for c in cards) + gap * (len(cards) - 1) + 2 * margin,
        )
        x = y = margin
        level = rng.randint(225, 250)
        background = (level, level, level)
    page = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(page)
    for card in cards:
        shadow = _darker(background, 18)
        draw.rectangle((x + 6, y + 6, x + card.width + 6, y + card.height + 6), fill=shadow)
        page.paste(card, (x, y))
        y += card.height + gap
    return page
