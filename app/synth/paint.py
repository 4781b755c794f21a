"""Drawing typeset operations onto a Pillow image (grey or colour)."""

from collections.abc import Iterable

from PIL import Image, ImageDraw

from app.synth.layout import Color, Op, Rect, Rule, Text


def fill(color: Color | None, mode: str) -> int | Color | None:
    """Pillow fill for `mode`; greys use the luminance of the colour."""
    if color is None or mode != "L":
        return color
    r, g, b = color
    return (r * 299 + g * 587 + b * 114) // 1000


def paint(image: Image.Image, ops: Iterable[Op], dx: float = 0.0, dy: float = 0.0) -> None:
    draw = ImageDraw.Draw(image)
    mode = image.mode
    for op in ops:
        if isinstance(op, Text):
            draw.text(
                (op.x + dx, op.y + dy),
                op.text,
                font=op.font,
                fill=fill(op.fill, mode),
                anchor=op.anchor,
            )
        elif isinstance(op, Rect):
            x0, y0, x1, y1 = op.box
            draw.rectangle(
                (x0 + dx, y0 + dy, x1 + dx, y1 + dy),
                fill=fill(op.fill, mode),
                outline=fill(op.outline, mode),
                width=op.width,
            )
        elif isinstance(op, Rule):
            _rule(draw, op, dx, dy, mode)


def _rule(draw: ImageDraw.ImageDraw, op: Rule, dx: float, dy: float, mode: str) -> None:
    # Always solid: dashed rules (as on receipts) make Tesseract's page layout analysis drop
    # whole columns of amounts, which would make the OCR view of the data unrealistic.
    y = op.y + dy
    draw.line((op.x0 + dx, y, op.x1 + dx, y), fill=fill(op.fill, mode), width=op.width)
