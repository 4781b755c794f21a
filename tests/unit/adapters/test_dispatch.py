"""The local dispatcher's retries after storage faults: backoff, one scheduler, a give-up
that fails the document with a reason, no retry of a damaged store, no stolen claims."""

from __future__ import annotations

import threading
import time

import pytest

from app.adapters.local.dispatch import InProcessDispatcher
from app.adapters.local.records import SqliteDocumentRecords
from app.domain.documents import StorageDamagedError, StorageUnavailableError
from tests.ports.samples import new


class FlakyPipeline:
    """Fails with ``error`` the first ``failures`` times, then succeeds."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or StorageUnavailableError("records", "database or disk is full")
        self.calls = 0
        self.done = threading.Event()
        self.objects = None

    def process(self, document_id: str) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        self.done.set()


@pytest.fixture
def records(tmp_path) -> SqliteDocumentRecords:
    store = SqliteDocumentRecords(tmp_path / "records.sqlite3")
    store.create(new("d1"))
    return store


def dispatcher(pipeline, records, **kwargs) -> InProcessDispatcher:
    kwargs.setdefault("retry_seconds", (0.05, 0.2))
    return InProcessDispatcher(pipeline, records, workers=1, **kwargs)  # type: ignore[arg-type]


def test_a_storage_fault_is_retried_with_backoff_until_it_passes(records):
    pipeline = FlakyPipeline(failures=3)
    worker = dispatcher(pipeline, records)
    try:
        worker.submit("d1")
        assert pipeline.done.wait(10), "never retried to success"
        deadline = time.monotonic() + 5
        while worker.waiting_on_storage and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pipeline.calls == 4 and worker.waiting_on_storage == 0
    finally:
        worker.shutdown()


def test_a_long_outage_never_overflows_the_backoff(records):
    worker = dispatcher(FlakyPipeline(0), records, retry_seconds=(1.0, 30.0))
    try:
        worker._waiting["d1"] = (5000, time.monotonic())  # 5000 faults so far
        worker._retry_later("d1", StorageUnavailableError("records", "full"))
        ((when, document),) = worker._due
        assert document == "d1" and when - time.monotonic() == pytest.approx(30, abs=1)
    finally:
        worker.shutdown()


def test_a_document_whose_storage_keeps_failing_is_failed_with_a_reason(records):
    pipeline = FlakyPipeline(failures=10**6)
    worker = dispatcher(pipeline, records, give_up_seconds=0.3)
    try:
        worker.submit("d1")
        deadline = time.monotonic() + 10
        while records.get("d1").status.value != "failed" and time.monotonic() < deadline:
            time.sleep(0.02)
        record = records.get("d1")
        assert record.status.value == "failed", record
        assert "Storage kept failing" in (record.error or "")
        time.sleep(0.3)
        assert worker.waiting_on_storage == 0  # and no more retries are planned
    finally:
        worker.shutdown()


def test_a_damaged_store_is_not_retried(records):
    pipeline = FlakyPipeline(failures=1, error=StorageDamagedError("records.sqlite3 is gone"))
    worker = dispatcher(pipeline, records)
    try:
        worker.submit("d1").result(timeout=10)
        time.sleep(0.3)
        assert pipeline.calls == 1 and worker.waiting_on_storage == 0
    finally:
        worker.shutdown()


def test_a_retry_does_not_take_a_claim_another_worker_holds(records):
    claimed = records.claim("d1", lease_seconds=600)
    assert claimed is not None
    worker = dispatcher(FlakyPipeline(0), records)
    try:
        worker._running["d1"] = 2  # this retry and a live worker on the same document
        worker._reclaim("d1")
        assert records.get("d1").status.value == "processing"
        worker._running["d1"] = 1  # only the retry: the claim is its failed attempt's
        worker._reclaim("d1")
        assert records.get("d1").status.value == "pending"
    finally:
        worker.shutdown()
