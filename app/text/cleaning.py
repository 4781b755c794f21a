"""Normalise raw OCR text and tell French from English.

Cleaning keeps case and accents (the classifier decides about those) and the
line structure (one line per OCR line, at most one blank line between blocks).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from typing import Any

LANGUAGES = ("fr", "en")
UNKNOWN = "unknown"

# Only the typographic ligatures get compatibility (NFKC) folding: NFKC on the
# whole text would also rewrite "²", "½" or "™", which carry meaning.
_LIGATURES = {cp: unicodedata.normalize("NFKC", chr(cp)) for cp in range(0xFB00, 0xFB07)}
_REPLACEMENTS: tuple[tuple[str, str], ...] = (
    ("\u2018\u2019\u201a\u201b\u2032\u2039\u203a\u00b4`", "'"),
    ("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    ("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe63\uff0d", "-"),
    ("\t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008", " "),
    ("\u2009\u200a\u202f\u205f\u3000", " "),
    ("\r\v\f\x1c\x1d\x1e\x85\u2028\u2029", "\n"),
    ("\u2026", "..."),
)
_PUNCTUATION: dict[int, str] = {
    **{ord(ch): new for chars, new in _REPLACEMENTS for ch in chars},
    **_LIGATURES,
}
# A word cut at the end of a line: letter, hyphen (or soft hyphen), newline, letter.
_HYPHENATED = re.compile(r"([^\W\d_])(-|\u00ad)[ ]*\n[ ]*([^\W\d_])")
_SPACES = re.compile(r" {2,}")
_WORD = re.compile(r"[^\W\d_]{3,}")

_MIN_LETTERS = 3
_MIN_CONFIDENCE = 0.6  # two-way probability; below it short texts are a coin toss


@dataclass(frozen=True)
class CleanText:
    text: str
    language: str  # "fr" | "en" | "unknown"


def clean_text(raw: str) -> str:
    """Normalise OCR output: Unicode, quotes, dashes, hyphenation, garbage, spaces.

    Example::

        >>> clean_text("Num\\u00e9ro de factu-\\nration :  \\ufb01n\\n\\n\\n|~ ;=\\n«OK»")
        'Numéro de facturation : fin\\n\\n"OK"'
    """
    text = raw.replace("\r\n", "\n")
    text = unicodedata.normalize("NFC", text).translate(_PUNCTUATION)
    text = _HYPHENATED.sub(_join_hyphenated, text)
    text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch)[0] != "C")

    lines: list[str] = []
    pending_blank = False
    for line in text.split("\n"):
        line = _SPACES.sub(" ", line).strip()
        if not line:
            pending_blank = bool(lines)
            continue
        if _is_garbage(line):
            continue
        if pending_blank:
            lines.append("")
            pending_blank = False
        lines.append(line)
    return "\n".join(lines)


def _join_hyphenated(match: re.Match[str]) -> str:
    before, hyphen, after = match.groups()
    if hyphen == "\u00ad" or after.islower():
        return before + after  # "factu-\nration" -> "facturation"
    return before + "-" + after  # "Jean-\nPierre" is a compound, keep the hyphen


def _is_garbage(line: str) -> bool:
    """Mostly symbols, with no real word in it: OCR reading noise or a rule line."""
    chars = [ch for ch in line if not ch.isspace()]
    alnum = sum(ch.isalnum() for ch in chars)
    if alnum == 0:
        return True
    if alnum / len(chars) >= 0.5:
        return False
    # "==== TOTAL ====" or an MRZ line is mostly symbols but still worth keeping.
    return _WORD.search(line) is None


_identifier: Any = None
_identifier_lock = threading.Lock()


def _get_identifier() -> Any:
    global _identifier
    if _identifier is None:
        with _identifier_lock:
            if _identifier is None:
                # Our own instance: set_languages() on py3langid's module-level
                # identifier would change it for every other user in the process.
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                identifier.set_languages(list(LANGUAGES))
                _identifier = identifier
    return _identifier


def detect_language(text: str) -> str:
    """Return "fr", "en", or "unknown" for text too short or too ambiguous to tell.

    The first call loads the py3langid model (about 1 s).

    Example::

        >>> detect_language("Veuillez trouver ci-joint la facture du mois de mars.")
        'fr'
        >>> detect_language("12/03/2024")
        'unknown'
    """
    if sum(ch.isalpha() for ch in text) < _MIN_LETTERS:
        return UNKNOWN
    language, confidence = _get_identifier().classify(text)
    if language not in LANGUAGES or confidence < _MIN_CONFIDENCE:
        return UNKNOWN
    return str(language)


def prepare_text(raw: str) -> CleanText:
    """Clean raw OCR text and detect its language.

    Example::

        >>> prepare_text("Thank you for your order.\\n").language
        'en'
    """
    text = clean_text(raw)
    return CleanText(text=text, language=detect_language(text))
