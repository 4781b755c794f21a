"""A held-out set that goes the whole way a user's upload goes: image → OCR → clean.

Documents are generated with a seed the training data never used, rendered to
PNG, JPEG or PDF, and read by the same reader the pipeline uses.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from app.training.dataset import LabelledText, Progress

FORMATS = ("png", "jpg", "pdf")


def _render_and_read(args: tuple[int, str, str, int, str, str, Path, int]) -> LabelledText:
    index, label, lang, seed, engine, languages, cache_root, dpi = args
    from app.bootstrap import build_reader
    from app.ocr.errors import EngineUnavailableError, UnreadableDocumentError
    from app.settings import load_settings
    from app.synth.documents import make_document
    from app.synth.render import encode, render_pages
    from app.text.cleaning import clean_text
    from app.training.ocr_cache import OcrCache

    doc = make_document(label, lang, seed)
    fmt = FORMATS[index % len(FORMATS)]
    data = encode(render_pages(doc, dpi=dpi, degrade="light"), fmt)
    cache = OcrCache(cache_root, engine=f"{engine}-{languages}")
    text = cache.get(data)
    if text is None:
        settings = load_settings(ocr_engine=engine, ocr_languages=languages, pdf_dpi=dpi)
        try:
            text = build_reader(settings)(data).text
        except EngineUnavailableError:
            raise  # no OCR at all is the operator's problem, not a 0 % score
        except UnreadableDocumentError:  # an unreadable page counts as a wrong answer
            text = ""
        cache.put(data, text)
    return LabelledText(clean_text(text), label)


def heldout_texts(
    *,
    per_class: int,
    seed: int,
    engine: str,
    languages: str,
    cache_root: Path,
    progress: Progress,
    dpi: int = 200,
) -> list[LabelledText]:
    from app.domain.labels import DOCUMENT_CLASSES, LANGUAGES

    jobs: list[tuple[int, str, str, int, str, str, Path, int]] = []
    for label in DOCUMENT_CLASSES:
        for n in range(per_class):
            lang = LANGUAGES[n % len(LANGUAGES)]
            doc_seed = seed * 1_000_003 + len(jobs)
            jobs.append((len(jobs), label, lang, doc_seed, engine, languages, cache_root, dpi))
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(
            progress(pool.map(_render_and_read, jobs), "held-out OCR", len(jobs))  # type: ignore[arg-type]
        )
