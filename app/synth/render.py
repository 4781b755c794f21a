"""Rendering synthetic documents to page images, and encoding pages as PNG/JPEG/PDF."""

import io
import random
from collections.abc import Sequence
from dataclasses import replace

from PIL import Image, ImageDraw

from app.synth.card import render_cards
from app.synth.degrade import LEVELS
from app.synth.degrade import degrade as apply_degradation
from app.synth.layout import MIN_PT, Result, Style, Typesetter
from app.synth.model import Line, SyntheticDocument
from app.synth.paint import fill, paint
from app.synth.seeding import derive_seed
from app.synth.styles import choose_style

FORMATS = ("png", "jpg", "pdf")
A4_INCHES = (8.27, 11.69)
DEFAULT_JPEG_QUALITY = 90


def render_pages(
    doc: SyntheticDocument, *, dpi: int = 200, degrade: str = "light", seed: int | None = None
) -> list[Image.Image]:
    """Draw every page of `doc`; same document, dpi, level and seed give identical pixels."""
    if degrade not in LEVELS:
        raise ValueError(f"unknown degrade level {degrade!r}; expected one of {LEVELS}")
    if dpi < 50:
        raise ValueError(f"dpi must be at least 50, got {dpi}")
    rng = random.Random(derive_seed("render", doc.label, doc.seed if seed is None else seed))
    if doc.label == "identity_document":
        pages = render_cards(doc.pages, dpi, rng)
    elif doc.label == "receipt":
        pages = [_receipt(page, dpi, rng) for page in doc.pages]
    else:
        pages = _flow(doc.pages, doc.label, dpi, rng)
    out = []
    for page in pages:
        page = apply_degradation(page, degrade, random.Random(rng.getrandbits(64)))
        page.info["dpi"] = (dpi, dpi)
        out.append(page)
    return out


def encode(pages: Sequence[Image.Image], fmt: str, *, jpeg_quality: int | None = None) -> bytes:
    """PNG/JPEG hold the first page only; PDF holds every page."""
    fmt = fmt.lower()
    if fmt == "jpeg":
        fmt = "jpg"
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    if not pages:
        raise ValueError("no pages to encode")
    quality = DEFAULT_JPEG_QUALITY if jpeg_quality is None else jpeg_quality
    dpi = pages[0].info.get("dpi", (200, 200))
    buffer = io.BytesIO()
    first = pages[0]
    if fmt == "png":
        # Scan noise leaves little to compress: level 1 is 4x faster than the default 6
        # for files only ~12% larger.
        first.save(buffer, "PNG", dpi=dpi, compress_level=1)
    elif fmt == "jpg":
        first.save(buffer, "JPEG", quality=quality, dpi=dpi)
    else:
        # Explicit empty dates/title: Pillow would otherwise stamp the current time.
        first.save(
            buffer,
            "PDF",
            save_all=True,
            append_images=list(pages[1:]),
            resolution=dpi[0],
            quality=quality,
            creationDate=None,
            modDate=None,
            title=None,
            producer=None,
        )
    return buffer.getvalue()


# -- A4 documents ------------------------------------------------------------------------
def _flow(
    pages: Sequence[Sequence[Line]], label: str, dpi: int, rng: random.Random
) -> list[Image.Image]:
    color = rng.random() < 0.35  # else a grey page, as most office printers and scans are
    style = choose_style(rng, label, color=color)
    width, height = round(A4_INCHES[0] * dpi), round(A4_INCHES[1] * dpi)
    left = rng.uniform(0.55, 1.1) * dpi
    right = width - rng.uniform(0.55, 1.0) * dpi
    top = rng.uniform(0.5, 0.95) * dpi
    bottom = height - rng.uniform(0.5, 0.85) * dpi
    logo = label in ("invoice", "letter", "bank_statement") and rng.random() < 0.35
    logo_size = rng.uniform(0.45, 0.8) * dpi
    logo_right = rng.random() < 0.6
    if logo:
        top += logo_size + 0.15 * dpi
    results, style = _fit(pages, style, dpi, left, right, top, bottom)
    footer_rule = rng.random() < 0.25
    mode = "RGB" if color else "L"
    images = []
    for result in results:
        page_h = max(height, round(result.bottom + (height - bottom)))
        image = Image.new(mode, (width, page_h), fill(style.paper, mode))  # type: ignore[arg-type]
        if logo:
            x = right - logo_size if logo_right else left
            _logo(image, (x, top - logo_size - 0.15 * dpi, logo_size), style, rng)
        paint(image, result.ops)
        if footer_rule:
            y = bottom + 0.15 * dpi
            ImageDraw.Draw(image).line((left, y, right, y), fill=fill(style.accent, mode), width=2)
        images.append(image)
    return images


def _fit(
    pages: Sequence[Sequence[Line]],
    style: Style,
    dpi: int,
    left: float,
    right: float,
    top: float,
    bottom: float,
) -> tuple[list[Result], Style]:
    """Largest body size (down to MIN_PT) at which every page fits, preferring no wrapping.

    As a last resort the line spacing tightens, and past that the page grows taller rather
    than dropping text: the ground truth must stay complete.
    """
    sizes = []
    pt = style.body_pt
    while pt >= MIN_PT:
        sizes.append(pt)
        pt -= 0.5
    attempts = []
    for pt in sizes:
        results = [Typesetter(style, dpi, left, right, top, pt).run(p) for p in pages]
        fits = all(r.bottom <= bottom for r in results)
        wrapped = any(r.wrapped for r in results)
        if fits and not wrapped:
            return results, style
        attempts.append((fits, results))
    for fits, results in attempts:
        if fits:
            return results, style
    tight = replace(style, spacing=1.12)
    return [Typesetter(tight, dpi, left, right, top, MIN_PT).run(p) for p in pages], tight


def _logo(
    image: Image.Image, box: tuple[float, float, float], style: Style, rng: random.Random
) -> None:
    """A text-free company mark: OCR must not find words that are not in the ground truth."""
    x, y, size = box
    draw = ImageDraw.Draw(image)
    color = fill(style.accent, image.mode)
    light = fill(style.band, image.mode)
    shape = rng.randrange(3)
    if shape == 0:
        draw.ellipse((x, y, x + size, y + size), fill=color)
        draw.ellipse((x + size * 0.3, y + size * 0.3, x + size * 0.7, y + size * 0.7), fill=light)
    elif shape == 1:
        draw.rounded_rectangle((x, y, x + size, y + size), radius=size * 0.2, fill=color)
        draw.polygon(
            (
                (x + size * 0.2, y + size * 0.8),
                (x + size * 0.5, y + size * 0.2),
                (x + size * 0.8, y + size * 0.8),
            ),
            fill=light,
        )
    else:
        for k in range(3):
            offset = k * size * 0.3
            draw.rectangle(
                (x + offset, y + offset, x + offset + size * 0.4, y + offset + size * 0.4),
                fill=color,
            )


# -- receipts ----------------------------------------------------------------------------
def _receipt(lines: Sequence[Line], dpi: int, rng: random.Random) -> Image.Image:
    style = choose_style(rng, "receipt", color=False)
    style = replace(style, title_align="center", table_style="plain", kv_columns=False)
    width = round(rng.uniform(3.1, 3.5) * dpi)
    # Generous margins: text close to the image border is a known Tesseract weak spot.
    margin = rng.uniform(0.22, 0.32) * dpi
    top = rng.uniform(0.25, 0.45) * dpi
    results, style = _fit([lines], style, dpi, margin, width - margin, top, float("inf"))
    result = results[0]
    height = round(result.bottom + rng.uniform(0.3, 0.6) * dpi)
    paper = Image.new("L", (width, height), fill(style.paper, "L"))  # type: ignore[arg-type]
    paint(paper, result.ops)
    if rng.random() < 0.5:
        return paper
    # Scanned on a flatbed: the slip lies on the grey scanner lid.
    border = round(rng.uniform(0.2, 0.5) * dpi)
    bed = Image.new("L", (width + 2 * border, height + 2 * border), rng.randint(200, 235))
    bed.paste(paper, (border, border))
    return bed
