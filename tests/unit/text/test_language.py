import subprocess
import sys

import pytest

from app.text.cleaning import CleanText, detect_language, prepare_text


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Veuillez trouver ci-joint la facture correspondant à votre commande.", "fr"),
        ("Please find attached the invoice for your order.", "en"),
        ("RELEVÉ DE COMPTE\nSolde au 31 mars\nVirement reçu", "fr"),
        ("BANK STATEMENT\nBalance brought forward\nDirect debit", "en"),
        ("Curriculum vitae\nExpérience professionnelle\nFormation", "fr"),
        ("Work experience\nEducation\nSkills and interests", "en"),
    ],
)
def test_detects_french_and_english(text, language):
    assert detect_language(text) == language


@pytest.mark.parametrize("text", ["", "   ", "12/03/2024 45,00 €", "Ok", "--- | ---", "Facture"])
def test_too_short_or_ambiguous_text_is_unknown(text):
    assert detect_language(text) == "unknown"


def test_prepare_text_cleans_then_detects():
    result = prepare_text("Nous vous remercions de votre com-\nmande.\n\n\n|~|")
    assert result == CleanText(text="Nous vous remercions de votre commande.", language="fr")


def test_importing_the_text_and_ocr_modules_loads_no_heavy_library():
    probe = (
        "import sys, app.text.cleaning, app.ocr.reader, app.ocr.engines, app.ocr.decode\n"
        "heavy = {'py3langid', 'pytesseract', 'rapidocr', 'onnxruntime', 'pypdfium2', 'cv2'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
