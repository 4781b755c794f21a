"""Decode uploaded bytes into page images, refusing anything unsafe or broken.

Every limit is checked before pixels are allocated: image sizes come from the
header, PDF page counts and page sizes from the document catalogue. No raw
Pillow or PDFium exception leaves this module; callers only see
:class:`~app.ocr.errors.UnreadableDocumentError` subclasses.
"""

from __future__ import annotations

import contextlib
import io
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image, ImageOps

from app.ocr.errors import (
    EmptyDocumentError,
    TooLargeError,
    TooManyPagesError,
    TooManyPixelsError,
    TruncatedDocumentError,
    UnreadableDocumentError,
    UnsupportedTypeError,
)
from app.ocr.sniff import sniff_media_type

# PDFium is not thread-safe, even across documents, and the app decodes in a
# thread pool. Reentrant because an abandoned document may be closed by GC
# (``__del__``) while the same thread already holds the lock.
_PDFIUM_LOCK = threading.RLock()

# Below this a rasterised page is too coarse to OCR; used when a PDF page has to
# be rendered under pdf_dpi to stay within max_pixels.
_MIN_PDF_DPI = 72

_GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "F"})


@dataclass(frozen=True)
class DecodeLimits:
    """Limits applied to one upload.

    Example::

        limits = DecodeLimits(max_pages=5, pdf_dpi=300)
    """

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000  # per page
    max_pages: int = 20
    pdf_dpi: int = 200


def check_upload(data: bytes, limits: DecodeLimits) -> str:
    """Check size and type of an upload and return its sniffed media type.

    Example::

        >>> check_upload(b"%PDF-1.4 ...", DecodeLimits())
        'application/pdf'
    """
    if not data:
        raise EmptyDocumentError("The file is empty (0 bytes).")
    if len(data) > limits.max_bytes:
        raise TooLargeError(
            f"The file is {_megabytes(len(data))} MB; the limit is "
            f"{_megabytes(limits.max_bytes)} MB."
        )
    media_type = sniff_media_type(data)
    if media_type is None:
        raise UnsupportedTypeError(
            "The file is not a supported image or PDF "
            "(PNG, JPEG, TIFF, WebP, BMP, GIF or PDF are accepted)."
        )
    return media_type


def iter_pages(data: bytes, limits: DecodeLimits = DecodeLimits()) -> Iterator[Image.Image]:
    """Validate ``data`` now and return an iterator decoding one page at a time.

    Size, type and page-count errors are raised by this call; a page that turns
    out to be damaged raises when the iterator reaches it. Pages are mode "L"
    (grey sources and PDFs) or "RGB".

    Example::

        for page in iter_pages(pdf_bytes, DecodeLimits(pdf_dpi=300)):
            print(page.size)
    """
    media_type = check_upload(data, limits)
    if media_type == "application/pdf":
        return _PdfPages(data, limits)
    return _image_pages(data, media_type, limits)


def load_pages(data: bytes, limits: DecodeLimits = DecodeLimits()) -> list[Image.Image]:
    """Decode every page of an image or PDF.

    Example::

        pages = load_pages(open("scan.pdf", "rb").read(), DecodeLimits())
    """
    return list(iter_pages(data, limits))


# --- images -----------------------------------------------------------------


def _image_pages(data: bytes, media_type: str, limits: DecodeLimits) -> Iterator[Image.Image]:
    img = _open_image(data)
    # Multi-page TIFFs are documents; animated GIF/WebP frames are not pages.
    frames = _count_frames(img) if media_type == "image/tiff" else 1
    if frames > limits.max_pages:
        raise TooManyPagesError(
            f"The image has {frames} pages; at most {limits.max_pages} are accepted."
        )
    _check_pixels(img.size, limits, where="The image")
    return _decode_frames(img, frames, limits)


def _decode_frames(img: Image.Image, frames: int, limits: DecodeLimits) -> Iterator[Image.Image]:
    try:
        for index in range(frames):
            if index:
                _seek(img, index)
                _check_pixels(img.size, limits, where=f"Page {index + 1} of the image")
            yield _decode_frame(img)
    finally:
        img.close()


def _open_image(data: bytes) -> Image.Image:
    try:
        # Our own pixel check runs right after this, with the configured limit;
        # Pillow's global bomb guard only catches absurd sizes (> 2x its default).
        return Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise TooManyPixelsError(
            "The image is too large to process (its declared size is too many pixels)."
        ) from exc
    except Exception as exc:
        raise TruncatedDocumentError(
            "The image is damaged or truncated and cannot be read."
        ) from exc


def _count_frames(img: Image.Image) -> int:
    try:
        return int(getattr(img, "n_frames", 1))
    except Exception as exc:
        raise TruncatedDocumentError(
            "The TIFF file is damaged or truncated and its pages cannot be read."
        ) from exc


def _seek(img: Image.Image, index: int) -> None:
    try:
        img.seek(index)
    except Exception as exc:
        raise TruncatedDocumentError(
            f"Page {index + 1} of the image is damaged or truncated."
        ) from exc


def _decode_frame(img: Image.Image) -> Image.Image:
    try:
        img.load()  # forces the full decode, so truncated data fails here
        page = ImageOps.exif_transpose(img) or img
        return _to_ocr_mode(page)
    except UnreadableDocumentError:
        raise
    except Image.DecompressionBombError as exc:
        raise TooManyPixelsError("The image is too large to process.") from exc
    except Exception as exc:  # OSError, SyntaxError, ValueError, struct.error, ...
        raise TruncatedDocumentError(
            "The image is damaged or truncated and cannot be decoded."
        ) from exc


def _to_ocr_mode(img: Image.Image) -> Image.Image:
    """Grey stays grey ("L"), colour becomes "RGB"; transparency goes onto white."""
    mode = img.mode
    if mode == "L":
        return img
    if mode == "RGB":
        return img
    if mode.startswith("I;16") or mode in ("I", "F"):
        return _scale_to_8bit(img)
    if mode == "P":
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "RGBa", "LA", "La", "PA"):
        # Dropping alpha would turn black-on-transparent text into black-on-black.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        background.alpha_composite(rgba)
        return background.convert("L" if mode in ("LA", "La") else "RGB")
    return img.convert("L" if mode in _GREY_MODES else "RGB")


def _scale_to_8bit(img: Image.Image) -> Image.Image:
    # Pillow's convert("L") clips 16-bit values at 255, which whitens the page.
    import numpy as np

    arr = np.asarray(img)
    if arr.dtype == np.uint16 or img.mode.startswith("I;16"):
        out = (arr.astype(np.uint32) >> 8).astype(np.uint8)
    else:
        arr = arr.astype(np.float64)
        low, high = float(arr.min()), float(arr.max())
        if low >= 0 and high <= 255:
            out = arr.astype(np.uint8)
        else:
            span = high - low or 1.0
            out = ((arr - low) * (255.0 / span)).astype(np.uint8)
    return Image.fromarray(out, mode="L")


def _check_pixels(size: tuple[int, int], limits: DecodeLimits, *, where: str) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise TruncatedDocumentError(f"{where} has an invalid size ({width}x{height}).")
    if width * height > limits.max_pixels:
        raise TooManyPixelsError(
            f"{where} is {width}x{height} pixels; the limit is "
            f"{limits.max_pixels / 1e6:g} million pixels per page."
        )


# --- PDF --------------------------------------------------------------------


class _PdfPages(Iterator[Image.Image]):
    """Open a PDF and check it eagerly, then render one page per ``next()``."""

    def __init__(self, data: bytes, limits: DecodeLimits) -> None:
        import pypdfium2 as pdfium
        import pypdfium2.raw as pdfium_c

        self._limits = limits
        self._index = 0
        self._pdf: pdfium.PdfDocument | None = None
        # PDFium reads straight from this buffer for as long as the document is open.
        self._data = data
        with _PDFIUM_LOCK:
            # The raw loader, because PdfDocument() also refuses zero-page files and
            # then reports a stale error code from an earlier document.
            raw = pdfium_c.FPDF_LoadMemDocument64(data, len(data), None)
            if not raw:
                raise _pdf_open_error(pdfium_c.FPDF_GetLastError())
            self._pdf = pdfium.PdfDocument(raw)
            try:
                self._count = len(self._pdf)
            except Exception as exc:
                self.close()
                raise TruncatedDocumentError(
                    "The PDF is damaged and its pages cannot be counted."
                ) from exc
        if self._count <= 0:
            self.close()
            raise EmptyDocumentError("The PDF has no pages.")
        if self._count > limits.max_pages:
            self.close()
            raise TooManyPagesError(
                f"The PDF has {self._count} pages; at most {limits.max_pages} are accepted."
            )

    def __len__(self) -> int:
        return self._count

    def __next__(self) -> Image.Image:
        if self._pdf is None or self._index >= self._count:
            self.close()
            raise StopIteration
        index = self._index
        self._index += 1
        try:
            return self._render(index)
        except BaseException:
            self.close()
            raise

    def _render(self, index: int) -> Image.Image:
        with _PDFIUM_LOCK:
            assert self._pdf is not None
            try:
                width_pt, height_pt = self._pdf.get_page_size(index)
            except Exception as exc:
                raise TruncatedDocumentError(f"Page {index + 1} of the PDF is damaged.") from exc
            dpi = _pdf_render_dpi(width_pt, height_pt, index, self._limits)
            page = bitmap = None
            try:
                page = self._pdf[index]
                bitmap = page.render(scale=dpi / 72, grayscale=True)
                # The PIL image shares the bitmap's buffer; copy before closing it.
                return bitmap.to_pil().copy()
            except Exception as exc:
                raise TruncatedDocumentError(
                    f"Page {index + 1} of the PDF is damaged and cannot be rendered."
                ) from exc
            finally:
                # Close explicitly under the lock rather than from a GC finaliser.
                for obj in (bitmap, page):
                    if obj is not None:
                        obj.close()

    def close(self) -> None:
        with _PDFIUM_LOCK:
            if self._pdf is not None:
                self._pdf.close()
                self._pdf = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def _pdf_render_dpi(width_pt: float, height_pt: float, index: int, limits: DecodeLimits) -> float:
    if (
        not (math.isfinite(width_pt) and math.isfinite(height_pt))
        or width_pt <= 0
        or height_pt <= 0
    ):
        raise TruncatedDocumentError(f"Page {index + 1} of the PDF has an invalid size.")
    width_in, height_in = width_pt / 72, height_pt / 72
    dpi = float(limits.pdf_dpi)
    if _rendered_pixels(width_in, height_in, dpi) > limits.max_pixels:
        # Oversized pages (posters, scanners writing pixels as points) are read at
        # the resolution that fits the pixel budget, unless that gets too coarse.
        dpi = math.sqrt(limits.max_pixels / (width_in * height_in))
        while (
            dpi >= _MIN_PDF_DPI and _rendered_pixels(width_in, height_in, dpi) > limits.max_pixels
        ):
            dpi *= 0.995  # PDFium rounds the bitmap size up
        if dpi < _MIN_PDF_DPI:
            raise TooManyPixelsError(
                f"Page {index + 1} of the PDF is too large to render "
                f"({width_in:.0f}x{height_in:.0f} inches)."
            )
    return dpi


def _rendered_pixels(width_in: float, height_in: float, dpi: float) -> int:
    return math.ceil(width_in * dpi) * math.ceil(height_in * dpi)


def _pdf_open_error(code: int) -> UnreadableDocumentError:
    import pypdfium2.raw as pdfium_c

    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return UnsupportedTypeError(
            "The PDF is password-protected; please upload an unprotected copy."
        )
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return UnsupportedTypeError("The PDF uses an unsupported security handler.")
    return TruncatedDocumentError("The PDF is damaged or truncated and cannot be opened.")


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f}".rstrip("0").rstrip(".")
