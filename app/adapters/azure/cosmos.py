"""Document records, feedback and the event ledger in Cosmos DB (NoSQL API, sync SDK).

Every container is partitioned on ``/pk``; the value each item gets is chosen for the
operations that must be atomic, since Cosmos only makes one logical partition atomic:

- ``records``: a document, ``id`` = ``pk`` = the document id. A claim is a point read
  and an etag-conditional replace in that one partition (a 412 means another worker
  wrote first: read again and decide again). ``list`` and ``requeue_stuck`` are
  cross-partition queries, ordered by ``created`` (epoch seconds).
- ``feedback``: a prediction, ``id`` = ``pk`` = the prediction id (the bulk of the
  writes, spread over partitions, read by id). All feedback shares ``pk`` =
  ``"feedback"``, with ``id`` = ``<subject>:<subject id>``: the newest label of a
  subject is one upsert that replaces the previous one (no pointer item, no
  transaction), and ``recent()`` — newest first across all feedback — is a
  single-partition query served by the index. Human labels stay far below a logical
  partition's 20 GB; if they ever do not, bucket the key by month.
- ``idempotency``: an event marker, ``id`` = ``pk`` = the SHA-256 of the event key
  (keys hold ``/``, which Cosmos ids refuse), expiring through ``ttl``.

Throttling (429 once the SDK's own retries are spent), timeouts and 5xx answers
become :class:`~app.domain.documents.StorageUnavailableError`, so the event is
delivered again instead of the document being failed.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from app.adapters.marker_holds import MarkerHolds
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
    from azure.core.credentials import TokenCredential
    from azure.cosmos import DatabaseProxy

# A conditional write that keeps losing to other writers gives up after this many reads.
_ATTEMPTS = 20
# 408 timeout, 429 throttled, 449 retry-with (a conflicting write in flight): retry later.
_TRANSIENT_STATUS = {408, 429, 449}
_FEEDBACK_PK = "feedback"


def cosmos_database(endpoint: str, name: str, credential: TokenCredential | None = None) -> Any:
    """The ``DatabaseProxy`` of ``name`` on the account at ``endpoint``, authenticated
    with ``credential`` (``DefaultAzureCredential()`` when None: the workload's managed
    identity in the cloud, the developer's ``az login`` on a laptop)."""
    try:
        from azure.cosmos import CosmosClient
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "The Cosmos DB adapters need azure-cosmos: pip install 'mlops-multicloud[azure]'."
        ) from exc
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    return CosmosClient(endpoint, credential=credential).get_database_client(name)


@contextlib.contextmanager
def _transient_errors(what: str) -> Iterator[None]:
    """Throttling and outages as ``StorageUnavailableError`` (the caller retries)."""
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError
    from azure.cosmos.exceptions import CosmosClientTimeoutError, CosmosHttpResponseError

    try:
        yield
    except CosmosHttpResponseError as exc:
        status = exc.status_code or 0
        if status in _TRANSIENT_STATUS or status >= 500:
            raise StorageUnavailableError(what, f"Cosmos DB answered {status}") from exc
        raise
    except (ServiceRequestError, ServiceResponseError, CosmosClientTimeoutError) as exc:
        raise StorageUnavailableError(what, f"Cosmos DB unreachable: {type(exc).__name__}") from exc


def _if_unchanged(item: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments making a write conditional on ``item`` being unchanged."""
    from azure.core import MatchConditions

    return {"etag": item["_etag"], "match_condition": MatchConditions.IfNotModified}


def _now() -> datetime:
    return datetime.now(UTC)


class _Container:
    def __init__(self, database: DatabaseProxy | Any, name: str) -> None:
        self.container = database.get_container_client(name)

    def _read(self, item_id: str, pk: str) -> dict[str, Any] | None:
        from azure.cosmos.exceptions import CosmosResourceNotFoundError

        try:
            item: dict[str, Any] = self.container.read_item(item_id, partition_key=pk)
        except CosmosResourceNotFoundError:
            return None
        return item

    def _query(
        self, query: str, parameters: dict[str, Any], *, pk: str | None = None
    ) -> list[dict[str, Any]]:
        scope: dict[str, Any] = (
            {"partition_key": pk} if pk is not None else {"enable_cross_partition_query": True}
        )
        return list(
            self.container.query_items(
                query,
                parameters=[{"name": f"@{k}", "value": v} for k, v in parameters.items()],
                **scope,
            )
        )


def _ttl(retention_seconds: int | None) -> dict[str, int]:
    """An item's own TTL (seconds after its last write), or none: kept."""
    return {"ttl": int(retention_seconds)} if retention_seconds else {}


class CosmosDocumentRecords(_Container):
    """Example::

    records = CosmosDocumentRecords(cosmos_database(endpoint, "mlops"))
    records.claim("8f0c", lease_seconds=300)   # read + etag-conditional replace: one winner
    """

    def __init__(
        self, database: DatabaseProxy | Any, *, retention_seconds: int | None = None
    ) -> None:
        super().__init__(database, "records")
        # A finished record expires this long after its last write (the item's ``ttl``;
        # the container's TTL is on with no default).
        self.retention_seconds = retention_seconds

    def create(self, document: NewDocument) -> DocumentRecord:
        from azure.cosmos.exceptions import CosmosResourceExistsError

        item = {
            **new_record_fields(document, document.created_at.isoformat()),
            "pk": document.id,
            "created": document.created_at.timestamp(),
            "lease_until": 0,
        }
        try:
            with _transient_errors(f"records/{document.id}"):
                created = self.container.create_item(item)
        except CosmosResourceExistsError as exc:
            raise DocumentExistsError(document.id) from exc
        return to_document_record(created)

    def get(self, document_id: str) -> DocumentRecord:
        return to_document_record(self._item(document_id))

    def _item(self, document_id: str) -> dict[str, Any]:
        with _transient_errors(f"records/{document_id}"):
            item = self._read(document_id, document_id)
        if item is None:
            raise DocumentNotFoundError(document_id)
        return item

    def _replace(self, item: dict[str, Any]) -> dict[str, Any] | None:
        """Write ``item`` back if nobody wrote it since it was read; None if somebody did."""
        from azure.cosmos.exceptions import CosmosAccessConditionFailedError

        try:
            with _transient_errors(f"records/{item['id']}"):
                saved: dict[str, Any] = self.container.replace_item(
                    item["id"], item, **_if_unchanged(item)
                )
        except CosmosAccessConditionFailedError:
            return None
        return saved

    def claim(self, document_id: str, *, lease_seconds: float) -> DocumentRecord | None:
        for _ in range(_ATTEMPTS):
            item = self._item(document_id)
            now = time.time()
            if not claimable(item["status"], item["lease_until"], now):
                return None  # another worker holds it, or it is finished
            item.update(
                claimed_fields(
                    item,
                    now=now,
                    lease_until=now + lease_seconds,
                    updated_at=_now().isoformat(),
                )
            )
            saved = self._replace(item)
            if saved is not None:
                return to_document_record(saved)
            # 412: another delivery wrote first; read again and decide again.
        raise StorageUnavailableError(f"records/{document_id}", "the record kept changing")

    def release(self, document_id: str, *, attempt: int) -> bool:
        for _ in range(_ATTEMPTS):
            with _transient_errors(f"records/{document_id}"):
                item = self._read(document_id, document_id)
            if item is None or not held_by(item["status"], item["attempts"], attempt):
                return False  # finished, or claimed again after the lease
            item.update(
                released_fields(attempt=attempt, lease_until=0, updated_at=_now().isoformat())
            )
            if self._replace(item) is not None:
                return True
        raise StorageUnavailableError(f"records/{document_id}", "the record kept changing")

    def _change(self, document_id: str, **changes: Any) -> DocumentRecord:
        for _ in range(_ATTEMPTS):
            item = self._item(document_id)
            item.update(changes, updated_at=_now().isoformat(), lease_until=0)
            saved = self._replace(item)
            if saved is not None:
                return to_document_record(saved)
        raise StorageUnavailableError(f"records/{document_id}", "the record kept changing")

    def complete(
        self,
        document_id: str,
        *,
        text: str,
        language: str,
        prediction: DocumentPrediction,
        size: int | None = None,
    ) -> DocumentRecord:
        changes = completed_fields(text=text, language=language, prediction=prediction, size=size)
        return self._change(document_id, **changes, **_ttl(self.retention_seconds))

    def fail(self, document_id: str, *, reason: str) -> DocumentRecord:
        return self._change(document_id, **failed_fields(reason), **_ttl(self.retention_seconds))

    def list(
        self,
        *,
        owner: str | None = None,
        status: DocumentStatus | None = None,
        limit: int = 100,
    ) -> Sequence[DocumentRecord]:
        filters = {"owner": owner, "status": status.value if status is not None else None}
        parameters: dict[str, Any] = {k: v for k, v in filters.items() if v is not None}
        where = " AND ".join(f"c.{k} = @{k}" for k in parameters)
        query = "SELECT TOP @limit * FROM c" + (f" WHERE {where}" if where else "")
        with _transient_errors("records"):
            items = self._query(f"{query} ORDER BY c.created DESC", {**parameters, "limit": limit})
        return [to_document_record(item) for item in items]

    def requeue_stuck(self, *, older_than_seconds: float) -> int:
        cutoff = time.time() - older_than_seconds
        with _transient_errors("records"):
            stuck = self._query(
                "SELECT * FROM c WHERE c.status = @status AND c.claimed_at <= @cutoff",
                {"status": DocumentStatus.PROCESSING.value, "cutoff": cutoff},
            )
        moved = 0
        for item in stuck:
            item.update(
                status=DocumentStatus.PENDING.value, lease_until=0, updated_at=_now().isoformat()
            )
            # Conditional: a worker that claimed or finished it in between wins.
            moved += self._replace(item) is not None
        return moved


class CosmosFeedbackStore(_Container):
    """Example::

    store = CosmosFeedbackStore(cosmos_database(endpoint, "mlops"))
    store.add(feedback)                     # one upsert: the subject's previous label goes
    store.recent(200, model_version="3")    # one query in the "feedback" partition
    """

    def __init__(
        self, database: DatabaseProxy | Any, *, retention_seconds: int | None = None
    ) -> None:
        super().__init__(database, "feedback")
        # A served prediction expires this long after it was served; labels never do.
        self.retention_seconds = retention_seconds

    def record_predictions(self, predictions: Sequence[PredictionRecord]) -> None:
        # One partition per prediction, so no batch; an upsert makes a retried call harmless.
        with _transient_errors("feedback"):
            for p in predictions:
                data = {**asdict(p), "created_at": p.created_at.isoformat()}
                item = {**data, "pk": p.id, "kind": "prediction", **_ttl(self.retention_seconds)}
                self.container.upsert_item(item)

    def get_prediction(self, prediction_id: str) -> PredictionRecord:
        with _transient_errors(f"feedback/{prediction_id}"):
            item = self._read(prediction_id, prediction_id)
        if item is None or item.get("kind") != "prediction":
            raise PredictionNotFoundError(prediction_id)
        return to_prediction_record(item)

    def add(self, feedback: Feedback) -> Feedback:
        data = asdict(feedback)
        item = {
            **data,
            # The subject names the item, so its newest label replaces the previous one.
            "id": f"{feedback.subject.value}:{quote(feedback.subject_id, safe='')}",
            "pk": _FEEDBACK_PK,
            "kind": "feedback",
            "feedback_id": feedback.id,
            "created_at": feedback.created_at.isoformat(),
            "created": feedback.created_at.timestamp(),
        }
        with _transient_errors("feedback"):
            self.container.upsert_item(item)
        return feedback

    def recent(self, limit: int, *, model_version: str | None = None) -> Sequence[Feedback]:
        parameters: dict[str, Any] = {"limit": limit, "kind": "feedback"}
        where = "c.kind = @kind"
        if model_version is not None:
            parameters["version"] = model_version
            where += " AND c.model_version = @version"
        query = f"SELECT TOP @limit * FROM c WHERE {where} ORDER BY c.created DESC"
        with _transient_errors("feedback"):
            items = self._query(query, parameters, pk=_FEEDBACK_PK)
        # The item's own id names the subject; the label's id is kept beside it.
        return [to_feedback({**item, "id": item["feedback_id"]}) for item in items]


class CosmosEventLedger(_Container):
    """Which storage events were processed, so a duplicate delivery is skipped.

    A marker is created when a delivery begins (``in_progress``, with a lease) and
    marked ``done`` when it finishes; Cosmos deletes it ``ttl`` seconds after its last
    write. A delivery whose holder died (lease expired) is taken over by the next one; a
    release deletes the marker only while it carries that delivery's ``holder`` token.

    Example::

        ledger = CosmosEventLedger(cosmos_database(endpoint, "mlops"))
        if ledger.begin("uploads/8f0c@v1", lease_seconds=300, ttl_seconds=86400):
            try:
                process()
            except Exception:
                ledger.release("uploads/8f0c@v1")   # the retry may process it
                raise
            ledger.finish("uploads/8f0c@v1")
    """

    def __init__(self, database: DatabaseProxy | Any) -> None:
        super().__init__(database, "idempotency")
        self._holds = MarkerHolds()

    def begin(self, key: str, *, lease_seconds: float, ttl_seconds: float) -> bool:
        return self._holds.begin(
            key,
            max(1, math.ceil(ttl_seconds)),  # Cosmos wants whole seconds > 0
            lambda token: self._write_marker(key, token, lease_seconds, ttl_seconds),
        )

    def _write_marker(self, key: str, token: str, lease_seconds: float, ttl_seconds: float) -> bool:
        from azure.cosmos.exceptions import (
            CosmosAccessConditionFailedError,
            CosmosResourceExistsError,
            CosmosResourceNotFoundError,
        )

        marker_id = _marker_id(key)
        for _ in range(_ATTEMPTS):
            now = time.time()
            marker = {
                "id": marker_id,
                "pk": marker_id,
                "key": key,
                "status": "in_progress",
                "holder": token,
                "lease_until": now + lease_seconds,
                "ttl": max(1, math.ceil(ttl_seconds)),
            }
            with _transient_errors(f"idempotency/{key}"):
                try:
                    self.container.create_item(marker)
                    return True
                except CosmosResourceExistsError:
                    pass
                current = self._read(marker_id, marker_id)
                if current is None:
                    continue  # released or expired meanwhile: create it again
                if current["status"] == "done" or current["lease_until"] > now:
                    return False  # a duplicate, or another delivery is at it
                try:  # its holder died: take it over, unless another delivery just did
                    self.container.replace_item(marker_id, marker, **_if_unchanged(current))
                    return True
                except (CosmosAccessConditionFailedError, CosmosResourceNotFoundError):
                    continue
        raise StorageUnavailableError(f"idempotency/{key}", "the marker kept changing")

    def finish(self, key: str) -> None:
        self._holds.pop(key)
        marker_id = _marker_id(key)
        with _transient_errors(f"idempotency/{key}"):
            current = self._read(marker_id, marker_id) or {}
            # Keeps the marker's own ttl, counted again from now (Cosmos counts from _ts).
            done = {**current, "id": marker_id, "pk": marker_id, "key": key, "status": "done"}
            self.container.upsert_item({k: v for k, v in done.items() if not k.startswith("_")})

    def release(self, key: str) -> None:
        from azure.cosmos.exceptions import (
            CosmosAccessConditionFailedError,
            CosmosResourceNotFoundError,
        )

        hold = self._holds.pop(key)
        if hold is None:
            return  # this process began no delivery of it
        marker_id = _marker_id(key)
        with _transient_errors(f"idempotency/{key}"):
            current = self._read(marker_id, marker_id)
            if current is None or current["status"] != "in_progress":
                return
            if current.get("holder") != hold.token:
                return  # taken over by a delivery that began after this one's lease
            # Conditional: a delivery that took the marker over in between keeps it.
            with contextlib.suppress(CosmosAccessConditionFailedError, CosmosResourceNotFoundError):
                self.container.delete_item(
                    marker_id, partition_key=marker_id, **_if_unchanged(current)
                )


def _marker_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
