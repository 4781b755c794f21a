"""Training data from CSV files and labelled folders (OCR'd once, then cached)."""

import subprocess
import sys
from pathlib import Path

import pytest

from app.synth.documents import make_document
from app.synth.render import encode, render_pages
from app.training.dataset import DatasetError, load_data
from app.training.ocr_cache import OcrCache
from app.training.progress import bar


def load(path: Path, cache: Path):
    return load_data(
        path, engine="tesseract", languages="fra+eng", cache_root=cache, progress=bar(False)
    )


def test_csv_with_text_and_label(tmp_path):
    csv = tmp_path / "labels.csv"
    csv.write_text('text,label\n"Facture n° 12, total TTC",invoice\n"Dear Sir,",letter\n,letter\n')
    rows = load(csv, tmp_path / "cache")
    assert [(r.label, r.text) for r in rows] == [
        ("invoice", "Facture n° 12, total TTC"),
        ("letter", "Dear Sir,"),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [("words,kind\na,b\n", "'text' and 'label'"), ("text,label\na,invoice\n", "two")],
)
def test_unusable_csv_says_what_to_fix(tmp_path, content, message):
    csv = tmp_path / "labels.csv"
    csv.write_text(content)
    with pytest.raises(DatasetError, match=message):
        load(csv, tmp_path / "cache")


def test_missing_path_and_wrong_file_type_are_clear(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load(tmp_path / "nope", tmp_path / "cache")
    (tmp_path / "data.json").write_text("{}")
    with pytest.raises(DatasetError, match="csv"):
        load(tmp_path / "data.json", tmp_path / "cache")


def test_folder_of_images_and_text_is_ocrd_once_then_served_from_the_cache(tmp_path):
    root = tmp_path / "labelled"
    (root / "invoice").mkdir(parents=True)
    (root / "letter").mkdir()
    image = encode(render_pages(make_document("invoice", "en", 8), dpi=200, degrade="none"), "png")
    (root / "invoice" / "scan.png").write_bytes(image)
    (root / "letter" / "note.txt").write_text("Dear Madam,\nThank you for your letter.")
    (root / "letter" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    cache = tmp_path / "cache"
    rows = load(root, cache)
    assert sorted(r.label for r in rows) == ["invoice", "letter"]  # the broken file is skipped
    invoice = next(r for r in rows if r.label == "invoice")
    assert "Invoice" in invoice.text or "INVOICE" in invoice.text.upper()
    cached = OcrCache(cache, engine="tesseract-fra+eng").get(image)
    assert cached is not None
    # A second load reads the cache: poison it and see the poisoned text come back.
    OcrCache(cache, engine="tesseract-fra+eng").put(image, "from the cache")
    assert any(r.text == "from the cache" for r in load(root, cache))


def test_mlops_train_with_bad_data_exits_2_with_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "train", "--data", str(tmp_path / "missing")],
        env={"PATH": "/usr/bin:/bin", "MLOPS_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr
