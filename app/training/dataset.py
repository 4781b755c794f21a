"""Where training texts come from: generated documents, CSV files, labelled folders."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.domain.labels import DOCUMENT_CLASSES

if TYPE_CHECKING:
    from app.ports import FeedbackStore

Progress = Callable[[Iterable[object], str, int], Iterator[object]]

TEXT_SUFFIXES = {".txt"}
DOCUMENT_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".pdf"}


class DatasetError(Exception):
    """The training data cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class LabelledText:
    text: str
    label: str


def generated_texts(per_class: int, seed: int) -> list[LabelledText]:
    """Texts of synthetic documents, cleaned as OCR output is (no rendering: fast)."""
    from app.synth.documents import iter_documents
    from app.text.cleaning import clean_text

    return [
        LabelledText(clean_text(doc.text), doc.label)
        for doc in iter_documents(per_class=per_class, seed=seed)
    ]


def feedback_texts(store: FeedbackStore, limit: int = 100_000) -> list[LabelledText]:
    """Texts users labelled through feedback, cleaned, one row per distinct text.

    When the same text was labelled more than once, the newest label wins.
    """
    from app.text.cleaning import clean_text

    rows: dict[str, LabelledText] = {}
    for item in store.recent(limit):  # newest first
        text = clean_text(item.text or "")
        if text and text not in rows and item.true_label in DOCUMENT_CLASSES:
            rows[text] = LabelledText(text, item.true_label)
    return list(rows.values())


def merge(base: Iterable[LabelledText], overrides: Iterable[LabelledText]) -> list[LabelledText]:
    """``base`` plus ``overrides``, deduplicated by text; an override's label wins."""
    merged = {row.text: row for row in base}
    merged.update({row.text: row for row in overrides})
    return list(merged.values())


def load_csv(path: Path) -> list[LabelledText]:
    """A CSV with a header and the columns ``text`` and ``label``."""
    from app.text.cleaning import clean_text

    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
                raise DatasetError(f"{path} needs a header with the columns 'text' and 'label'.")
            rows = [
                LabelledText(clean_text(row["text"] or ""), (row["label"] or "").strip())
                for row in reader
            ]
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path} is not UTF-8 text: save it as UTF-8 CSV.") from exc
    return [row for row in rows if row.text and row.label]


def _ocr_file(args: tuple[Path, str, str, Path]) -> tuple[str, str | None]:
    """Worker: OCR one file (through the cache); returns (text, error)."""
    from app.ocr.errors import EngineUnavailableError, UnreadableDocumentError
    from app.settings import load_settings

    path, engine_name, languages, cache_root = args
    from app.bootstrap import build_reader
    from app.training.ocr_cache import OcrCache

    settings = load_settings(ocr_engine=engine_name, ocr_languages=languages)
    cache = OcrCache(cache_root, engine=f"{engine_name}-{languages}")
    data = path.read_bytes()
    cached = cache.get(data)
    if cached is not None:
        return cached, None
    try:
        text = build_reader(settings)(data).text
    except EngineUnavailableError:
        raise  # every file would fail: stop with the install hint instead
    except UnreadableDocumentError as exc:
        return "", str(exc)
    return cache.put(data, text), None


def ocr_files(
    files: list[Path], *, engine: str, languages: str, cache_root: Path, progress: Progress
) -> list[tuple[str, str | None]]:
    """OCR many files on every core, in order."""
    jobs = [(f, engine, languages, cache_root) for f in files]
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(progress(pool.map(_ocr_file, jobs), "OCR", len(jobs)))  # type: ignore[arg-type]


def load_folder(
    root: Path, *, engine: str, languages: str, cache_root: Path, progress: Progress
) -> list[LabelledText]:
    """One subfolder per class holding ``.txt`` files, images or PDFs (OCR'd, cached)."""
    from app.text.cleaning import clean_text

    subfolders = sorted(p for p in root.iterdir() if p.is_dir())
    if not subfolders:
        raise DatasetError(f"{root} has no class subfolders (e.g. {root}/invoice/scan1.png).")
    texts: list[LabelledText] = []
    to_ocr: list[tuple[Path, str]] = []
    for folder in subfolders:
        for file in sorted(folder.rglob("*")):
            suffix = file.suffix.lower()
            if suffix in TEXT_SUFFIXES:
                texts.append(
                    LabelledText(clean_text(file.read_text("utf-8", "replace")), folder.name)
                )
            elif suffix in DOCUMENT_SUFFIXES:
                to_ocr.append((file, folder.name))
    results = ocr_files(
        [f for f, _ in to_ocr],
        engine=engine,
        languages=languages,
        cache_root=cache_root,
        progress=progress,
    )
    for (_, label), (text, error) in zip(to_ocr, results, strict=True):
        if error is None and text.strip():
            texts.append(LabelledText(clean_text(text), label))
    return [t for t in texts if t.text]


def load_data(
    source: Path, *, engine: str, languages: str, cache_root: Path, progress: Progress
) -> list[LabelledText]:
    if not source.exists():
        raise DatasetError(f"{source} does not exist: give a folder of class subfolders or a CSV.")
    if source.is_file():
        if source.suffix.lower() != ".csv":
            raise DatasetError(f"{source} is not a .csv file: give a CSV with text,label columns.")
        rows = load_csv(source)
    else:
        rows = load_folder(
            source, engine=engine, languages=languages, cache_root=cache_root, progress=progress
        )
    if len({r.label for r in rows}) < 2:
        raise DatasetError(
            f"{source} holds fewer than two labelled classes; a classifier needs two."
        )
    unknown = sorted({r.label for r in rows} - set(DOCUMENT_CLASSES))
    if unknown:
        # Allowed (the model learns them), but worth saying: feedback only takes known classes.
        import logging

        logging.getLogger(__name__).warning("labels outside the known classes: %s", unknown)
    return rows
