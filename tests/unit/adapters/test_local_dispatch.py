"""The local dispatcher: what a restart resumes, and a restart in the same process."""

from __future__ import annotations

from pathlib import Path

from app.adapters.local.dispatch import InProcessDispatcher
from app.adapters.local.objects import LocalObjectStore
from app.adapters.local.records import SqliteDocumentRecords
from app.domain.documents import DocumentStatus, NewDocument
from app.services.model_holder import ModelHolder
from app.services.pipeline import DocumentPipeline
from tests.unit.fakes import FakeModelSource
from tests.unit.services.test_pipeline import FakeReader


def world(tmp_path: Path):
    objects = LocalObjectStore(tmp_path / "objects")
    records = SqliteDocumentRecords(tmp_path / "db.sqlite3")
    holder = ModelHolder(FakeModelSource({"champion": "7"}))
    holder.refresh()
    pipeline = DocumentPipeline(objects=objects, records=records, read=FakeReader(), models=holder)
    return InProcessDispatcher(pipeline, records, workers=1), objects, records


def pending(records, doc_id: str) -> None:
    records.create(NewDocument(doc_id, "alice", f"uploads/{doc_id}", "x.png", "image/png", 0))


def test_resume_finishes_stored_uploads_and_leaves_awaited_ones_pending(tmp_path):
    dispatcher, objects, records = world(tmp_path)
    pending(records, "stored")
    objects.put("uploads/stored", b"Dear Sir", content_type="image/png")
    pending(records, "awaited")  # from upload-url: the client has not sent the bytes yet

    assert dispatcher.resume() == 1
    dispatcher.shutdown(wait=True)
    assert records.get("stored").status is DocumentStatus.DONE
    assert records.get("awaited").status is DocumentStatus.PENDING


def test_resume_fails_a_record_whose_bytes_never_came(tmp_path):
    from datetime import UTC, datetime, timedelta

    dispatcher, _objects, records = world(tmp_path)
    dispatcher.await_bytes_seconds = 60
    long_ago = datetime.now(UTC) - timedelta(seconds=120)
    records.create(
        NewDocument("lost", "alice", "uploads/lost", "x.png", "image/png", 0, created_at=long_ago)
    )
    pending(records, "awaited")

    assert dispatcher.resume() == 0
    dispatcher.shutdown(wait=True)
    assert "never arrived" in records.get("lost").error
    assert records.get("awaited").status is DocumentStatus.PENDING


def test_a_closed_dispatcher_starts_again(tmp_path):
    dispatcher, objects, records = world(tmp_path)
    dispatcher.resume()
    dispatcher.shutdown(wait=True)

    pending(records, "d1")
    objects.put("uploads/d1", b"Dear Sir", content_type="image/png")
    assert dispatcher.resume() == 1
    dispatcher.shutdown(wait=True)
    assert records.get("d1").status is DocumentStatus.DONE
