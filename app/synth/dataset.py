"""Writing a rendered synthetic dataset to disk, plus its command-line entry point.

Layout: OUT/<label>/<label>-<lang>-<n>.<ext> and OUT/manifest.csv. Each document is written
once, in one format: formats rotate across the documents of a class, so `per_class` is the
number of files per class whatever the number of formats.
"""

import argparse
import csv
import random
from collections.abc import Callable, Sequence
from pathlib import Path

from tqdm import tqdm

from app.domain.labels import DOCUMENT_CLASSES, LANGUAGES
from app.synth.degrade import LEVELS
from app.synth.documents import iter_documents
from app.synth.render import FORMATS, encode, render_pages
from app.synth.seeding import derive_seed

MANIFEST_COLUMNS = ("path", "label", "lang", "format", "pages", "text")
# JPEG quality per degradation level: (low, high), drawn per document.
_JPEG_QUALITY = {"none": (95, 95), "light": (72, 92), "heavy": (35, 60)}


def write_dataset(
    out_dir: Path,
    *,
    per_class: int,
    seed: int,
    langs: Sequence[str] = ("en", "fr"),
    dpi: int = 200,
    formats: Sequence[str] = ("png", "jpg", "pdf"),
    degrade: str = "light",
    progress: bool = True,
) -> Path:
    _check(per_class=per_class, langs=langs, dpi=dpi, formats=formats, degrade=degrade)
    out_dir = Path(out_dir)
    for label in DOCUMENT_CLASSES:
        (out_dir / label).mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(DOCUMENT_CLASSES, 0)
    rows = []
    docs = iter_documents(per_class, seed, langs)
    total = per_class * len(DOCUMENT_CLASSES)
    for doc in tqdm(docs, total=total, disable=not progress, desc="synth", unit="doc"):
        n = counts[doc.label]
        counts[doc.label] += 1
        fmt = formats[n % len(formats)]
        pages = render_pages(doc, dpi=dpi, degrade=degrade)
        low, high = _JPEG_QUALITY[degrade]
        quality = random.Random(derive_seed("jpeg", doc.seed)).randint(low, high)
        relative = Path(doc.label) / f"{doc.label}-{doc.lang}-{n:05d}.{fmt}"
        (out_dir / relative).write_bytes(encode(pages, fmt, jpeg_quality=quality))
        kept = len(pages) if fmt == "pdf" else 1
        text = doc.text if fmt == "pdf" else doc.page_text(0)
        rows.append((relative.as_posix(), doc.label, doc.lang, fmt, kept, text))
    with open(out_dir / "manifest.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(MANIFEST_COLUMNS)
        writer.writerows(rows)
    return out_dir


def _check(
    *, per_class: int, langs: Sequence[str], dpi: int, formats: Sequence[str], degrade: str
) -> None:
    if per_class < 0:
        raise ValueError(f"per_class must be >= 0, got {per_class}")
    if not langs or any(lang not in LANGUAGES for lang in langs):
        raise ValueError(f"langs must be a non-empty subset of {LANGUAGES}, got {tuple(langs)}")
    if not formats or any(fmt not in FORMATS for fmt in formats):
        raise ValueError(f"formats must be a non-empty subset of {FORMATS}, got {tuple(formats)}")
    if degrade not in LEVELS:
        raise ValueError(f"degrade must be one of {LEVELS}, got {degrade!r}")
    if not 50 <= dpi <= 1200:
        raise ValueError(f"dpi must be between 50 and 1200, got {dpi}")


# -- command line ------------------------------------------------------------------------
def _choices(allowed: Sequence[str], what: str) -> Callable[[str], tuple[str, ...]]:
    def parse(value: str) -> tuple[str, ...]:
        items = tuple(v.strip().lower() for v in value.split(",") if v.strip())
        if not items:
            raise argparse.ArgumentTypeError(f"empty {what} list")
        unknown = [v for v in items if v not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {unknown[0]!r} (expected a comma-separated subset of "
                f"{', '.join(allowed)})"
            )
        return items

    return parse


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{number} is outside {low}..{high}")
        return number

    return parse


def build_parser(prog: str = "python -m app.synth") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Render a synthetic dataset of business documents (PNG/JPEG/PDF).",
    )
    parser.add_argument("out", type=Path, help="output folder (created if missing)")
    parser.add_argument(
        "--per-class", type=_int_in(1, 10_000_000), required=True, help="documents per class"
    )
    parser.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    parser.add_argument("--dpi", type=_int_in(50, 1200), default=200, help="default 200")
    parser.add_argument(
        "--formats",
        type=_choices(FORMATS, "format"),
        default=FORMATS,
        help="comma-separated, rotated across documents (default png,jpg,pdf)",
    )
    parser.add_argument("--degrade", choices=LEVELS, default="light", help="default light")
    parser.add_argument(
        "--langs",
        type=_choices(LANGUAGES, "language"),
        default=LANGUAGES,
        help="comma-separated (default en,fr)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None, *, prog: str = "python -m app.synth") -> int:
    args = build_parser(prog).parse_args(argv)  # exits with status 2 on bad arguments
    out = write_dataset(
        args.out,
        per_class=args.per_class,
        seed=args.seed,
        langs=args.langs,
        dpi=args.dpi,
        formats=args.formats,
        degrade=args.degrade,
        progress=not args.quiet,
    )
    print(out / "manifest.csv")
    return 0
