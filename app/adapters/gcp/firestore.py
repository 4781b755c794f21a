"""Document records, feedback and the event ledger in Firestore (native mode).

Collections (document ids from :func:`document_id`: a plain id as it is, anything
else, such as a key holding ``/``, as ``~`` and its SHA-256):

- ``documents/<id>``: a record; times are timestamps, ``prediction`` a map;
  ``claimed_at`` / ``lease_until`` while it is ``processing``;
- ``predictions/<id>``: a prediction served;
- ``feedback/<subject hash>``: one document per subject (a prediction or a
  document), so a newer label replaces the older one in one write;
- ``idempotency/<key hash>``: storage events handled (``state``, ``lease_until``,
  ``expires_at``). The database's TTL policy on ``expires_at`` deletes them, up to a
  day late: an expired marker is treated as absent.

Composite indexes the queries need (the infrastructure creates them)::

    documents  owner ASC, created_at DESC
    documents  status ASC, created_at DESC
    documents  owner ASC, status ASC, created_at DESC
    feedback   model_version ASC, created_at DESC

Every other query uses one field and Firestore's automatic single-field indexes.

Conditional writes (the claim, the ledger, re-queueing) read the document, decide,
then write with a ``last_update_time`` precondition; a ``FailedPrecondition`` means
another writer came first, so the document is read again and the decision taken
again. Server-side transactions would do the same job, but they lock what they read:
sixteen concurrent claims of one document end in "Transaction lock timeout" aborts
and, after five attempts, an error (seen on the Firestore emulator), where a
precondition lets the losers learn at once that they lost.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.adapters.marker_holds import DEFAULT_TTL_SECONDS, MarkerHolds
from app.adapters.record_fields import (
    claimed_fields,
    completed_fields,
    failed_fields,
    new_record_fields,
    released_fields,
    to_document_record,
    to_feedback,
    to_prediction_record,
)
from app.domain.documents import (
    DocumentExistsError,
    DocumentNotFoundError,
    DocumentPrediction,
    DocumentRecord,
    DocumentStatus,
    NewDocument,
    StorageUnavailableError,
    claimable,
    held_by,
)
from app.domain.feedback import Feedback
from app.domain.predictions import PredictionNotFoundError, PredictionRecord

if TYPE_CHECKING:
    from google.cloud import firestore

DOCUMENTS = "documents"
PREDICTIONS = "predictions"
FEEDBACK = "feedback"
IDEMPOTENCY = "idempotency"
# A conditional write that keeps losing to other writers gives up after this many reads.
MAX_ATTEMPTS = 20
_BATCH_WRITES = 500  # Firestore's limit per commit
_PLAIN_ID = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")


def firestore_client(project: str, database: str = "(default)") -> firestore.Client:
    """A client of ``database`` in ``project`` with the runtime's credentials."""
    try:
        from google.cloud import firestore
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "The GCP adapters need google-cloud-firestore: pip install 'mlops-multicloud[gcp]'."
        ) from exc
    return firestore.Client(project=project, database=database)


def document_id(raw: str) -> str:
    """A Firestore document id for ``raw``: itself when it is plain, else ``~`` and its
    SHA-256 (``/`` would make a path, ``.``/``..``/``__x__`` are reserved). A plain id
    never starts with ``~``, so the two kinds cannot collide."""
    if _PLAIN_ID.match(raw) and not (raw.startswith("__") and raw.endswith("__")):
        return raw
    return "~" + hashlib.sha256(raw.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def plain_datetime(value: datetime) -> datetime:
    """A plain UTC ``datetime`` from the SDKs' ``DatetimeWithNanoseconds``."""
    u = value.astimezone(UTC)
    return datetime(u.year, u.month, u.day, u.hour, u.minute, u.second, u.microsecond, UTC)


def fields_of(snapshot: Any) -> dict[str, Any]:
    """A snapshot's fields; none for a document that does not exist."""
    fields: dict[str, Any] | None = snapshot.to_dict()
    return fields or {}


@contextlib.contextmanager
def unavailable_as_storage_error(what: str) -> Iterator[None]:
    """Turn Firestore's transient failures into ``StorageUnavailableError`` (the
    delivery is retried); anything else is a bug or a misconfiguration and goes on."""
    from google.api_core import exceptions
    from google.auth.exceptions import TransportError

    try:
        yield
    except (
        exceptions.ServiceUnavailable,
        exceptions.DeadlineExceeded,
        exceptions.ResourceExhausted,
        exceptions.Aborted,
        exceptions.InternalServerError,
        exceptions.GatewayTimeout,
        exceptions.Unknown,
        exceptions.RetryError,
        TransportError,
    ) as exc:
        message = getattr(exc, "message", None) or str(exc)
        raise StorageUnavailableError(what, f"Firestore did not answer: {message}") from exc


def _expiry(retention_seconds: int | None) -> dict[str, datetime]:
    """The TTL field Firestore's policy deletes by (``expires_at``), or none: kept."""
    if not retention_seconds:
        return {}
    return {"expires_at": _now() + timedelta(seconds=retention_seconds)}


class _Collections:
    def __init__(self, client: firestore.Client, *, retention_seconds: int | None = None) -> None:
        self.client = client
        # Finished documents and predictions expire this long after they were written.
        self.retention_seconds = retention_seconds

    def _ref(self, collection: str, raw_id: str) -> Any:
        return self.client.collection(collection).document(document_id(raw_id))

    def _write_if_unchanged(self, ref: Any, snapshot: Any, fields: dict[str, Any]) -> bool:
        """Update ``ref`` only if nobody wrote it since ``snapshot``; False if someone did."""
        from google.api_core.exceptions import FailedPrecondition

        option = self.client.write_option(last_update_time=snapshot.update_time)
        try:
            ref.update(fields, option=option)
        except FailedPrecondition:
            return False
        return True


class FirestoreDocumentRecords(_Collections):
    """Example::

    records = FirestoreDocumentRecords(firestore_client("my-project"))
    records.claim("8f0c", lease_seconds=300)   # one conditional update: exactly one winner
    """

    def create(self, document: NewDocument) -> DocumentRecord:
        from google.api_core.exceptions import AlreadyExists

        fields = new_record_fields(document, document.created_at.astimezone(UTC))
        with unavailable_as_storage_error(f"{DOCUMENTS}/{document.id}"):
            try:
                self._ref(DOCUMENTS, document.id).create(fields)
            except AlreadyExists as exc:
                raise DocumentExistsError(document.id) from exc
        return _to_record(fields)

    def get(self, document_id: str) -> DocumentRecord:
        with unavailable_as_storage_error(f"{DOCUMENTS}/{document_id}"):
            snapshot = self._ref(DOCUMENTS, document_id).get()
        if not snapshot.exists:
            raise DocumentNotFoundError(document_id)
        return _to_record(fields_of(snapshot))

    def claim(self, document_id: str, *, lease_seconds: float) -> DocumentRecord | None:
        ref = self._ref(DOCUMENTS, document_id)
        with unavailable_as_storage_error(f"{DOCUMENTS}/{document_id}"):
            for _ in range(MAX_ATTEMPTS):
                snapshot = ref.get()
                if not snapshot.exists:
                    raise DocumentNotFoundError(document_id)
                item = fields_of(snapshot)
                now = _now()
                if not claimable(item["status"], item.get("lease_until"), now):
                    return None
                fields = claimed_fields(
                    item,
                    now=now,
                    lease_until=now + timedelta(seconds=lease_seconds),
                    updated_at=now,
                )
                if self._write_if_unchanged(ref, snapshot, fields):
                    return _to_record({**item, **fields})
        raise StorageUnavailableError(
            f"{DOCUMENTS}/{document_id}", f"{MAX_ATTEMPTS} concurrent writers kept winning"
        )

    def release(self, document_id: str, *, attempt: int) -> bool:
        ref = self._ref(DOCUMENTS, document_id)
        with unavailable_as_storage_error(f"{DOCUMENTS}/{document_id}"):
            for _ in range(MAX_ATTEMPTS):
                snapshot = ref.get()
                item = fields_of(snapshot)
                if not item or not held_by(item["status"], item.get("attempts", 0), attempt):
                    return False  # finished, or claimed again after the lease
                fields = released_fields(attempt=attempt, lease_until=None, updated_at=_now())
                if self._write_if_unchanged(ref, snapshot, fields):
                    return True
        raise StorageUnavailableError(
            f"{DOCUMENTS}/{document_id}", f"{MAX_ATTEMPTS} concurrent writers kept winning"
        )

    def _finish(self, document_id: str, fields: dict[str, Any]) -> DocumentRecord:
        from google.api_core.exceptions import NotFound

        ref = self._ref(DOCUMENTS, document_id)
        fields = {**fields, "lease_until": None, "updated_at": _now()}
        with unavailable_as_storage_error(f"{DOCUMENTS}/{document_id}"):
            try:
                ref.update(fields)
            except NotFound as exc:
                raise DocumentNotFoundError(document_id) from exc
            # Read back rather than merge locally: the record as stored is what callers see.
            return _to_record(fields_of(ref.get()))

    def complete(
        self,
        document_id: str,
        *,
        text: str,
        language: str,
        prediction: DocumentPrediction,
        size: int | None = None,
    ) -> DocumentRecord:
        fields = completed_fields(text=text, language=language, prediction=prediction, size=size)
        return self._finish(document_id, {**fields, **_expiry(self.retention_seconds)})

    def fail(self, document_id: str, *, reason: str) -> DocumentRecord:
        return self._finish(
            document_id, {**failed_fields(reason), **_expiry(self.retention_seconds)}
        )

    def list(
        self,
        *,
        owner: str | None = None,
        status: DocumentStatus | None = None,
        limit: int = 100,
    ) -> Sequence[DocumentRecord]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query: Any = self.client.collection(DOCUMENTS)
        if owner is not None:
            query = query.where(filter=FieldFilter("owner", "==", owner))
        if status is not None:
            query = query.where(filter=FieldFilter("status", "==", status.value))
        query = query.order_by("created_at", direction="DESCENDING").limit(limit)
        with unavailable_as_storage_error(DOCUMENTS):
            return [_to_record(fields_of(snapshot)) for snapshot in query.stream()]

    def requeue_stuck(self, *, older_than_seconds: float) -> int:
        from google.cloud.firestore_v1.base_query import FieldFilter

        cutoff = _now() - timedelta(seconds=older_than_seconds)
        processing = FieldFilter("status", "==", DocumentStatus.PROCESSING.value)
        moved = 0
        with unavailable_as_storage_error(DOCUMENTS):
            # Few documents are ever processing at once: the age is checked here, which
            # spares a (status, claimed_at) index.
            for snapshot in self.client.collection(DOCUMENTS).where(filter=processing).stream():
                claimed = fields_of(snapshot).get("claimed_at")
                if claimed is None or claimed > cutoff:
                    continue
                fields = {
                    "status": DocumentStatus.PENDING.value,
                    "lease_until": None,
                    "updated_at": _now(),
                }
                # Only if nobody claimed (or finished) it in between.
                moved += self._write_if_unchanged(snapshot.reference, snapshot, fields)
        return moved


def _to_record(item: dict[str, Any]) -> DocumentRecord:
    return to_document_record(item, when=plain_datetime)


class FirestoreFeedbackStore(_Collections):
    """Example::

    store = FirestoreFeedbackStore(firestore_client("my-project"))
    store.recent(200, model_version="3")   # one query on (model_version, created_at)
    """

    def record_predictions(self, predictions: Sequence[PredictionRecord]) -> None:
        with unavailable_as_storage_error(PREDICTIONS):
            for start in range(0, len(predictions), _BATCH_WRITES):
                batch = self.client.batch()
                for p in predictions[start : start + _BATCH_WRITES]:
                    fields = {
                        **asdict(p),
                        "created_at": p.created_at.astimezone(UTC),
                        **_expiry(self.retention_seconds),
                    }
                    batch.set(self._ref(PREDICTIONS, p.id), fields)
                batch.commit()

    def get_prediction(self, prediction_id: str) -> PredictionRecord:
        with unavailable_as_storage_error(f"{PREDICTIONS}/{prediction_id}"):
            snapshot = self._ref(PREDICTIONS, prediction_id).get()
        if not snapshot.exists:
            raise PredictionNotFoundError(prediction_id)
        return to_prediction_record(fields_of(snapshot), when=plain_datetime)

    def add(self, feedback: Feedback) -> Feedback:
        # One document per subject: the newest label replaces the last one.
        subject = f"{feedback.subject.value}:{feedback.subject_id}"
        fields = {
            **asdict(feedback),
            "subject": feedback.subject.value,
            "created_at": feedback.created_at.astimezone(UTC),
        }
        with unavailable_as_storage_error(f"{FEEDBACK}/{subject}"):
            self.client.collection(FEEDBACK).document(_hashed(subject)).set(fields)
        return feedback

    def recent(self, limit: int, *, model_version: str | None = None) -> Sequence[Feedback]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query: Any = self.client.collection(FEEDBACK)
        if model_version is not None:
            query = query.where(filter=FieldFilter("model_version", "==", model_version))
        query = query.order_by("created_at", direction="DESCENDING").limit(limit)
        with unavailable_as_storage_error(FEEDBACK):
            items = [fields_of(snapshot) for snapshot in query.stream()]
        return [to_feedback(item, when=plain_datetime) for item in items]


def _hashed(raw: str) -> str:
    return "~" + hashlib.sha256(raw.encode()).hexdigest()


class FirestoreEventLedger(_Collections):
    """Storage-event deliveries handled, for the OCR function (``EventLedger``). A
    release deletes the marker only while it carries that delivery's ``holder`` token.

    Example::

        ledger = FirestoreEventLedger(firestore_client("my-project"))
        if ledger.begin("uploads/uploads/8f0c@1712", lease_seconds=900, ttl_seconds=604800):
            ...                               # process the upload once
            ledger.finish("uploads/uploads/8f0c@1712")
    """

    def __init__(self, client: firestore.Client) -> None:
        super().__init__(client)
        self._holds = MarkerHolds()

    def begin(self, key: str, *, lease_seconds: float, ttl_seconds: int) -> bool:
        return self._holds.begin(
            key,
            ttl_seconds,
            lambda token: self._write_marker(key, token, lease_seconds, ttl_seconds),
        )

    def _write_marker(self, key: str, token: str, lease_seconds: float, ttl_seconds: int) -> bool:
        from google.api_core.exceptions import AlreadyExists

        ref = self.client.collection(IDEMPOTENCY).document(_hashed(key))
        with unavailable_as_storage_error(f"{IDEMPOTENCY}/{key}"):
            for _ in range(MAX_ATTEMPTS):
                now = _now()
                fields = {
                    "key": key,
                    "state": "processing",
                    "holder": token,
                    "lease_until": now + timedelta(seconds=lease_seconds),
                    "expires_at": now + timedelta(seconds=ttl_seconds),
                    "ttl_seconds": ttl_seconds,
                }
                snapshot = ref.get()
                if not snapshot.exists:
                    try:
                        ref.create(fields)
                    except AlreadyExists:
                        continue  # another delivery began first: look at what it wrote
                    return True
                item = fields_of(snapshot)
                # The TTL policy deletes expired markers late: expired means absent.
                taken = item["expires_at"] > now and (
                    item["state"] == "done" or item["lease_until"] > now
                )
                if taken:
                    return False
                if self._write_if_unchanged(ref, snapshot, fields):
                    return True
        raise StorageUnavailableError(
            f"{IDEMPOTENCY}/{key}", f"{MAX_ATTEMPTS} concurrent writers kept winning"
        )

    def finish(self, key: str) -> None:
        self._holds.pop(key)
        ref = self.client.collection(IDEMPOTENCY).document(_hashed(key))
        with unavailable_as_storage_error(f"{IDEMPOTENCY}/{key}"):
            snapshot = ref.get()
            # A marker deleted while its delivery ran (a lease longer than the TTL): a week.
            ttl = fields_of(snapshot).get("ttl_seconds", DEFAULT_TTL_SECONDS)
            now = _now()
            ref.set(
                {
                    "key": key,
                    "state": "done",
                    "lease_until": None,
                    "expires_at": now + timedelta(seconds=ttl),
                    "ttl_seconds": ttl,
                }
            )

    def release(self, key: str) -> None:
        from google.api_core.exceptions import FailedPrecondition, NotFound

        hold = self._holds.pop(key)
        if hold is None:
            return  # this process began no delivery of it
        ref = self.client.collection(IDEMPOTENCY).document(_hashed(key))
        with unavailable_as_storage_error(f"{IDEMPOTENCY}/{key}"):
            snapshot = ref.get()
            item = fields_of(snapshot)
            if item.get("state") != "processing" or item.get("holder") != hold.token:
                return  # gone, finished, or taken over after this delivery's lease ended
            # Conditional: a delivery that took the marker over in between keeps it.
            with contextlib.suppress(FailedPrecondition, NotFound):
                ref.delete(option=self.client.write_option(last_update_time=snapshot.update_time))
