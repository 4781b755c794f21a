import pytest

from app.text.cleaning import clean_text


def test_words_split_across_lines_are_joined():
    assert clean_text("le numéro de factu-\nration est") == "le numéro de facturation est"
    assert clean_text("an impor-  \n  tant notice") == "an important notice"
    assert clean_text("soft hyphen: docu\u00ad\nment") == "soft hyphen: document"


def test_hyphen_before_a_capital_is_a_compound_and_stays():
    assert clean_text("Jean-\nPierre Dupont") == "Jean-Pierre Dupont"


def test_numbers_and_dashes_at_line_end_are_not_glued():
    assert clean_text("Total -\nTVA") == "Total -\nTVA"
    assert clean_text("ref 2024-\n118") == "ref 2024-\n118"


def test_ligatures_are_unfolded_but_other_symbols_kept():
    assert clean_text("\ufb01che \ufb02uide e\ufb00et \ufb03ce") == "fiche fluide effet ffice"
    assert clean_text("surface 12 m² ½ tarif") == "surface 12 m² ½ tarif"


def test_unicode_is_composed():
    assert clean_text("e\u0301te\u0301") == "été"


def test_quotes_and_dashes_are_normalised():
    assert clean_text("«\u00a0Bonjour\u00a0» \u2014 l\u2019équipe \u201cok\u201d 10\u201312") == (
        '" Bonjour " - l\'équipe "ok" 10-12'
    )
    assert clean_text("Suite\u2026") == "Suite..."


def test_control_and_invisible_characters_are_dropped():
    assert clean_text("\ufeffTo\x00tal\u200b du\x07e") == "Total due"


@pytest.mark.parametrize(
    "garbage",
    ["|~ ;= _", "—— - .. ,", "| ‘ | ; ) ii", "•", "=============="],
)
def test_garbage_lines_are_dropped(garbage):
    assert clean_text(f"Invoice 42\n{garbage}\nTotal due") == "Invoice 42\nTotal due"


@pytest.mark.parametrize(
    "line",
    [
        "==== TOTAL ====",
        "IDFRAG6G6SKPUI5<<<<<<<<<<<<<<<",
        "P<FRAMARTIN<<JEAN<<<<<<<<<<<<<<<<<<",
        "12/03/2024",
        "€ 1 234,56",
        "a",
    ],
)
def test_meaningful_lines_with_symbols_are_kept(line):
    assert clean_text(line) == line


def test_whitespace_is_collapsed_and_blank_runs_become_one_blank_line():
    raw = "\n\n  Facture \t  n°  12  \r\n\r\n\r\n\n Client :   ACME\x0c\n\n\n\nMerci   \n\n"
    assert clean_text(raw) == "Facture n° 12\n\nClient : ACME\n\nMerci"


def test_case_and_accents_are_kept():
    assert (
        clean_text("RELEVÉ de Compte — Société Générale") == "RELEVÉ de Compte - Société Générale"
    )


def test_empty_and_garbage_only_input():
    assert clean_text("") == ""
    assert clean_text(" \n\t\n ~~ | ~~ \n") == ""
