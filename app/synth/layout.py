"""Typesetting: turns the lines of one page into positioned drawing operations.

Nothing here draws; `Typesetter.run` returns operations plus the height used so the
renderer can try several font sizes and keep the first that fits the page.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from PIL import ImageFont

from app.synth.fonts import FontFamily, load
from app.synth.model import Line

Color = tuple[int, int, int]
MIN_PT = 10.0  # below this, 200 dpi scans stop being reliably OCR-readable


@dataclass(frozen=True)
class Style:
    """Per-document rendering choices (drawn once from the render seed)."""

    family: FontFamily
    mono: FontFamily
    body_pt: float
    spacing: float  # line height as a multiple of the font size
    title_scale: float
    heading_scale: float
    title_align: str
    heading_rule: bool
    heading_band: bool
    table_style: str  # "plain" | "rules" | "header" | "zebra" | "grid"
    table_stretch: bool  # tables span the text width (else columns keep natural widths)
    kv_columns: bool  # align kv values in a column (else "label value" inline)
    kv_label_bold: bool
    meta_right: bool  # kv blocks flush right, as invoice references often are
    ink: Color
    accent: Color  # headings and rules; dark enough to stay readable
    band: Color  # light fill behind headings / table headers
    paper: Color


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # baseline
    text: str
    font: ImageFont.FreeTypeFont
    fill: Color
    anchor: str = "ls"


@dataclass(frozen=True)
class Rect:
    box: tuple[float, float, float, float]
    fill: Color | None
    outline: Color | None = None
    width: int = 1


@dataclass(frozen=True)
class Rule:
    x0: float
    y: float
    x1: float
    fill: Color
    width: int = 1


Op = Text | Rect | Rule


@dataclass
class Result:
    ops: list[Op] = field(default_factory=list)
    bottom: float = 0.0
    wrapped: bool = False  # some line had to be broken to fit the width


def wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Greedy word wrap; a single over-long word stays on its own line."""
    if font.getlength(text) <= width:
        return [text]
    out: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and font.getlength(candidate) > width:
            out.append(current)
            current = word
        else:
            current = candidate
    if current:
        out.append(current)
    return out


class Typesetter:
    def __init__(
        self, style: Style, dpi: int, left: float, right: float, top: float, body_pt: float
    ) -> None:
        self.style = style
        self.px_per_pt = dpi / 72.0
        self.left, self.right, self.top = left, right, top
        self.body_pt = body_pt
        self.body_px = body_pt * self.px_per_pt
        self.line_h = self.body_px * style.spacing

    # -- fonts ------------------------------------------------------------------------
    def font(self, pt: float, bold: bool = False, mono: bool = False) -> ImageFont.FreeTypeFont:
        family = self.style.mono if mono else self.style.family
        size = max(1, round(max(pt, MIN_PT) * self.px_per_pt))
        return load(family.bold if bold else family.regular, size)

    def _line_font(self, line: Line) -> tuple[ImageFont.FreeTypeFont, float]:
        """Font and line height for a single-text line."""
        role, s = line.role, self.style
        if role == "title":
            pt = self.body_pt * s.title_scale * line.scale
            return self.font(pt, bold=True), pt * self.px_per_pt * 1.3
        if role == "heading":
            pt = self.body_pt * s.heading_scale * line.scale
            return self.font(pt, bold=True), pt * self.px_per_pt * 1.35
        if role == "mrz":
            pt = self.body_pt * 1.1 * line.scale
            return self.font(pt, mono=True), pt * self.px_per_pt * 1.35
        factor = 0.9 if role in ("small", "label") else 1.0
        pt = self.body_pt * factor * line.scale
        return self.font(pt, bold=line.bold), max(pt, MIN_PT) * self.px_per_pt * s.spacing

    # -- driver -----------------------------------------------------------------------
    def run(self, lines: Sequence[Line]) -> Result:
        out = Result(bottom=self.top)
        i = 0
        y = self.top
        while i < len(lines):
            role = lines[i].role
            group = ("th", "td") if role in ("th", "td") else (role,)
            j = i + 1
            if role in ("th", "td", "kv", "total"):
                while j < len(lines) and lines[j].role in group and not lines[j].space_before:
                    j += 1
            block = lines[i:j]
            y += block[0].space_before * self.line_h
            if role in ("th", "td"):
                y = self._table(block, y, out)
            elif role == "kv":
                y = self._kv(block, y, out)
            elif role == "total":
                y = self._totals(block, y, out)
            else:
                y = self._single(block[0], y, out)
            i = j
        out.bottom = y
        return out

    # -- blocks -----------------------------------------------------------------------
    def _single(self, line: Line, y: float, out: Result) -> float:
        s = self.style
        font, lh = self._line_font(line)
        width = self.right - self.left
        parts = wrap(line.text, font, width)
        out.wrapped |= len(parts) > 1
        align = line.align or (s.title_align if line.role == "title" else "left")
        fill = s.accent if line.role in ("heading", "title") else s.ink
        if line.role == "heading" and s.heading_band:
            out.ops.append(Rect((self.left - 8, y, self.right + 8, y + lh * len(parts)), s.band))
        for part in parts:
            out.ops.append(self._aligned(part, font, y, lh, align, fill))
            y += lh
        if (line.role == "heading" and s.heading_rule) or line.rule_below:
            y = self._rule_after(y, out, s.accent)
        return y

    def _rule_after(self, y: float, out: Result, color: Color) -> float:
        """A rule with clear space around it: touching glyphs, it would be read as '____'."""
        gap = self.line_h * 0.3
        out.ops.append(Rule(self.left, y + gap, self.right, color, 2))
        return y + gap * 2

    def _aligned(
        self, text: str, font: ImageFont.FreeTypeFont, y: float, lh: float, align: str, fill: Color
    ) -> Text:
        ascent, descent = font.getmetrics()
        baseline = y + (lh - ascent - descent) / 2 + ascent
        if align == "center":
            return Text((self.left + self.right) / 2, baseline, text, font, fill, "ms")
        if align == "right":
            return Text(self.right, baseline, text, font, fill, "rs")
        return Text(self.left, baseline, text, font, fill, "ls")

    def _cell_fonts(self, line: Line) -> ImageFont.FreeTypeFont:
        pt = self.body_pt * line.scale * (0.9 if line.role == "small" else 1.0)
        return self.font(pt, bold=line.bold or line.role == "th")

    def _table(self, rows: Sequence[Line], y: float, out: Result) -> float:
        s = self.style
        ncols = max(len(r.cells) for r in rows)
        width = self.right - self.left
        fonts = [self._cell_fonts(r) for r in rows]
        natural = [0.0] * ncols
        for r, f in zip(rows, fonts, strict=True):
            for c, cell in enumerate(r.cells):
                natural[c] = max(natural[c], f.getlength(cell))
        # Gaps shrink before any cell has to wrap.
        gap = self.body_px * 1.4
        if ncols > 1 and sum(natural) + gap * (ncols - 1) > width:
            gap = max(self.body_px * 0.8, (width - sum(natural)) / (ncols - 1))
        aligns = [_align(rows, c) for c in range(ncols)]
        lefts = [c for c in range(ncols) if aligns[c] == "l"] or [0]
        flex = max(lefts, key=lambda c: natural[c])
        widths = natural[:]
        spare = width - sum(natural) - gap * (ncols - 1)
        if spare < 0 or s.table_stretch or ncols <= 2:
            widths[flex] = max(natural[flex] + spare, width * 0.2)
        xs = [self.left]
        for w in widths[:-1]:
            xs.append(xs[-1] + w + gap)
        pad = self.body_px * 0.2 if s.table_style != "plain" else 0.0
        table_right = xs[-1] + widths[-1]
        top = y
        for n, (r, f) in enumerate(zip(rows, fonts, strict=True)):
            cells = [wrap(cell, f, widths[c]) for c, cell in enumerate(r.cells)]
            out.wrapped |= any(len(c) > 1 for c in cells)
            lh = max(r.scale, 1.0) * self.line_h
            height = max(len(c) for c in cells) * lh + 2 * pad
            header = r.role == "th"
            if header and s.table_style in ("header", "grid", "zebra"):
                out.ops.append(Rect((self.left - 6, y, table_right + 6, y + height), s.band))
            elif s.table_style == "zebra" and n % 2 == 0:
                out.ops.append(Rect((self.left - 6, y, table_right + 6, y + height), _tint(s.band)))
            ascent, descent = f.getmetrics()
            for c, parts in enumerate(cells):
                right = aligns[c] == "r"
                x = xs[c] + widths[c] if right else xs[c]
                for k, part in enumerate(parts):
                    baseline = y + pad + k * lh + (lh - ascent - descent) / 2 + ascent
                    out.ops.append(Text(x, baseline, part, f, s.ink, "rs" if right else "ls"))
            y += height
            if header and s.table_style in ("rules", "grid"):
                out.ops.append(Rule(self.left - 6, y, table_right + 6, s.accent, 2))
            elif s.table_style == "grid":
                out.ops.append(Rule(self.left - 6, y, table_right + 6, s.accent, 1))
            if r.rule_below:
                y = self._rule_after(y, out, s.ink)
        if s.table_style in ("rules", "grid") and len(rows) > 1:
            out.ops.append(Rule(self.left - 6, y, table_right + 6, s.accent, 2))
        if s.table_style == "grid" and len(rows) > 1:
            out.ops.append(Rect((self.left - 6, top, table_right + 6, y), None, s.accent, 2))
        return y

    def _kv(self, rows: Sequence[Line], y: float, out: Result) -> float:
        s = self.style
        if any(r.aligns == "lr" for r in rows):
            return self._table(rows, y, out)
        width = self.right - self.left
        label_font = [
            self.font(self.body_pt * r.scale, bold=s.kv_label_bold or r.bold) for r in rows
        ]
        value_font = [self.font(self.body_pt * r.scale, bold=r.bold) for r in rows]
        gap = self.body_px * 0.8
        label_w = max(f.getlength(r.cells[0]) for r, f in zip(rows, label_font, strict=True))
        value_w = max(
            f.getlength(r.cells[1]) if len(r.cells) > 1 else 0.0
            for r, f in zip(rows, value_font, strict=True)
        )
        columns = s.kv_columns and label_w + gap + value_w <= width
        if columns:
            block_w = label_w + gap + value_w
        else:
            block_w = max(f.getlength(r.text) for r, f in zip(rows, value_font, strict=True))
        right = s.meta_right or any(r.align == "right" for r in rows)
        x0 = self.right - block_w if right and block_w < width * 0.6 else self.left
        for r, lf, vf in zip(rows, label_font, value_font, strict=True):
            lh = self.line_h * max(r.scale, 1.0)
            ascent, descent = vf.getmetrics()
            baseline = y + (lh - ascent - descent) / 2 + ascent
            value = r.cells[1] if len(r.cells) > 1 else ""
            if columns:
                out.ops.append(Text(x0, baseline, r.cells[0], lf, s.ink))
                out.ops.append(Text(x0 + label_w + gap, baseline, value, vf, s.ink))
                y += lh
                continue
            parts = wrap(r.text, vf, width)
            out.wrapped |= len(parts) > 1
            for part in parts:
                out.ops.append(
                    Text(x0 if len(parts) == 1 else self.left, baseline, part, vf, s.ink)
                )
                baseline += lh
                y += lh
            if r.rule_below:
                y = self._rule_after(y, out, s.ink)
        return y

    def _totals(self, rows: Sequence[Line], y: float, out: Result) -> float:
        s = self.style
        fonts = [self.font(self.body_pt * r.scale, bold=r.bold) for r in rows]
        gap = self.body_px * 2
        label_w = max(f.getlength(r.cells[0]) for r, f in zip(rows, fonts, strict=True))
        value_w = max(f.getlength(r.cells[-1]) for r, f in zip(rows, fonts, strict=True))
        block_w = min(label_w + gap + value_w, self.right - self.left)
        x0 = self.right - block_w
        for r, f in zip(rows, fonts, strict=True):
            lh = self.line_h * max(r.scale, 1.0)
            if r.bold:
                out.ops.append(Rule(x0, y + 1, self.right, s.accent, 2))
            ascent, descent = f.getmetrics()
            baseline = y + (lh - ascent - descent) / 2 + ascent
            out.ops.append(Text(x0, baseline, r.cells[0], f, s.ink))
            out.ops.append(Text(self.right, baseline, r.cells[-1], f, s.ink, "rs"))
            y += lh
        return y


def _align(rows: Sequence[Line], col: int) -> str:
    for r in rows:
        if len(r.aligns) > col:
            return r.aligns[col]
    return "l"


def _tint(color: Color) -> Color:
    """A lighter version of a band colour, for zebra stripes."""
    return (
        (color[0] + 255 * 2) // 3,
        (color[1] + 255 * 2) // 3,
        (color[2] + 255 * 2) // 3,
    )
