"""An app on real local stores whose OCR step a fault test can steer."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI
from PIL import Image

from app.adapters.local.objects import LocalObjectStore
from app.adapters.local.records import SqliteDocumentRecords, SqliteFeedbackStore
from app.adapters.local.sqlite import SqliteDatabase
from app.api.main import create_app
from app.bootstrap import Adapters, build_container
from app.ocr.reader import OcrResult
from app.settings import load_settings
from tests.unit.fakes import FakeModelSource, FakeTrainingJobs


@dataclass
class SteeredReader:
    """OCR that answers an invoice's text at once, after running ``before`` (the fault)
    and waiting for ``gate`` when one is set."""

    before: Callable[[], object] | None = None
    gate: threading.Event | None = None
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, data: bytes) -> OcrResult:
        with self.lock:
            self.calls += 1
        if self.before is not None:
            self.before()
        if self.gate is not None:
            self.gate.wait(timeout=60)
        return OcrResult(
            text="FACTURE N° 42 Total TTC 120,00 EUR", pages=1, media_type="image/png", engine="x"
        )


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 32), "white").save(out, format="PNG")
    return out.getvalue()


def fault_app(
    root: Path,
    *,
    busy_timeout: float = 30,
    objects: object | None = None,
    registry: object | None = None,
) -> tuple[FastAPI, SteeredReader]:
    """The app over SQLite and files under ``root``, auth off, a keyword model, and a
    dispatcher that retries after a storage fault within a second or two."""
    settings = load_settings(data_dir=root, model_poll_seconds=0)
    db = SqliteDatabase(root / "records.sqlite3", busy_timeout=busy_timeout)
    source = FakeModelSource({"champion": "1"})
    adapters = Adapters(
        objects=objects or LocalObjectStore(root / "objects"),  # type: ignore[arg-type]
        records=SqliteDocumentRecords(db),
        feedback=SqliteFeedbackStore(db),
        models=source,
        registry=registry or source,  # type: ignore[arg-type]
        jobs=FakeTrainingJobs(),
        storage_check=db.check,
    )
    container = build_container(settings, adapters)
    reader = SteeredReader()
    container.pipeline.read = reader
    assert container.dispatcher is not None
    container.dispatcher.retry_seconds = (0.2, 1.0)
    container.storage.interval = 0
    return create_app(settings, container), reader
