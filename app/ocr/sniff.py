"""Identify an upload from its magic bytes; names and Content-Type headers lie."""

from __future__ import annotations

SUPPORTED_MEDIA_TYPES: frozenset[str] = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/tiff",
        "image/webp",
        "image/bmp",
        "image/gif",
        "application/pdf",
    }
)

# BITMAPINFOHEADER sizes of the BMP variants in use; "BM" alone is too weak a signature.
_BMP_DIB_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})
# The PDF spec lets producers put junk before the header; readers look in the first KiB.
_PDF_HEADER_WINDOW = 1024


def sniff_media_type(data: bytes) -> str | None:
    """Return the media type of ``data`` from its leading bytes, or ``None``.

    Example::

        >>> sniff_media_type(b"%PDF-1.7\\n...")
        'application/pdf'
        >>> sniff_media_type(b"hello") is None
        True
    """
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "image/tiff"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    dib_header_size = int.from_bytes(data[14:18], "little") if len(data) >= 18 else 0
    if head.startswith(b"BM") and dib_header_size in _BMP_DIB_HEADER_SIZES:
        return "image/bmp"
    if b"%PDF-" in data[:_PDF_HEADER_WINDOW]:
        return "application/pdf"
    return None
