"""The document pipeline against local adapters, a fake OCR reader and a fake model."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.adapters.local.objects import LocalObjectStore
from app.adapters.local.records import SqliteDocumentRecords
from app.domain.documents import (
    DocumentStatus,
    DocumentUploaded,
    NewDocument,
    StorageUnavailableError,
)
from app.ocr.errors import UnreadableDocumentError
from app.ocr.reader import OcrResult
from app.services.model_holder import ModelHolder, ModelUnavailableError
from app.services.pipeline import DocumentPipeline
from tests.unit.fakes import FakeModelSource


class FakeReader:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, data: bytes) -> OcrResult:
        self.calls += 1
        if data.startswith(b"broken"):
            raise UnreadableDocumentError("The image is truncated; upload the whole file.")
        if data.startswith(b"boom"):
            raise RuntimeError("unexpected")
        return OcrResult(text=data.decode(), pages=1, media_type="image/png", engine="fake")


@pytest.fixture
def world(tmp_path: Path):
    objects = LocalObjectStore(tmp_path / "objects")
    records = SqliteDocumentRecords(tmp_path / "db.sqlite3")
    holder = ModelHolder(FakeModelSource({"champion": "7"}))
    holder.refresh()
    reader = FakeReader()
    pipeline = DocumentPipeline(objects=objects, records=records, read=reader, models=holder)

    def upload(doc_id: str, data: bytes) -> DocumentUploaded:
        records.create(
            NewDocument(
                id=doc_id,
                owner="alice",
                object_key=f"uploads/{doc_id}",
                filename="x.png",
                media_type="image/png",
                size=len(data),
            )
        )
        version = objects.put(f"uploads/{doc_id}", data, content_type="image/png")
        return DocumentUploaded(
            bucket=objects.bucket, key=f"uploads/{doc_id}", version=version, size=len(data)
        )

    return pipeline, records, reader, upload


def test_upload_event_ends_done_with_label_and_model_version(world):
    pipeline, records, _, upload = world
    done = pipeline.handle(upload("d1", b"FACTURE N 12\n\nTotal TTC 120,00"))
    assert done is not None and done.status is DocumentStatus.DONE
    assert done.prediction.label == "invoice"
    assert done.prediction.model_version == "7"
    assert done.language in {"fr", "en", "unknown"}
    assert records.get("d1").text.startswith("FACTURE")


def test_a_duplicate_event_is_processed_once(world):
    pipeline, _, reader, upload = world
    event = upload("d1", b"Dear Sir, thank you.")
    assert pipeline.handle(event) is not None
    assert pipeline.handle(event) is None
    assert reader.calls == 1


def test_unreadable_document_fails_with_the_reason(world):
    pipeline, records, _, upload = world
    pipeline.handle(upload("d1", b"broken bytes"))
    record = records.get("d1")
    assert record.status is DocumentStatus.FAILED
    assert "truncated" in record.error


def test_empty_text_fails_with_a_clear_reason(world):
    pipeline, records, _, upload = world
    pipeline.handle(upload("d1", b"   \n  "))
    assert "No text was found" in records.get("d1").error


def test_unexpected_error_fails_the_record_instead_of_crashing(world):
    pipeline, records, _, upload = world
    pipeline.handle(upload("d1", b"boom"))
    assert records.get("d1").status is DocumentStatus.FAILED


def test_missing_object_fails_the_record(world, tmp_path):
    pipeline, records, _, upload = world
    event = upload("d1", b"Dear Sir")
    (tmp_path / "objects" / "uploads" / "d1").unlink()
    pipeline.handle(event)
    assert "not stored" in records.get("d1").error


def test_without_a_model_the_record_stays_pending_for_a_retry(tmp_path):
    objects = LocalObjectStore(tmp_path / "objects")
    records = SqliteDocumentRecords(tmp_path / "db.sqlite3")
    pipeline = DocumentPipeline(
        objects=objects, records=records, read=FakeReader(), models=ModelHolder(FakeModelSource())
    )
    records.create(NewDocument("d1", "alice", "uploads/d1", "x.png", "image/png", 3))
    with pytest.raises(ModelUnavailableError):
        pipeline.process("d1")
    assert records.get("d1").status is DocumentStatus.PENDING


def test_gives_up_after_too_many_interrupted_attempts(world):
    pipeline, records, reader, upload = world
    upload("d1", b"Dear Sir")
    for _ in range(pipeline.max_attempts):
        records.claim("d1", lease_seconds=-1)  # a worker claimed it and died
    pipeline.process("d1")
    record = records.get("d1")
    assert record.status is DocumentStatus.FAILED and "interrupted" in record.error
    assert reader.calls == 0


class ThrottledStore(LocalObjectStore):
    """Storage that answers "slow down" a given number of times, then serves."""

    def __init__(self, root: Path, failures: int) -> None:
        super().__init__(root)
        self.failures = failures

    def get(self, key: str) -> bytes:
        if self.failures:
            self.failures -= 1
            raise StorageUnavailableError(key, "SlowDown")
        return super().get(key)


def test_unavailable_storage_is_retried_not_failed(tmp_path):
    objects = ThrottledStore(tmp_path / "objects", failures=1)
    records = SqliteDocumentRecords(tmp_path / "db.sqlite3")
    holder = ModelHolder(FakeModelSource({"champion": "7"}))
    holder.refresh()
    pipeline = DocumentPipeline(
        objects=objects, records=records, read=FakeReader(), models=holder, lease_seconds=600
    )
    records.create(NewDocument("d1", "alice", "uploads/d1", "x.png", "image/png", 8))
    objects.put("uploads/d1", b"Dear Sir", content_type="image/png")

    with pytest.raises(StorageUnavailableError):
        pipeline.process("d1")
    # The claim is handed back, uncounted: the redelivery need not wait out the lease.
    back = records.get("d1")
    assert (back.status, back.attempts) == (DocumentStatus.PENDING, 0)

    done = pipeline.process("d1")
    assert (done.status, done.attempts) == (DocumentStatus.DONE, 1)


def test_when_the_claim_cannot_be_handed_back_the_retry_waits_for_the_lease(tmp_path):
    objects = ThrottledStore(tmp_path / "objects", failures=1)
    records = SqliteDocumentRecords(tmp_path / "db.sqlite3")
    holder = ModelHolder(FakeModelSource({"champion": "7"}))
    holder.refresh()
    records.create(NewDocument("d1", "alice", "uploads/d1", "x.png", "image/png", 8))
    objects.put("uploads/d1", b"Dear Sir", content_type="image/png")

    def unavailable(document_id: str, *, attempt: int) -> bool:
        raise StorageUnavailableError("records/d1", "throttled")

    records.release = unavailable  # type: ignore[method-assign]
    pipeline = DocumentPipeline(
        objects=objects, records=records, read=FakeReader(), models=holder, lease_seconds=0
    )
    with pytest.raises(StorageUnavailableError, match="uploads/d1"):  # the first error, kept
        pipeline.process("d1")
    assert records.get("d1").status is DocumentStatus.PROCESSING
    # The redelivery comes after the lease (here 0 s): it claims and finishes.
    assert pipeline.process("d1").status is DocumentStatus.DONE
