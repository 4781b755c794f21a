import pytest
from PIL import Image

from app.ocr.sniff import SUPPORTED_MEDIA_TYPES, sniff_media_type
from tests.unit.ocr.samples import CATALOG, build_pdf, encode

IMAGE = Image.new("RGB", (16, 16), "white")


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [
        ("PNG", "image/png"),
        ("JPEG", "image/jpeg"),
        ("TIFF", "image/tiff"),
        ("WEBP", "image/webp"),
        ("BMP", "image/bmp"),
        ("GIF", "image/gif"),
        ("PDF", "application/pdf"),
    ],
)
def test_sniffs_every_supported_format_from_its_bytes(fmt, media_type):
    assert sniff_media_type(encode(IMAGE, fmt)) == media_type
    assert media_type in SUPPORTED_MEDIA_TYPES


def test_big_endian_tiff_and_pdf_with_leading_junk():
    assert sniff_media_type(b"MM\x00*" + b"\x00" * 32) == "image/tiff"
    assert sniff_media_type(b"\x00" * 100 + build_pdf(CATALOG)) == "application/pdf"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello world, plain text is not a document",
        "Facture n° 12".encode(),
        b"BM" + b"\x00" * 40,  # "BM" without a real DIB header
        b"RIFF\x00\x00\x00\x00WAVEfmt ",
        b"PK\x03\x04" + b"\x00" * 40,  # zip / docx
        bytes(range(256)),
    ],
)
def test_unknown_bytes_are_not_guessed(data):
    assert sniff_media_type(data) is None
