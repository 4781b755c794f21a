"""The whole intake pipeline: bytes in, raw OCR text out."""

from __future__ import annotations

from dataclasses import dataclass

from app.ocr.decode import DecodeLimits, check_upload, iter_pages
from app.ocr.engines import OcrEngine
from app.ocr.errors import OcrFailedError, UnreadableDocumentError


@dataclass(frozen=True)
class OcrResult:
    text: str  # raw OCR text, pages joined with "\n\n"
    pages: int
    media_type: str
    engine: str


def read_document(
    data: bytes, *, engine: OcrEngine, limits: DecodeLimits = DecodeLimits()
) -> OcrResult:
    """OCR an image or PDF given as bytes; only images and PDFs are accepted.

    Raises an :class:`UnreadableDocumentError` subclass for empty, oversized,
    unsupported, damaged or over-limit files and for OCR failures. Pages are
    decoded one at a time, so a 20-page PDF never sits in memory at once.

    Example::

        result = read_document(open("invoice.pdf", "rb").read(), engine=get_engine("tesseract"))
        print(result.pages, result.text[:80])
    """
    media_type = check_upload(data, limits)
    pages = iter_pages(data, limits)
    texts: list[str] = []
    try:
        for page in pages:
            try:
                texts.append(engine.image_to_text(page))
            except UnreadableDocumentError:
                raise
            except Exception as exc:
                raise OcrFailedError(f"Text recognition failed on page {len(texts) + 1}.") from exc
            finally:
                page.close()
    finally:
        # Release the decoder (and PDFium's document) now, not whenever GC runs.
        close = getattr(pages, "close", None)
        if close is not None:
            close()
    return OcrResult(
        text="\n\n".join(texts), pages=len(texts), media_type=media_type, engine=engine.name
    )
