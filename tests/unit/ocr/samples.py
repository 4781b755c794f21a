"""Test inputs built on the fly: rendered text, crafted PNG/PDF bytes, CER."""

from __future__ import annotations

import io
import re
import struct
import zlib
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

ENGLISH = (
    "Thank you for your order. This invoice covers the consulting services delivered "
    "in March, including the migration of the billing platform and two training "
    "sessions for the finance team. Payment is due within thirty days. Please quote "
    "the invoice number on every transfer so that we can match your payment quickly."
)
FRENCH = (
    "Nous vous remercions de votre commande. Cette facture concerne les prestations "
    "de conseil réalisées en mars, y compris la migration de la plateforme et deux "
    "sessions de formation pour l'équipe financière. Le règlement est dû à trente "
    "jours. Merci de rappeler le numéro de facture sur chaque virement."
)


def render_text(
    text: str,
    *,
    width: int = 2000,
    font_px: int = 46,
    font: str = "DejaVuSans.ttf",
    margin: int = 80,
) -> tuple[Image.Image, str]:
    """Draw ``text`` word-wrapped in black on white; return (image, the lines drawn)."""
    face = ImageFont.truetype(str(FONT_DIR / font), font_px)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and probe.textlength(candidate, font=face) > width - 2 * margin:
            lines.append(current)
            current = word
        else:
            current = candidate
    lines.append(current)
    pitch = int(font_px * 1.5)
    image = Image.new("L", (width, 2 * margin + pitch * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((margin, margin + i * pitch), line, font=face, fill=0)
    return image, "\n".join(lines)


def encode(image: Image.Image, fmt: str = "PNG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def png_with_declared_size(width: int, height: int) -> bytes:
    """A small valid PNG whose IHDR (and CRC) is patched to claim another size."""
    data = bytearray(encode(Image.new("1", (8, 8), 1)))
    # Signature (8) + chunk length (4) + b"IHDR" (4), then width, height.
    struct.pack_into(">II", data, 16, width, height)
    crc = zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF
    struct.pack_into(">I", data, 29, crc)
    return bytes(data)


def build_pdf(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """Minimal PDF writer; object 1 must be the catalog."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer_extra,
        xref,
    )
    return bytes(out)


CATALOG = [
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
]


def encrypted_pdf() -> bytes:
    """A PDF with a Standard security handler whose user password is not empty."""
    encrypt = b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P -4 >>" % (b"11" * 32, b"22" * 32)
    file_id = b"<" + b"ab" * 16 + b">"
    return build_pdf([*CATALOG, encrypt], b"/Encrypt 4 0 R /ID [%s %s] " % (file_id, file_id))


def blank_pdf(pages: int, width_pt: float = 612, height_pt: float = 792) -> bytes:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    try:
        for _ in range(pages):
            pdf.new_page(width_pt, height_pt)
        buffer = io.BytesIO()
        pdf.save(buffer)
    finally:
        pdf.close()
    return buffer.getvalue()


def cer(truth: str, seen: str) -> float:
    """Character error rate after collapsing whitespace."""
    a = re.sub(r"\s+", " ", truth).strip()
    b = re.sub(r"\s+", " ", seen).strip()
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1] / max(1, len(a))
