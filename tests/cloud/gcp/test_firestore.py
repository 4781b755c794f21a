"""What the Firestore adapters do beyond the shared port suite: the event ledger, ids that
are no plain document ids, transient failures, and the composite indexes their queries need.

Firestore is Google's emulator (tests/cloud/gcp/firestore_emulator.py), each test on a
project of its own. Failures are injected by :class:`Faulty`, a proxy of the real client.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from google.api_core import exceptions
from google.auth.exceptions import TransportError

from app.adapters.gcp import firestore as adapter
from app.adapters.gcp.firestore import (
    FirestoreDocumentRecords,
    FirestoreEventLedger,
    FirestoreFeedbackStore,
    document_id,
)
from app.domain.documents import DocumentStatus, StorageUnavailableError
from app.domain.feedback import FeedbackSubject
from tests.cloud.gcp.firestore_emulator import shared_emulator
from tests.ports.samples import feedback, new

KEY = "uploads/uploads/8f0c@1712345678901234"  # bucket/key@generation: slashes


@pytest.fixture
def client() -> Any:
    return shared_emulator().client()


# -- ids


@pytest.mark.parametrize("raw", ["8f0c2d", "doc_1-a", "A" * 128])
def test_plain_ids_are_kept(raw):
    assert document_id(raw) == raw


@pytest.mark.parametrize("raw", ["a/b", ".", "..", "__id__", "~x", "é", "", "a" * 129])
def test_other_ids_are_hashed_to_a_safe_id(raw):
    safe = document_id(raw)
    assert re.fullmatch(r"~[0-9a-f]{64}", safe)
    assert document_id(raw) == safe  # stable


def test_a_record_whose_id_holds_a_slash_is_one_document(client):
    records = FirestoreDocumentRecords(client)
    records.create(new("team/a"))
    records.create(new("team"))
    assert records.get("team/a").id == "team/a"
    assert records.claim("team/a", lease_seconds=60) is not None
    assert records.get("team").status is DocumentStatus.PENDING
    [only] = [s for s in client.collection("documents").stream() if s.get("id") == "team/a"]
    assert only.id == document_id("team/a")


def test_feedback_keeps_one_label_per_subject_even_with_odd_ids(client):
    store = FirestoreFeedbackStore(client)
    for fid, label in (("f1", "invoice"), ("f2", "letter")):
        store.add(feedback(fid, "team/a", label, subject=FeedbackSubject.DOCUMENT))
    assert [(f.id, f.true_label) for f in store.recent(10)] == [("f2", "letter")]


# -- the event ledger (its behaviour: tests/ports/test_event_ledger.py)


class AfterFirstRead:
    """The real client; right after the first document read through it, ``meanwhile``
    runs (another delivery writing between this one's read and its write)."""

    def __init__(self, target: Any, meanwhile: list[Any]) -> None:
        self._target, self._meanwhile = target, meanwhile

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            if name == "get" and self._meanwhile:
                self._meanwhile.pop()()
            if type(result).__name__ in {"CollectionReference", "DocumentReference"}:
                return AfterFirstRead(result, self._meanwhile)
            return result

        return call


def test_release_keeps_the_marker_of_a_delivery_that_took_over_meanwhile(client):
    ledger = FirestoreEventLedger(client)
    meanwhile: list[Any] = []
    late = FirestoreEventLedger(AfterFirstRead(client, meanwhile))
    assert late.begin(KEY, lease_seconds=-1, ttl_seconds=3600)  # attempt A, lease over
    took_over: list[bool] = []
    # B takes over between A's read of its own marker and A's delete.
    meanwhile.append(
        lambda: took_over.append(ledger.begin(KEY, lease_seconds=60, ttl_seconds=3600))
    )
    late.release(KEY)  # A gives up late
    assert took_over == [True]
    assert not FirestoreEventLedger(client).begin(KEY, lease_seconds=60, ttl_seconds=3600), (
        "B's marker stays"
    )


def test_an_expired_marker_counts_as_absent_before_the_ttl_policy_deletes_it(client):
    ledger = FirestoreEventLedger(client)
    assert ledger.begin(KEY, lease_seconds=60, ttl_seconds=-1)
    ledger.finish(KEY)  # remembered for the ttl given at begin: already over
    assert ledger.begin(KEY, lease_seconds=60, ttl_seconds=3600)


def test_the_marker_carries_a_timestamp_ttl_field(client):
    ledger = FirestoreEventLedger(client)
    ledger.begin(KEY, lease_seconds=60, ttl_seconds=3600)
    ledger.finish(KEY)
    [marker] = list(client.collection("idempotency").stream())
    fields = marker.to_dict()
    assert marker.id == f"~{adapter.hashlib.sha256(KEY.encode()).hexdigest()}"
    assert (fields["key"], fields["state"]) == (KEY, "done")
    # The TTL policy only deletes documents whose field is a timestamp.
    assert isinstance(fields["expires_at"], datetime)
    expected = datetime.now(UTC) + timedelta(seconds=3600)
    assert abs((fields["expires_at"] - expected).total_seconds()) < 30


# -- transient failures


class Faulty:
    """The real client, whose references raise ``errors[method]`` for those methods."""

    _WRAPPED: ClassVar = {"CollectionReference", "DocumentReference", "Query", "WriteBatch"}

    def __init__(self, target: Any, errors: dict[str, Exception]) -> None:
        self._target = target
        self._errors = errors

    def __getattr__(self, name: str) -> Any:
        if name in self._errors and type(self._target).__name__ in self._WRAPPED:

            def fail(*args: Any, **kwargs: Any) -> Any:
                raise self._errors[name]

            return fail
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            if type(result).__name__ in self._WRAPPED:
                return Faulty(result, self._errors)
            return result

        return call


TRANSIENT = [
    exceptions.ServiceUnavailable("503 The service is currently unavailable."),
    exceptions.DeadlineExceeded("504 Deadline exceeded"),
    exceptions.ResourceExhausted("429 Quota exceeded"),
    exceptions.Aborted("409 Too much contention on these documents."),
    exceptions.InternalServerError("500 Internal error encountered."),
    exceptions.Unknown("2 Stream removed"),
    TransportError("connection reset"),
]


@pytest.mark.parametrize("error", TRANSIENT, ids=lambda e: type(e).__name__)
def test_transient_failures_are_storage_unavailable(client, error):
    FirestoreDocumentRecords(client).create(new("d1"))
    records = FirestoreDocumentRecords(
        Faulty(client, {"get": error, "create": error, "update": error, "stream": error})
    )
    ledger = FirestoreEventLedger(Faulty(client, {"get": error}))
    feedback = FirestoreFeedbackStore(Faulty(client, {"stream": error}))
    calls = [
        lambda: records.create(new("d2")),
        lambda: records.get("d1"),
        lambda: records.claim("d1", lease_seconds=60),
        lambda: records.fail("d1", reason="x"),
        lambda: records.list(owner="alice"),
        lambda: ledger.begin(KEY, lease_seconds=60, ttl_seconds=60),
        lambda: feedback.recent(10),
    ]
    for call in calls:
        with pytest.raises(StorageUnavailableError, match="Firestore did not answer"):
            call()


def test_other_failures_are_not_retried_as_unavailable(client):
    denied = exceptions.PermissionDenied("403 Missing or insufficient permissions.")
    records = FirestoreDocumentRecords(Faulty(client, {"get": denied}))
    with pytest.raises(exceptions.PermissionDenied):
        records.get("d1")


def test_a_claim_that_keeps_losing_is_storage_unavailable(client):
    FirestoreDocumentRecords(client).create(new("d1"))
    lost = exceptions.FailedPrecondition("400 the stored version does not match")
    records = FirestoreDocumentRecords(Faulty(client, {"update": lost}))
    with pytest.raises(StorageUnavailableError, match="concurrent writers"):
        records.claim("d1", lease_seconds=60)


def test_a_claim_that_loses_once_decides_again_on_what_the_winner_wrote(client, monkeypatch):
    records = FirestoreDocumentRecords(client)
    records.create(new("d1"))
    write = adapter._Collections._write_if_unchanged

    def another_worker_first(self: Any, ref: Any, snapshot: Any, fields: dict) -> bool:
        monkeypatch.setattr(adapter._Collections, "_write_if_unchanged", write)
        assert records.claim("d1", lease_seconds=60) is not None  # gets in between
        return write(self, ref, snapshot, fields)  # now stale: refused

    monkeypatch.setattr(adapter._Collections, "_write_if_unchanged", another_worker_first)
    assert records.claim("d1", lease_seconds=60) is None
    assert records.get("d1").attempts == 1


# -- composite indexes


class Recording:
    """The real client; records each query's shape (collection, equality fields, order)."""

    def __init__(self, target: Any, shapes: list, shape: tuple = ()) -> None:
        self._target, self._shapes, self._shape = target, shapes, shape

    def collection(self, name: str) -> Recording:
        return Recording(self._target.collection(name), self._shapes, (name, (), None))

    def where(self, *, filter: Any) -> Recording:
        name, fields, order = self._shape
        assert filter.op_string == "==", "only equality filters are documented"
        return Recording(
            self._target.where(filter=filter),
            self._shapes,
            (name, (*fields, filter.field_path), order),
        )

    def order_by(self, field: str, direction: str) -> Recording:
        name, fields, _ = self._shape
        return Recording(
            self._target.order_by(field, direction=direction),
            self._shapes,
            (name, fields, (field, direction)),
        )

    def limit(self, count: int) -> Recording:
        return Recording(self._target.limit(count), self._shapes, self._shape)

    def stream(self) -> Any:
        self._shapes.append(self._shape)
        return self._target.stream()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


def documented_indexes() -> set[tuple[str, str]]:
    """The composite indexes the adapter's docstring tells the infrastructure to create."""
    block = adapter.__doc__.split("Composite indexes", 1)[1].split("\n\n", 2)[1]
    return {
        (m[1], m[2].strip()) for m in re.finditer(r"^    (\w+)\s{2,}(.+)$", block, re.MULTILINE)
    }


def needed_index(shape: tuple) -> tuple[str, str] | None:
    """Firestore serves one field from its automatic indexes; equality filters with an
    order on another field need a composite index."""
    name, fields, order = shape
    if order is None or set(fields) <= {order[0]}:
        return None  # equality filters alone are served by merging single-field indexes
    direction = "DESC" if order[1] == "DESCENDING" else "ASC"
    return name, ", ".join([*(f"{f} ASC" for f in fields), f"{order[0]} {direction}"])


def test_every_query_is_served_by_a_documented_index_and_every_index_is_used(client):
    from app.adapters.gcp.firestore_jobs import FirestoreJobStore

    shapes: list[tuple] = []
    recording = Recording(client, shapes)
    records = FirestoreDocumentRecords(recording)
    records.create(new("d1"))
    records.claim("d1", lease_seconds=60)
    for owner in (None, "alice"):
        for status in (None, DocumentStatus.PENDING):
            records.list(owner=owner, status=status)
    records.requeue_stuck(older_than_seconds=0)
    store = FirestoreFeedbackStore(recording)
    store.recent(10)
    store.recent(10, model_version="1")
    FirestoreJobStore(recording).list(20)
    needed = {index for index in map(needed_index, shapes) if index is not None}
    assert needed == documented_indexes()


def test_the_index_rule_itself():
    assert needed_index(("documents", (), ("created_at", "DESCENDING"))) is None
    assert needed_index(("documents", ("status",), None)) is None
    assert needed_index(("feedback", ("model_version",), ("created_at", "DESCENDING"))) == (
        "feedback",
        "model_version ASC, created_at DESC",
    )


def test_finished_documents_and_predictions_carry_the_ttl_field(client):
    from app.adapters.gcp.firestore import FirestoreDocumentRecords, FirestoreFeedbackStore
    from app.domain.documents import DocumentPrediction
    from tests.ports.samples import new, prediction

    records = FirestoreDocumentRecords(client, retention_seconds=3600)
    store = FirestoreFeedbackStore(client, retention_seconds=3600)
    for doc in ("ret-done", "ret-failed", "ret-pending"):
        records.create(new(doc))
    predicted = DocumentPrediction("receipt", 0.9, {"receipt": 0.9}, "m", "1")
    records.complete("ret-done", text="Ticket", language="fr", prediction=predicted)
    records.fail("ret-failed", reason="unreadable")
    store.record_predictions([prediction("ret-p1")])
    expected = datetime.now(UTC) + timedelta(seconds=3600)
    for collection, name in (
        ("documents", "ret-done"),
        ("documents", "ret-failed"),
        ("predictions", "ret-p1"),
    ):
        fields = client.collection(collection).document(name).get().to_dict()
        # The TTL policy (infra/gcp/records.py) deletes by this timestamp.
        assert isinstance(fields["expires_at"], datetime)
        assert abs((fields["expires_at"] - expected).total_seconds()) < 30
    pending = client.collection("documents").document("ret-pending").get().to_dict()
    assert "expires_at" not in pending
