import datetime as dt
import re
import time
from collections import Counter

import pytest

from app.domain.labels import DOCUMENT_CLASSES, LANGUAGES
from app.synth.documents import Line, SyntheticDocument, iter_documents, make_document
from app.synth.mrz import check_digit, td3

# Words at least one of which every document of the class shows (vocabulary varies a lot,
# so each set lists the synonyms the builders use).
TYPICAL = {
    ("invoice", "en"): r"invoice|bill|total|amount due|subtotal|vat|tax",
    ("invoice", "fr"): r"facture|total|ttc|ht|tva|net à payer",
    ("receipt", "en"): r"total|card|cash|subtotal",
    ("receipt", "fr"): r"total|carte|espèces|cb",
    ("resume", "en"): r"experience|employment|career|education|skills",
    ("resume", "fr"): r"expérience|parcours|formation|compétences|diplômes",
    ("identity_document", "en"): r"passport|identity|licen[cs]e|residence|surname|\bln\b",
    ("identity_document", "fr"): r"passeport|identité|permis|séjour|résident|nom",
    ("letter", "en"): r"dear|to whom|sincerely|regards|faithfully",
    ("letter", "fr"): r"madame|monsieur|salutations|cordialement|sentiments",
    ("bank_statement", "en"): r"balance|statement|iban",
    ("bank_statement", "fr"): r"solde|relevé|iban",
}
AMOUNT = {"en": r"\d,?\d*\.\d\d\b", "fr": r"\d,\d\d\b"}


@pytest.mark.parametrize("label", DOCUMENT_CLASSES)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_class_and_language_has_typical_content(label: str, lang: str) -> None:
    for seed in range(25):
        doc = make_document(label, lang, seed)
        assert (doc.label, doc.lang, doc.seed) == (label, lang, seed)
        assert doc.pages and all(doc.pages)
        text = doc.text.lower()
        assert len(text) > 100
        assert re.search(TYPICAL[label, lang], text), (seed, doc.text)
        if label in ("invoice", "receipt", "bank_statement"):
            assert re.search(AMOUNT[lang], doc.text), (seed, doc.text)


def test_content_is_deterministic_and_seed_dependent() -> None:
    for label in DOCUMENT_CLASSES:
        a = make_document(label, "fr", 7)
        b = make_document(label, "fr", 7)
        assert a == b
        assert a.text == b.text
        assert make_document(label, "fr", 8).text != a.text


def test_text_joins_lines_and_pages() -> None:
    doc = SyntheticDocument(
        label="letter",
        lang="en",
        seed=0,
        pages=((Line("a"), Line("b")), (Line("c"),)),
    )
    assert doc.text == "a\nb\n\nc"
    assert doc.page_text(1) == "c"


def test_some_documents_span_two_pages() -> None:
    for label in ("resume", "letter", "bank_statement"):
        counts = Counter(len(make_document(label, "en", s).pages) for s in range(60))
        assert set(counts) <= {1, 2}, (label, counts)
        assert counts[2] >= 3, (label, counts)
        assert counts[1] >= 10, (label, counts)


def test_some_invoices_have_no_title_line() -> None:
    titles = [
        any(line.role == "title" for line in make_document("invoice", "en", s).pages[0])
        for s in range(60)
    ]
    assert 0 < titles.count(False) < 30


def test_amounts_follow_the_locale() -> None:
    fr = " ".join(make_document("invoice", "fr", s).text for s in range(20))
    assert re.search(r"\d \d{3},\d\d (€|EUR)", fr)
    en = " ".join(make_document("invoice", "en", s).text for s in range(20))
    assert re.search(r"[$£]\d{1,3},\d{3}\.\d\d", en)


def test_iter_documents_is_balanced_and_deterministic() -> None:
    docs = list(iter_documents(4, seed=3))
    assert len(docs) == 4 * len(DOCUMENT_CLASSES)
    assert Counter(d.label for d in docs) == dict.fromkeys(DOCUMENT_CLASSES, 4)
    assert Counter(d.lang for d in docs) == {"en": 12, "fr": 12}
    for label in DOCUMENT_CLASSES:
        assert Counter(d.lang for d in docs if d.label == label) == {"en": 2, "fr": 2}
    again = list(iter_documents(4, seed=3))
    assert [d.text for d in again] == [d.text for d in docs]
    other = list(iter_documents(4, seed=4))
    assert [d.text for d in other] != [d.text for d in docs]
    assert {d.lang for d in iter_documents(2, seed=0, langs=("fr",))} == {"fr"}


def test_unknown_label_or_language_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown document class"):
        make_document("memo", "en", 0)
    with pytest.raises(ValueError, match="unknown language"):
        make_document("invoice", "de", 0)


def test_content_generation_is_cheap() -> None:
    list(iter_documents(2, seed=0))  # warm the Faker instances
    start = time.perf_counter()
    docs = list(iter_documents(50, seed=1))
    per_doc = (time.perf_counter() - start) / len(docs)
    assert per_doc < 0.01, f"{per_doc * 1000:.1f} ms per document"


def test_mrz_check_digits_match_the_icao_specimen() -> None:
    # ICAO 9303 part 4 specimen passport (Anna Maria Eriksson, Utopia).
    assert check_digit("L898902C3") == "6"
    assert check_digit("740812") == "2"
    assert check_digit("120415") == "9"
    line1, line2 = td3(
        state="UTO",
        number="L898902C3",
        birth=dt.date(1974, 8, 12),
        sex="F",
        expiry=dt.date(2012, 4, 15),
        nationality="UTO",
        surname="Eriksson",
        given="Anna Maria",
        personal="ZE184226B",
    )
    assert line1 == "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
    assert line2 == "L898902C36UTO7408122F1204159ZE184226B<<<<<10"


def test_identity_documents_carry_a_valid_mrz() -> None:
    seen = 0
    for seed in range(30):
        doc = make_document("identity_document", "fr", seed)
        mrz = [line.text for page in doc.pages for line in page if line.role == "mrz"]
        if not mrz:
            continue  # driving licences have none
        seen += 1
        assert all(re.fullmatch(r"[A-Z0-9<]+", m) for m in mrz)
        assert {len(m) for m in mrz} in ({30}, {44})
    assert seen >= 10
