"""What the Cosmos adapters do that the shared suites (tests/ports) do not see: the
partition keys they write, throttling and outages, the event ledger, the claim's retry
after losing an etag race."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from azure.core.exceptions import ServiceRequestError
from azure.cosmos.exceptions import CosmosHttpResponseError, CosmosResourceNotFoundError

from app.adapters.azure.cosmos import (
    CosmosDocumentRecords,
    CosmosEventLedger,
    CosmosFeedbackStore,
)
from app.domain.documents import DocumentStatus, StorageUnavailableError
from app.domain.feedback import Feedback, FeedbackSubject
from tests.cloud.azure.fake_cosmos import FakeCosmosDatabase
from tests.ports.samples import feedback, new, prediction


def label(fid: str, subject_id: str, true_label: str = "invoice") -> Feedback:
    """A label about a document, whose id may hold what a Cosmos id cannot (``/``)."""
    return feedback(fid, subject_id, true_label, subject=FeedbackSubject.DOCUMENT)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def database() -> FakeCosmosDatabase:
    return FakeCosmosDatabase()


# -- partition keys


def test_a_document_is_its_own_partition(database):
    CosmosDocumentRecords(database).create(new("d1"))
    [item] = database.get_container_client("records").stored()
    assert (item["id"], item["pk"]) == ("d1", "d1")
    with pytest.raises(CosmosResourceNotFoundError):  # a point read needs the right key
        database.get_container_client("records").read_item("d1", partition_key="alice")


def test_predictions_spread_and_feedback_shares_one_partition(database):
    store = CosmosFeedbackStore(database)
    store.record_predictions([prediction("p1")])
    store.add(label("f1", "scans/d1"))  # a subject id Cosmos could not take as an id
    store.add(label("f2", "scans/d1", "letter"))
    items = {
        (i["kind"], i["pk"], i["id"]) for i in database.get_container_client("feedback").stored()
    }
    assert items == {("prediction", "p1", "p1"), ("feedback", "feedback", "document:scans%2Fd1")}
    assert [(f.id, f.subject_id, f.true_label) for f in store.recent(10)] == [
        ("f2", "scans/d1", "letter")
    ]


def test_a_ledger_marker_is_keyed_by_the_hash_of_the_event_key(database):
    key = "uploads/uploads/d1@0x8DC"
    CosmosEventLedger(database).begin(key, lease_seconds=60, ttl_seconds=3600)
    [item] = database.get_container_client("idempotency").stored()
    digest = hashlib.sha256(key.encode()).hexdigest()
    assert (item["id"], item["pk"], item["key"], item["ttl"]) == (digest, digest, key, 3600)


# -- throttling and outages


@pytest.mark.parametrize(
    "error",
    [
        CosmosHttpResponseError(status_code=429, message="Request rate is large."),
        CosmosHttpResponseError(status_code=503, message="Service is currently unavailable."),
        ServiceRequestError("Connection refused"),
    ],
    ids=["throttled", "unavailable", "unreachable"],
)
def test_transient_failures_ask_for_a_retry(database, error):
    records = CosmosDocumentRecords(database)
    records.create(new())
    database.get_container_client("records").inject(error)
    with pytest.raises(StorageUnavailableError):
        records.claim("d1", lease_seconds=60)
    assert records.claim("d1", lease_seconds=60) is not None, "the retry claims it"


def test_a_throttled_feedback_write_and_ledger_ask_for_a_retry(database):
    throttled = CosmosHttpResponseError(status_code=429, message="Request rate is large.")
    database.get_container_client("feedback").inject(throttled)
    with pytest.raises(StorageUnavailableError):
        CosmosFeedbackStore(database).add(label("f1", "d1"))
    database.get_container_client("idempotency").inject(throttled)
    with pytest.raises(StorageUnavailableError):
        CosmosEventLedger(database).begin("k", lease_seconds=60, ttl_seconds=60)


def test_a_bad_request_is_not_disguised_as_an_outage(database):
    records = CosmosDocumentRecords(database)
    database.get_container_client("records").inject(
        CosmosHttpResponseError(status_code=400, message="One of the input values is invalid.")
    )
    with pytest.raises(CosmosHttpResponseError):
        records.create(new())


# -- the claim


def test_a_claim_that_loses_the_etag_race_reads_again_and_yields(database):
    container = database.get_container_client("records")
    mine, theirs = CosmosDocumentRecords(database), CosmosDocumentRecords(database)
    mine.create(new())
    replace = container.replace_item
    raced: list[Any] = []

    def other_worker_first(item: str, body: dict, **options: Any) -> dict:
        container.replace_item = replace  # once: between our read and our write,
        raced.append(theirs.claim("d1", lease_seconds=60))  # another delivery claims it
        return replace(item, body, **options)

    container.replace_item = other_worker_first
    assert mine.claim("d1", lease_seconds=60) is None
    assert raced[0] is not None and raced[0].attempts == 1
    assert mine.get("d1").attempts == 1, "the lost write was not applied"


def test_a_claim_retries_when_an_unrelated_write_changed_the_etag(database):
    container = database.get_container_client("records")
    records = CosmosDocumentRecords(database)
    records.create(new())
    replace = container.replace_item
    touched: list[bool] = []

    def touch_first(item: str, body: dict, **options: Any) -> dict:
        container.replace_item = replace  # once
        touched.append(True)
        current = container.read_item("d1", partition_key="d1")
        replace("d1", {**current, "updated_at": current["updated_at"]})  # a new etag
        return replace(item, body, **options)

    container.replace_item = touch_first
    claimed = records.claim("d1", lease_seconds=60)
    assert claimed is not None and claimed.status is DocumentStatus.PROCESSING
    assert touched and claimed.attempts == 1


# -- the event ledger (its behaviour: tests/ports/test_event_ledger.py)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(clock: Clock) -> CosmosEventLedger:
    return CosmosEventLedger(FakeCosmosDatabase(clock=clock))


def test_a_finished_event_is_a_duplicate_until_its_ttl_ends(ledger, clock):
    assert ledger.begin("k", lease_seconds=60, ttl_seconds=3600) is True
    ledger.finish("k")
    assert ledger.begin("k", lease_seconds=60, ttl_seconds=3600) is False
    clock.now += 3601  # Cosmos counts the ttl from the last write
    assert ledger.begin("k", lease_seconds=60, ttl_seconds=3600) is True


# -- what the fake refuses, so the adapters cannot rely on it


def test_the_fake_refuses_items_without_a_partition_key_and_unknown_containers(database):
    container = database.get_container_client("records")
    with pytest.raises(CosmosHttpResponseError) as refused:
        container.create_item({"id": "d1"})
    assert refused.value.status_code == 400
    with pytest.raises(CosmosResourceNotFoundError):
        database.get_container_client("documents")
    with pytest.raises(NotImplementedError):
        list(container.query_items("SELECT c.id FROM c", enable_cross_partition_query=True))


# -- retention


def test_finished_documents_and_predictions_expire_after_the_retention(clock):
    from app.adapters.azure.cosmos import CosmosDocumentRecords, CosmosFeedbackStore
    from app.domain.documents import DocumentNotFoundError, DocumentPrediction
    from app.domain.predictions import PredictionNotFoundError

    database = FakeCosmosDatabase(clock=clock)
    records = CosmosDocumentRecords(database, retention_seconds=3600)
    store = CosmosFeedbackStore(database, retention_seconds=3600)
    for doc in ("done", "pending"):
        records.create(new(doc))
    predicted = DocumentPrediction("receipt", 0.9, {"receipt": 0.9}, "m", "1")
    records.complete("done", text="Ticket", language="fr", prediction=predicted)
    store.record_predictions([prediction("p1")])
    store.add(label("f1", "done"))
    clock.now += 3599
    assert records.get("done").status.value == "done"
    clock.now += 2  # Cosmos counts an item's ttl from its last write
    with pytest.raises(DocumentNotFoundError):
        records.get("done")
    with pytest.raises(PredictionNotFoundError):
        store.get_prediction("p1")
    assert records.get("pending").status.value == "pending"
    assert [f.id for f in store.recent(10)] == ["f1"]
