import os
import shutil
import subprocess
import sys

import pytest
from PIL import Image

from app.ocr.engines import (
    OcrEngine,
    RapidOcrEngine,
    TesseractEngine,
    get_engine,
    join_boxes_into_lines,
)
from app.ocr.errors import UnreadableDocumentError
from app.text.cleaning import detect_language
from tests.unit.ocr.samples import ENGLISH, FRENCH, cer, render_text

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None,
    reason="tesseract binary not installed (apt-get install tesseract-ocr tesseract-ocr-eng "
    "tesseract-ocr-fra)",
)


def box(left, top, right, bottom):
    return [(left, top), (right, top), (right, bottom), (left, bottom)]


def test_boxes_are_joined_top_to_bottom_then_left_to_right():
    boxes = [
        box(300, 52, 400, 80),  # line 2, right
        box(0, 10, 100, 40),  # line 1, left
        box(0, 50, 200, 78),  # line 2, left
        box(150, 12, 260, 42),  # line 1, right, slightly lower
    ]
    texts = ["Total", "Invoice", "Amount due", "No. 42"]
    assert join_boxes_into_lines(boxes, texts) == "Invoice No. 42\nAmount due Total"


def test_no_boxes_no_text():
    assert join_boxes_into_lines([], []) == ""


def test_get_engine_is_cached_per_name_and_options():
    a = get_engine("tesseract", languages="eng")
    assert a is get_engine("tesseract", languages="eng")
    assert a is not get_engine("tesseract", languages="fra")
    assert isinstance(a, OcrEngine) and a.name == "tesseract"
    assert get_engine("rapidocr").name == "rapidocr"  # built lazily, nothing loaded yet
    with pytest.raises(ValueError, match="Unknown OCR engine"):
        get_engine("abbyy")


def test_missing_tesseract_binary_names_the_packages():
    engine = TesseractEngine(tesseract_cmd="/nonexistent/tesseract")
    with pytest.raises(UnreadableDocumentError) as info:
        engine.image_to_text(Image.new("L", (50, 50), 255))
    assert info.value.reason_code == "engine_unavailable"
    assert "apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-fra" in str(info.value)


def test_missing_rapidocr_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "rapidocr", None)  # makes the import fail
    with pytest.raises(UnreadableDocumentError) as info:
        RapidOcrEngine().image_to_text(Image.new("RGB", (50, 50), "white"))
    assert info.value.reason_code == "engine_unavailable"
    assert "pip install 'mlops-multicloud[rapidocr]'" in str(info.value)


def test_a_tesseract_crash_is_ocr_failed(monkeypatch):
    def fake_run(command, **kwargs):
        return subprocess.CompletedProcess(command, 1, b"", b"Error in pixReadMem")

    monkeypatch.setattr(subprocess, "run", fake_run)
    with pytest.raises(UnreadableDocumentError) as info:
        TesseractEngine().image_to_text(Image.new("L", (50, 50), 255))
    assert info.value.reason_code == "ocr_failed"
    assert str(info.value) == "Text recognition failed on this page."


@needs_tesseract
def test_missing_language_data_is_engine_unavailable():
    with pytest.raises(UnreadableDocumentError) as info:
        TesseractEngine(languages="xyz").image_to_text(Image.new("L", (50, 50), 255))
    assert info.value.reason_code == "engine_unavailable"


@needs_tesseract
def test_timeout_is_ocr_failed():
    image, _ = render_text(ENGLISH, width=1200, font_px=30)
    with pytest.raises(UnreadableDocumentError) as info:
        TesseractEngine(timeout_s=0.01).image_to_text(image)
    assert info.value.reason_code == "ocr_failed"
    assert "longer than" in str(info.value)


def test_tesseract_child_runs_single_threaded_by_default(monkeypatch):
    seen = {}

    def fake_run(command, **kwargs):
        seen.update(kwargs["env"])
        return subprocess.CompletedProcess(command, 0, b"hello\n\f", b"")

    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    monkeypatch.setattr(subprocess, "run", fake_run)
    assert TesseractEngine().image_to_text(Image.new("L", (50, 50), 255)) == "hello"
    assert seen["OMP_THREAD_LIMIT"] == "1"
    assert "OMP_THREAD_LIMIT" not in os.environ  # the app's own environment is left alone


@needs_tesseract
@pytest.mark.parametrize(("text", "language"), [(ENGLISH, "en"), (FRENCH, "fr")])
def test_tesseract_reads_a_paragraph(text, language):
    image, truth = render_text(text)
    seen = TesseractEngine().image_to_text(image)
    assert cer(truth, seen) < 0.02, seen
    assert detect_language(seen) == language


@needs_tesseract
def test_tesseract_reads_colour_input_and_blank_pages():
    image, truth = render_text(ENGLISH, width=1400, font_px=32)
    assert cer(truth, TesseractEngine().image_to_text(image.convert("RGB"))) < 0.02
    assert TesseractEngine().image_to_text(Image.new("L", (400, 300), 255)) == ""


def test_rapidocr_reads_a_short_french_text():
    pytest.importorskip("rapidocr", reason="the rapidocr extra is not installed")
    text = "Facture numéro 2024-118. Merci de régler sous trente jours."
    image, truth = render_text(text, width=1000, font_px=36)
    seen = RapidOcrEngine(threads=2).image_to_text(image)
    assert cer(truth, seen) < 0.05, seen
