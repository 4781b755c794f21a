import io

import pypdfium2 as pdfium
import pytest
from PIL import Image

from app.domain.labels import DOCUMENT_CLASSES
from app.synth.documents import make_document
from app.synth.render import encode, render_pages


def _two_page_document():
    for seed in range(60):
        doc = make_document("bank_statement", "fr", seed)
        if len(doc.pages) == 2:
            return doc
    raise AssertionError("no two-page statement in 60 seeds")


@pytest.mark.parametrize("label", DOCUMENT_CLASSES)
def test_same_seed_gives_identical_bytes(label: str) -> None:
    doc = make_document(label, "en", 11)
    first = encode(render_pages(doc, dpi=100), "png")
    again = encode(render_pages(make_document(label, "en", 11), dpi=100), "png")
    assert first == again
    other = encode(render_pages(doc, dpi=100, seed=12), "png")
    assert other != first


def test_heavy_and_jpeg_and_pdf_are_deterministic_too() -> None:
    doc = _two_page_document()
    for fmt in ("jpg", "pdf"):
        a = encode(render_pages(doc, dpi=100, degrade="heavy"), fmt, jpeg_quality=60)
        b = encode(render_pages(doc, dpi=100, degrade="heavy"), fmt, jpeg_quality=60)
        assert a == b


def test_pages_are_a4_at_the_requested_dpi() -> None:
    doc = make_document("letter", "fr", 2)
    for dpi in (100, 200):
        page = render_pages(doc, dpi=dpi, degrade="none")[0]
        assert page.size == (round(8.27 * dpi), round(11.69 * dpi))
        assert page.mode in ("L", "RGB")
        assert page.info["dpi"] == (dpi, dpi)


def test_receipts_are_narrow() -> None:
    page = render_pages(make_document("receipt", "en", 1), dpi=200)[0]
    assert page.width < 1000 < page.height * 1.5


def test_degradation_levels_change_pixels() -> None:
    doc = make_document("invoice", "en", 5)
    images = {lvl: render_pages(doc, dpi=100, degrade=lvl)[0] for lvl in ("none", "light", "heavy")}
    assert images["none"].tobytes() != images["light"].tobytes()
    assert images["light"].tobytes() != images["heavy"].tobytes()
    with pytest.raises(ValueError, match="degrade"):
        render_pages(doc, degrade="medium")


def test_pdf_holds_every_page_png_and_jpg_the_first() -> None:
    doc = _two_page_document()
    pages = render_pages(doc, dpi=100)
    assert len(pages) == 2
    pdf = pdfium.PdfDocument(encode(pages, "pdf"))
    assert len(pdf) == 2
    width, height = pdf[0].get_size()
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    for fmt, kind in (("png", "PNG"), ("jpg", "JPEG")):
        image = Image.open(io.BytesIO(encode(pages, fmt)))
        assert image.format == kind
        assert image.size == pages[0].size


def test_encode_rejects_unknown_formats() -> None:
    pages = render_pages(make_document("receipt", "fr", 0), dpi=100)
    with pytest.raises(ValueError, match="unknown format"):
        encode(pages, "gif")
    with pytest.raises(ValueError, match="no pages"):
        encode([], "png")


def test_every_class_renders_at_300_dpi() -> None:
    for label in DOCUMENT_CLASSES:
        pages = render_pages(make_document(label, "fr", 3), dpi=300)
        assert pages and all(p.width > 600 for p in pages)
