"""OCR results cached by content hash, so re-training never OCRs a file twice."""

from __future__ import annotations

import hashlib
from pathlib import Path


class OcrCache:
    """Example::

    cache = OcrCache(Path(".mlops/ocr-cache"), engine="tesseract-eng+fra")
    text = cache.get(data) or cache.put(data, ocr(data))
    """

    def __init__(self, root: Path, *, engine: str) -> None:
        self.root = root
        self.engine = engine

    def _path(self, data: bytes) -> Path:
        digest = hashlib.sha256(self.engine.encode() + b"\0" + data).hexdigest()
        return self.root / digest[:2] / f"{digest}.txt"

    def get(self, data: bytes) -> str | None:
        path = self._path(data)
        return path.read_text(encoding="utf-8") if path.exists() else None

    def put(self, data: bytes, text: str) -> str:
        path = self._path(data)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        return text
