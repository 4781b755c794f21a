"""Discovery of the TrueType/OpenType fonts installed on the machine.

Fonts are found by globbing the usual font folders, so the generator uses whatever is
installed (DejaVu, Liberation, FreeFont...) and still works with DejaVu alone. If no usable
font exists at all, Pillow's built-in scalable font is the last resort.
"""

import glob
import os
from dataclasses import dataclass
from functools import cache, lru_cache

from PIL import Image, ImageDraw, ImageFont, ImageStat

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")
_SKIP_STYLES = ("oblique", "italic", "light", "thin", "black", "heavy")
_REGULAR_STYLES = {"regular", "book", "roman", "normal", "medium", ""}
# Characters the documents need: a font missing one of them would draw tofu boxes.
_REQUIRED = "Aaé€£çœÉ°«’"
_THIN_INK = 3.5

FreeTypeFont = ImageFont.FreeTypeFont


@dataclass(frozen=True)
class FontFamily:
    name: str
    regular: str  # path; "" means Pillow's built-in font
    bold: str  # path; equals `regular` when the family has no bold face
    mono: bool
    serif: bool


def _style_tokens(style: str) -> tuple[str, bool, bool]:
    """(width, is_bold, usable) from a style name such as 'Condensed Bold'."""
    words = style.lower().split()
    if any(w in _SKIP_STYLES or w.startswith("extra") for w in words):
        return "", False, False
    width = "condensed" if "condensed" in words else ""
    bold = "bold" in words
    rest = {w for w in words if w not in ("condensed", "bold")}
    return width, bold, rest <= _REGULAR_STYLES


def _ink(path: str) -> float:
    """Ink per pixel of advance at 28 px: about 5-6 for regular faces, 2.6 for hairlines."""
    font = ImageFont.truetype(path, 28, layout_engine=ImageFont.Layout.BASIC)
    sample = "Hamburgefonstiv 0123456789"
    image = Image.new("L", (round(font.getlength(sample)) + 20, 60))
    ImageDraw.Draw(image).text((5, 10), sample, font=font, fill=255)
    return ImageStat.Stat(image).sum[0] / 255 / font.getlength(sample)


def _glyph(font: ImageFont.FreeTypeFont, ch: str) -> bytes:
    image = Image.new("L", (48, 48))
    ImageDraw.Draw(image).text((8, 8), ch, font=font, fill=255)
    return image.tobytes()


def _covers(font: ImageFont.FreeTypeFont) -> bool:
    missing = _glyph(font, "\U0010fffd")
    return all(_glyph(font, ch) != missing for ch in _REQUIRED)


@cache
def families() -> tuple[FontFamily, ...]:
    paths: list[str] = []
    for folder in FONT_DIRS:
        root = os.path.expanduser(folder)
        paths += glob.glob(os.path.join(root, "**", "*.ttf"), recursive=True)
        paths += glob.glob(os.path.join(root, "**", "*.otf"), recursive=True)
    faces: dict[str, dict[bool, str]] = {}
    for path in sorted(set(paths)):
        try:
            font = ImageFont.truetype(path, 24, layout_engine=ImageFont.Layout.BASIC)
        except OSError:
            continue
        family, style = font.getname()
        if not family or "math" in family.lower() or "emoji" in family.lower():
            continue
        width, bold, usable = _style_tokens(style or "")
        if not usable or not _covers(font):
            continue
        key = f"{family} {width.title()}".strip()
        faces.setdefault(key, {}).setdefault(bold, path)
    found = []
    for name, styles in sorted(faces.items()):
        if False not in styles:
            continue  # a bold-only family would make every line bold
        regular, bold_path = styles[False], styles.get(True, styles[False])
        if _ink(regular) < _THIN_INK:
            # Hairline faces (FreeMono) break up at 200 dpi; their bold reads like a
            # regular weight, as on thermal or dot-matrix print.
            if bold_path == regular:
                continue
            regular = bold_path
        lower = name.lower()
        mono = "mono" in lower or "courier" in lower
        serif = "serif" in lower and "sans" not in lower
        found.append(FontFamily(name, regular, bold_path, mono, serif))
    if not found:
        found.append(FontFamily("Pillow default", "", "", mono=False, serif=False))
    return tuple(found)


def text_families() -> tuple[FontFamily, ...]:
    """Proportional families for running text (all families if only mono ones exist)."""
    return tuple(f for f in families() if not f.mono) or families()


def mono_families() -> tuple[FontFamily, ...]:
    return tuple(f for f in families() if f.mono) or families()


@lru_cache(maxsize=512)
def load(path: str, size_px: int) -> ImageFont.FreeTypeFont:
    """Cached font object; BASIC layout keeps output identical with or without libraqm."""
    if not path:
        return ImageFont.load_default(size_px)  # type: ignore[return-value]
    return ImageFont.truetype(path, size_px, layout_engine=ImageFont.Layout.BASIC)
