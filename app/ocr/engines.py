"""OCR engines behind one small protocol: Tesseract (default) and RapidOCR.

Both engine libraries are imported on first use, so importing this module is
cheap and works where an engine is not installed.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import threading
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from PIL import Image

from app.ocr.errors import EngineUnavailableError, OcrFailedError, UnreadableDocumentError
from app.ocr.preprocess import DEFAULT_TARGET_LINE_PX, deskew, downscale_for_ocr

TESSERACT_INSTALL_HINT = "apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-fra"
RAPIDOCR_INSTALL_HINT = "pip install 'mlops-multicloud[rapidocr]'"

_log = logging.getLogger(__name__)


@runtime_checkable
class OcrEngine(Protocol):
    """Anything that turns one page image into text.

    Example::

        text = get_engine("tesseract").image_to_text(Image.open("page.png"))
    """

    name: str

    def image_to_text(self, image: Image.Image) -> str: ...


class TesseractEngine:
    """The ``tesseract`` CLI, one subprocess per page, fed through stdin.

    Called directly rather than through pytesseract: importing pytesseract
    drags in pandas (0.47 s of every cold start) and it round-trips the page
    through temporary files. The page goes in as an uncompressed grey BMP
    (PNG-encoding a 300 dpi page costs 0.3-0.4 s), shrunk so text lines are
    about ``target_line_px`` tall (``None`` keeps the original size) and
    straightened (``deskew``); see :mod:`app.ocr.preprocess`. The child
    gets ``OMP_THREAD_LIMIT=1`` unless the environment sets it: Tesseract's
    OpenMP threading is 5-7x slower on small machines.

    ``psm=4`` (one column of lines of varying size) rather than Tesseract's
    default 3: on synthetic invoices, statements and résumés, 3 splits
    right-aligned amounts and dates into separate blocks and reorders the text
    (mean CER 12 % vs 0.5 % on clean pages), and 4 is no slower.

    Example::

        engine = TesseractEngine(languages="fra", timeout_s=30)
        text = engine.image_to_text(page)
    """

    name = "tesseract"

    def __init__(
        self,
        languages: str = "fra+eng",
        psm: int = 4,
        oem: int = 1,
        timeout_s: float = 60,
        *,
        target_line_px: float | None = DEFAULT_TARGET_LINE_PX,
        deskew: bool = True,
        tesseract_cmd: str = "tesseract",
    ) -> None:
        self.languages = languages
        self.psm = psm
        self.oem = oem
        self.timeout_s = timeout_s
        self.target_line_px = target_line_px
        self.deskew = deskew
        self.tesseract_cmd = tesseract_cmd

    def image_to_text(self, image: Image.Image) -> str:
        """OCR one page; raises ``OcrFailedError`` or ``EngineUnavailableError``.

        Example::

            TesseractEngine().image_to_text(Image.open("letter.png"))
        """
        gray = image if image.mode == "L" else image.convert("L")
        if self.target_line_px:
            gray = downscale_for_ocr(gray, self.target_line_px)
        if self.deskew:
            gray = deskew(gray)
        buffer = io.BytesIO()
        gray.save(buffer, format="BMP")
        command = [
            self.tesseract_cmd,
            "stdin",
            "stdout",
            "-l",
            self.languages,
            "--oem",
            str(self.oem),
            "--psm",
            str(self.psm),
        ]
        env = dict(os.environ)
        env.setdefault("OMP_THREAD_LIMIT", "1")
        try:
            done = subprocess.run(
                command,
                input=buffer.getvalue(),
                capture_output=True,
                timeout=self.timeout_s,
                env=env,
                check=False,
            )
        except (FileNotFoundError, PermissionError) as exc:
            raise EngineUnavailableError(
                "The Tesseract OCR engine is not installed on the server; "
                f"install it with `{TESSERACT_INSTALL_HINT}`."
            ) from exc
        except subprocess.TimeoutExpired as exc:  # run() has already killed the child
            raise OcrFailedError(
                f"Text recognition took longer than {self.timeout_s:g} s on one page "
                "and was stopped."
            ) from exc
        if done.returncode != 0:
            raise _tesseract_error(done.stderr.decode("utf-8", "replace"), self.languages)
        # Tesseract ends every page with a form feed.
        return done.stdout.decode("utf-8", "replace").rstrip("\f\n ")

    def __repr__(self) -> str:
        return f"TesseractEngine(languages={self.languages!r}, psm={self.psm}, oem={self.oem})"


def _tesseract_error(stderr: str, languages: str) -> UnreadableDocumentError:
    if "Failed loading language" in stderr or "Error opening data file" in stderr:
        return EngineUnavailableError(
            f"Tesseract has no data for the languages {languages!r}; "
            f"install it with `{TESSERACT_INSTALL_HINT}`."
        )
    _log.warning("tesseract failed: %s", stderr.strip()[-500:])
    return OcrFailedError("Text recognition failed on this page.")


class RapidOcrEngine:
    """RapidOCR 3 (PaddleOCR models on onnxruntime), built once and reused.

    The text-orientation classifier is off: on upright scans it flipped whole
    lines of clean English (12 % character errors on one test page), and
    uploads are straightened from their EXIF orientation anyway.
    ``threads=None`` lets onnxruntime use every core.

    Example::

        engine = RapidOcrEngine(threads=1)
        text = engine.image_to_text(page)
    """

    name = "rapidocr"

    def __init__(self, *, threads: int | None = None, min_score: float = 0.5) -> None:
        self.threads = threads
        self.min_score = min_score
        self._engine: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = self._build()
        return self._engine

    def _build(self) -> Any:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:
            raise EngineUnavailableError(
                f"The RapidOCR engine is not installed; install it with `{RAPIDOCR_INSTALL_HINT}`."
            ) from exc
        params: dict[str, Any] = {
            "Global.log_level": "warning",
            "Global.use_cls": False,
            "Global.text_score": self.min_score,
        }
        if self.threads:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = self.threads
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
        try:
            return RapidOCR(params=params)
        except Exception as exc:
            raise EngineUnavailableError(
                f"The RapidOCR engine could not start ({type(exc).__name__})."
            ) from exc

    def image_to_text(self, image: Image.Image) -> str:
        """OCR one page and return its lines in reading order.

        Example::

            RapidOcrEngine().image_to_text(Image.open("receipt.jpg"))
        """
        engine = self._get()
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        try:
            result = engine(rgb)
        except Exception as exc:
            raise OcrFailedError("Text recognition failed on this page.") from exc
        boxes, texts = getattr(result, "boxes", None), getattr(result, "txts", None)
        if boxes is None or not texts:
            return ""
        return join_boxes_into_lines([[tuple(p) for p in box] for box in boxes], list(texts))

    def __repr__(self) -> str:
        return f"RapidOcrEngine(threads={self.threads})"


def join_boxes_into_lines(
    boxes: Sequence[Sequence[tuple[float, float]]], texts: Sequence[str]
) -> str:
    """Join recognised boxes into text lines: top to bottom, then left to right.

    Boxes whose vertical centres are within half a box height of the current
    line's centre belong to that line.

    Example::

        >>> join_boxes_into_lines(
        ...     [[(60, 0), (90, 0), (90, 10), (60, 10)], [(0, 1), (50, 1), (50, 11), (0, 11)]],
        ...     ["world", "hello"],
        ... )
        'hello world'
    """
    items = []
    for box, text in zip(boxes, texts, strict=True):
        text = text.strip()
        if not text:
            continue
        xs = [float(p[0]) for p in box]
        ys = [float(p[1]) for p in box]
        top, bottom = min(ys), max(ys)
        items.append(((top + bottom) / 2, max(bottom - top, 1.0), min(xs), text))
    items.sort(key=lambda item: (item[0], item[2]))

    lines: list[tuple[float, float, list[tuple[float, str]]]] = []
    for centre, height, left, text in items:
        if lines:
            line_centre, line_height, words = lines[-1]
            if abs(centre - line_centre) <= 0.5 * min(height, line_height):
                words.append((left, text))
                n = len(words)
                lines[-1] = (line_centre + (centre - line_centre) / n, line_height, words)
                continue
        lines.append((centre, height, [(left, text)]))
    return "\n".join(" ".join(text for _, text in sorted(words)) for _, _, words in lines)


_ENGINES: dict[tuple[str, tuple[tuple[str, Any], ...]], OcrEngine] = {}
_ENGINES_LOCK = threading.Lock()
_ENGINE_TYPES: dict[str, type] = {"tesseract": TesseractEngine, "rapidocr": RapidOcrEngine}


def get_engine(name: str, **kw: Any) -> OcrEngine:
    """Return the process-wide engine for ``name`` and these options.

    Example::

        engine = get_engine("tesseract", languages="eng+fra", timeout_s=30)
        assert engine is get_engine("tesseract", languages="eng+fra", timeout_s=30)
    """
    name = str(getattr(name, "value", name)).lower()  # accepts the settings enum too
    if name not in _ENGINE_TYPES:
        raise ValueError(f"Unknown OCR engine {name!r}; expected one of {sorted(_ENGINE_TYPES)}.")
    key = (name, tuple(sorted(kw.items())))
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = _ENGINE_TYPES[name](**kw)
    return engine
