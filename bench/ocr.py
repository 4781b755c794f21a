"""P3: OCR seconds per A4 page at 300 dpi on one core, and character error rate.

Run: `make bench-ocr` (or `.venv/bin/python bench/ocr.py --pages 6`).
Ours is `app.ocr.reader.read_document` with the default engine settings; the
anchor is the plain `tesseract` CLI on the same PNG pages (same `-l` languages,
OMP_THREAD_LIMIT=1). Both run pinned to one CPU core.
Goal: <= 1.6 s/page, CER <= 1 % on clean pages and <= 5 % on degraded ones.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("OMP_THREAD_LIMIT", "1")


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def cer(truth: str, seen: str) -> float:
    from rapidfuzz.distance import Levenshtein

    truth, seen = normalise(truth), normalise(seen)
    return Levenshtein.distance(truth, seen) / max(1, len(truth))


@dataclass
class Page:
    name: str
    png: bytes
    truth: str


def make_pages(count: int, degrade: str, seed: int) -> list[Page]:
    from app.domain.labels import DOCUMENT_CLASSES
    from app.synth.documents import make_document
    from app.synth.render import encode, render_pages

    pages = []
    for i in range(count):
        label = DOCUMENT_CLASSES[i % len(DOCUMENT_CLASSES)]
        doc = make_document(label, ("en", "fr")[i % 2], seed + i)
        image = render_pages(doc, dpi=300, degrade=degrade)[0]
        truth = "\n".join(line.text for line in doc.pages[0])
        pages.append(Page(f"{label}-{degrade}", encode([image], "png"), truth))
    return pages


def run_ours(pages: list[Page]) -> tuple[float, list[float]]:
    from app.bootstrap import build_reader
    from app.settings import load_settings

    read = build_reader(load_settings())
    read(pages[0].png)  # warm-up: first call pays imports and engine start
    started = time.perf_counter()
    texts = [read(p.png).text for p in pages]
    seconds = (time.perf_counter() - started) / len(pages)
    return seconds, [cer(p.truth, t) for p, t in zip(pages, texts, strict=True)]


def run_cli(pages: list[Page]) -> tuple[float, list[float]]:
    from app.settings import load_settings

    languages = load_settings().ocr_languages
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, page in enumerate(pages):
            path = Path(tmp) / f"{i}.png"
            path.write_bytes(page.png)
            paths.append(path)
        started = time.perf_counter()
        texts = [
            subprocess.run(
                ["tesseract", str(p), "stdout", "-l", languages],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            for p in paths
        ]
        seconds = (time.perf_counter() - started) / len(pages)
    return seconds, [cer(p.truth, t) for p, t in zip(pages, texts, strict=True)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=6, help="pages per condition (default 6)")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, children too
    print(
        f"rendering {args.pages} clean and {args.pages} degraded A4 pages at 300 dpi ...",
        flush=True,
    )
    conditions = {
        "clean": make_pages(args.pages, "none", args.seed),
        "degraded": make_pages(args.pages, "heavy", args.seed + 500),
    }
    print(f"\nP3 OCR: A4 at 300 dpi, one core, {args.pages} pages per condition")
    print(f"{'engine':<26} {'pages':<9} {'s/page':>7} {'mean CER':>9} {'max CER':>8}")
    summary = {}
    for condition, pages in conditions.items():
        for name, runner in (("ours (read_document)", run_ours), ("tesseract CLI", run_cli)):
            seconds, cers = runner(pages)
            mean = sum(cers) / len(cers)
            summary[(name, condition)] = (seconds, mean)
            print(f"{name:<26} {condition:<9} {seconds:>7.2f} {mean:>8.2%} {max(cers):>8.2%}")
    ours_s = (
        summary[("ours (read_document)", "clean")][0]
        + summary[("ours (read_document)", "degraded")][0]
    ) / 2
    cli_s = (summary[("tesseract CLI", "clean")][0] + summary[("tesseract CLI", "degraded")][0]) / 2
    clean_cer = summary[("ours (read_document)", "clean")][1]
    degraded_cer = summary[("ours (read_document)", "degraded")][1]
    print(
        f"speed ratio CLI/ours: {cli_s / ours_s:.2f}x (ours {ours_s:.2f} s/page,"
        f" goal <= 1.6: {'met' if ours_s <= 1.6 else 'MISSED'})"
    )
    print(
        f"CER clean {clean_cer:.2%} (goal <= 1 %: {'met' if clean_cer <= 0.01 else 'MISSED'}),"
        f" degraded {degraded_cer:.2%} (goal <= 5 %: {'met' if degraded_cer <= 0.05 else 'MISSED'})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
