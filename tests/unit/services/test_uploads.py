"""The per-upload work every cloud's OCR function shares (app/services/uploads.py), on
local adapters and a ledger in memory: what is acknowledged, what is redelivered."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.adapters.local.objects import LocalObjectStore
from app.adapters.local.records import SqliteDocumentRecords, SqliteFeedbackStore
from app.adapters.local.sqlite import SqliteDatabase
from app.bootstrap import Adapters, build_container, build_upload_worker
from app.domain.documents import (
    DocumentStatus,
    DocumentUploaded,
    NewDocument,
    StorageUnavailableError,
)
from app.services.uploads import DeliveryInProgressError, UploadWorker
from app.settings import load_settings
from tests.unit.api.test_hostile_uploads import text_png_bytes
from tests.unit.fakes import FakeEventLedger, FakeModelSource, FakeTrainingJobs


def worker_of(container, ledger: FakeEventLedger) -> UploadWorker:
    """The worker the OCR functions build, on the world's adapters and this ledger."""
    container.adapters.ledger = ledger
    return build_upload_worker(container)


@pytest.fixture
def world(tmp_path: Path):
    db = SqliteDatabase(tmp_path / "db.sqlite3")
    source = FakeModelSource({"champion": "1"})
    adapters = Adapters(
        objects=LocalObjectStore(tmp_path / "objects"),
        records=SqliteDocumentRecords(db),
        feedback=SqliteFeedbackStore(db),
        models=source,
        registry=source,
        jobs=FakeTrainingJobs(),
    )
    settings = load_settings(data_dir=tmp_path, model_poll_seconds=0)
    container = build_container(settings, adapters)
    data = text_png_bytes()
    version = adapters.objects.put("uploads/d1", data, content_type="image/png")
    adapters.records.create(
        NewDocument(
            id="d1",
            owner="alice",
            object_key="uploads/d1",
            filename="scan.png",
            media_type="image/png",
            size=len(data),
        )
    )
    upload = DocumentUploaded(adapters.objects.bucket, "uploads/d1", version, len(data))
    return container, upload, source


def test_an_upload_is_processed_and_its_redelivery_acknowledged(world):
    container, upload, _ = world
    worker = worker_of(container, FakeEventLedger())
    assert worker.handle(upload) == {"status": "done", "document_id": "d1"}
    assert worker.handle(upload) == {"status": "duplicate", "document_id": "d1"}
    assert container.adapters.records.get("d1").status is DocumentStatus.DONE


def test_a_redelivery_while_another_attempt_holds_it_is_not_acknowledged(world):
    container, upload, _ = world
    ledger = FakeEventLedger()
    # An attempt that began and died (a crash or a timeout): no finish, no release.
    assert ledger.begin(upload.idempotency_key, lease_seconds=60, ttl_seconds=60)
    worker = worker_of(container, ledger)
    with pytest.raises(DeliveryInProgressError):
        worker.handle(upload)
    assert container.adapters.records.get("d1").status is DocumentStatus.PENDING


def test_a_failed_attempt_releases_the_event_for_its_retry(world):
    container, upload, source = world
    source.aliases.clear()  # no champion yet: transient, the event must come back
    ledger = FakeEventLedger()
    worker = worker_of(container, ledger)
    with pytest.raises(Exception, match="champion"):
        worker.handle(upload)
    assert upload.idempotency_key not in ledger.markers
    source.aliases["champion"] = "1"
    assert worker.handle(upload)["status"] == "done"


def test_objects_outside_uploads_are_skipped(world):
    container, upload, _ = world
    worker = worker_of(container, FakeEventLedger())
    other = DocumentUploaded(upload.bucket, "exports/report.csv", "v1", 10)
    assert worker.handle(other) == {"status": "skipped"}


class FlakyObjects:
    """The object store of the world, unavailable for its first ``outages`` reads."""

    def __init__(self, objects, outages: int) -> None:
        self.objects, self.outages = objects, outages

    def __getattr__(self, name: str):
        return getattr(self.objects, name)

    def get(self, key: str) -> bytes:
        if self.outages > 0:
            self.outages -= 1
            raise StorageUnavailableError(key, "throttled")
        return self.objects.get(key)


def test_a_storage_outage_after_the_claim_is_retried_to_the_end(world):
    container, upload, _ = world
    container.pipeline.objects = FlakyObjects(container.pipeline.objects, outages=2)
    ledger = FakeEventLedger()
    worker = worker_of(container, ledger)
    for _ in range(2):  # the cloud redelivers at once: the claim was handed back
        with pytest.raises(StorageUnavailableError):
            worker.handle(upload)
        record = container.adapters.records.get("d1")
        assert (record.status, record.attempts) == (DocumentStatus.PENDING, 0)
        assert upload.idempotency_key not in ledger.markers
    assert worker.handle(upload) == {"status": "done", "document_id": "d1"}
    assert container.adapters.records.get("d1").attempts == 1  # outages are not interruptions


def test_a_claim_held_by_a_dead_attempt_is_not_acknowledged(world):
    container, upload, _ = world
    # An attempt claimed the record and died after its ledger entry was released or had
    # expired: the retry the ledger lets in finds the record claimed, not finished.
    assert container.adapters.records.claim("d1", lease_seconds=2) is not None
    ledger = FakeEventLedger()
    worker = worker_of(container, ledger)
    with pytest.raises(DeliveryInProgressError):
        worker.handle(upload)
    assert upload.idempotency_key not in ledger.markers  # the next delivery may try again
    time.sleep(2.1)  # the dead attempt's lease ends: a delivery takes the document over
    assert worker.handle(upload) == {"status": "done", "document_id": "d1"}
    assert container.adapters.records.get("d1").attempts == 2


def test_objects_of_another_bucket_are_skipped(world):
    # A storage account's events cover all its containers: the same key elsewhere is
    # not the upload the record describes.
    container, upload, _ = world
    worker = worker_of(container, FakeEventLedger())
    elsewhere = DocumentUploaded("artifacts", upload.key, upload.version, upload.size)
    assert worker.handle(elsewhere) == {"status": "skipped"}
    assert container.adapters.records.get("d1").status is DocumentStatus.PENDING
