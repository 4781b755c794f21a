import shutil

import pytest
from PIL import Image

from app.ocr.decode import DecodeLimits
from app.ocr.engines import TesseractEngine
from app.ocr.errors import UnreadableDocumentError
from app.ocr.reader import OcrResult, read_document
from tests.unit.ocr.samples import FRENCH, cer, encode, render_text


class FakeEngine:
    name = "fake"

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.sizes: list[tuple[int, int]] = []
        self.fail_with = fail_with

    def image_to_text(self, image: Image.Image) -> str:
        if self.fail_with:
            raise self.fail_with
        self.sizes.append(image.size)
        return f"page {len(self.sizes)}"


def test_pages_are_read_in_order_and_joined_by_a_blank_line():
    images = [Image.new("L", (144, 72), 255), Image.new("L", (72, 72), 255)]
    pdf = encode(images[0], "PDF", save_all=True, append_images=images[1:], resolution=72)
    engine = FakeEngine()
    result = read_document(pdf, engine=engine, limits=DecodeLimits(pdf_dpi=100))
    assert result == OcrResult(
        text="page 1\n\npage 2", pages=2, media_type="application/pdf", engine="fake"
    )
    assert engine.sizes == [(200, 100), (100, 100)]


@pytest.mark.parametrize(
    ("data", "limits", "code"),
    [
        (b"", DecodeLimits(), "empty"),
        (b"x" * 50, DecodeLimits(max_bytes=10), "too_large"),
        ("Texte UTF-8 déjà reconnu, pas un scan.".encode(), DecodeLimits(), "unsupported_type"),
    ],
)
def test_unreadable_uploads_are_reported_before_any_ocr(data, limits, code):
    engine = FakeEngine()
    with pytest.raises(UnreadableDocumentError) as info:
        read_document(data, engine=engine, limits=limits)
    assert info.value.reason_code == code
    assert engine.sizes == []


def test_an_engine_crash_becomes_ocr_failed():
    png = encode(Image.new("L", (20, 20), 255))
    with pytest.raises(UnreadableDocumentError) as info:
        read_document(png, engine=FakeEngine(fail_with=RuntimeError("boom")))
    assert info.value.reason_code == "ocr_failed"
    assert isinstance(info.value.__cause__, RuntimeError)


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract binary not installed")
def test_reads_a_french_jpeg_end_to_end():
    image, truth = render_text(FRENCH, width=1600, font_px=36)
    result = read_document(
        encode(image.convert("RGB"), "JPEG", quality=85), engine=TesseractEngine()
    )
    assert (result.pages, result.media_type, result.engine) == (1, "image/jpeg", "tesseract")
    assert cer(truth, result.text) < 0.02, result.text
