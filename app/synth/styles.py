"""Random per-document visual style: fonts, sizes, spacing, colours, table look."""

import random

from app.synth.fonts import FontFamily, mono_families, text_families
from app.synth.layout import Color, Style

# Accent colours dark enough (luminance < ~90) to binarise as ink.
_ACCENTS: tuple[Color, ...] = (
    (20, 40, 110), (15, 70, 60), (110, 20, 35), (40, 40, 40), (60, 30, 90), (0, 70, 120),
    (90, 50, 10),
)  # fmt: skip
_TABLE_STYLES = ("plain", "rules", "rules", "header", "header", "zebra", "grid")


def _lighter(channel: int) -> int:
    """Five sixths of the way to white: a pale band behind headings."""
    return channel + (255 - channel) * 5 // 6


def _weighted(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    total = sum(w for _, w in options)
    x = rng.random() * total
    for value, weight in options:
        x -= weight
        if x < 0:
            return value
    return options[-1][0]


def choose_style(rng: random.Random, label: str, *, color: bool) -> Style:
    families = text_families()
    family: FontFamily = rng.choice(families)
    mono = rng.choice(mono_families())
    receipt = label == "receipt"
    if receipt and rng.random() < 0.65:
        family = mono  # thermal printers mostly use fixed-width fonts
    body_pt = (
        rng.choice((10.0, 10.5, 11.0))
        if receipt or label == "identity_document"
        else rng.choice((10.5, 11.0, 11.0, 11.5, 12.0, 12.5))
    )
    if color:
        accent = rng.choice(_ACCENTS)
        band: Color = (_lighter(accent[0]), _lighter(accent[1]), _lighter(accent[2]))
        ink: Color = (20, 20, 25) if rng.random() < 0.7 else (10, 20, 50)
    else:
        grey = rng.randint(0, 45)
        ink = (grey, grey, grey)
        accent = ink
        shade = rng.randint(215, 238)
        band = (shade, shade, shade)
    paper_level = rng.randint(246, 255)
    warm = rng.randint(0, 4)
    paper = (paper_level, paper_level, max(0, paper_level - warm))
    return Style(
        family=family,
        mono=mono,
        body_pt=body_pt,
        spacing=rng.uniform(1.18, 1.5),
        title_scale=rng.uniform(1.5, 2.2),
        heading_scale=rng.uniform(1.05, 1.35),
        title_align=_weighted(rng, (("left", 0.5), ("center", 0.35), ("right", 0.15))),
        heading_rule=rng.random() < 0.3,
        heading_band=rng.random() < 0.2,
        table_style=rng.choice(_TABLE_STYLES),
        table_stretch=rng.random() < 0.5,
        kv_columns=rng.random() < 0.6,
        kv_label_bold=rng.random() < 0.3,
        meta_right=label == "invoice" and rng.random() < 0.3,
        ink=ink,
        accent=accent,
        band=band,
        paper=paper,
    )
