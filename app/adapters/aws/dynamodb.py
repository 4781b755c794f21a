"""Document records and feedback in one DynamoDB table.

Items (``pk`` / ``sk``):

- a document: ``DOC#<id>`` / ``DOC``; index ``by_owner`` (``OWNER#<owner>``,
  ``<created>#<id>``) and ``by_status`` (``STATUS#<status>``, ``<created>#<id>``);
- a prediction: ``PRED#<id>`` / ``PRED``;
- feedback: ``FEEDBACK`` / ``<created>#<id>``; index ``by_version``
  (``FEEDBACK#<model version>``, ``<created>#<id>``);
- a storage event handled (the OCR function's ledger): ``EVENT#<key>`` / ``EVENT``,
  deleted by the table's TTL on ``expiration``.

Numbers and nested values are stored as strings and JSON (the low-level client
then needs no Decimal juggling). The idempotent claim is one conditional update.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from app.adapters.aws import client as aws_client
from app.adapters.marker_holds import DEFAULT_TTL_SECONDS, MarkerHolds
from app.adapters.record_fields import to_document_record, to_feedback, to_prediction_record
from app.domain.documents import (
    DocumentExistsError,
    DocumentNotFoundError,
    DocumentPrediction,
    DocumentRecord,
    DocumentStatus,
    NewDocument,
)
from app.domain.feedback import Feedback
from app.domain.predictions import PredictionNotFoundError, PredictionRecord
from contracts.tables import TABLE_SCHEMA as TABLE_SCHEMA  # the table, declared with infra


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": repr(value)}


def _now() -> datetime:
    return datetime.now(UTC)


class _Table:
    def __init__(self, table: str, client: Any) -> None:
        self.table = table
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("dynamodb")
        return self._client

    def _conditional_failed(self, exc: Exception) -> bool:
        response = getattr(exc, "response", {})
        return bool(response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")

    def _query(self, index: str, prefix: str, key: str, limit: int, **extra: Any) -> list[dict]:
        return self._paged(
            limit,
            IndexName=index,
            KeyConditionExpression=f"{prefix}pk = :k",
            ExpressionAttributeValues={":k": _s(key), **extra.pop("values", {})},
            **extra,
        )

    def _paged(self, limit: int, **query: Any) -> list[dict]:
        """Newest first, following pages until ``limit`` items."""
        items: list[dict] = []
        kwargs: dict[str, Any] = {"TableName": self.table, "ScanIndexForward": False, **query}
        while len(items) < limit:
            page = self.client.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return items[:limit]


class DynamoDocumentRecords(_Table):
    """Example::

    records = DynamoDocumentRecords("mlops-records")
    records.claim("8f0c", lease_seconds=300)   # one conditional update: exactly one winner
    """

    def __init__(
        self, table: str, *, client: Any = None, retention_seconds: int | None = None
    ) -> None:
        super().__init__(table, client)
        # A finished record expires (the table's TTL deletes it) this long after it finished.
        self.retention_seconds = retention_seconds

    def create(self, document: NewDocument) -> DocumentRecord:
        from botocore.exceptions import ClientError

        stamp = document.created_at.isoformat()
        order = f"{stamp}#{document.id}"
        item = {
            "pk": _s(f"DOC#{document.id}"),
            "sk": _s("DOC"),
            "gsi1pk": _s(f"OWNER#{document.owner}"),
            "gsi1sk": _s(order),
            "gsi2pk": _s(f"STATUS#{DocumentStatus.PENDING.value}"),
            "gsi2sk": _s(order),
            "id": _s(document.id),
            "owner": _s(document.owner),
            "object_key": _s(document.object_key),
            "filename": _s(document.filename),
            "media_type": _s(document.media_type),
            "size": _n(document.size),
            "status": _s(DocumentStatus.PENDING.value),
            "created_at": _s(stamp),
            "updated_at": _s(stamp),
            "attempts": _n(0),
        }
        try:
            self.client.put_item(
                TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if self._conditional_failed(exc):
                raise DocumentExistsError(document.id) from exc
            raise
        return _to_record(item)

    def get(self, document_id: str) -> DocumentRecord:
        answer = self.client.get_item(
            TableName=self.table,
            Key={"pk": _s(f"DOC#{document_id}"), "sk": _s("DOC")},
            ConsistentRead=True,
        )
        if "Item" not in answer:
            raise DocumentNotFoundError(document_id)
        return _to_record(answer["Item"])

    def _update(
        self,
        document_id: str,
        sets: dict[str, dict[str, str]],
        condition: str,
        *,
        increment: str | None = None,
        **values: Any,
    ) -> dict | None:
        """Apply ``sets`` (and add 1 to ``increment``) if ``condition`` holds; the new
        item, or None if it did not."""
        from botocore.exceptions import ClientError

        names = {f"#{k}": k for k in sets}
        expression = "SET " + ", ".join(f"#{k} = :{k}" for k in sets)
        if increment is not None:
            expression += f" ADD #{increment} :one"
            names[f"#{increment}"] = increment
            values["one"] = _n(1)
        try:
            answer = self.client.update_item(
                TableName=self.table,
                Key={"pk": _s(f"DOC#{document_id}"), "sk": _s("DOC")},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={**names, "#status": "status"},
                ExpressionAttributeValues={
                    **{f":{k}": v for k, v in sets.items()},
                    **{f":{k}": v for k, v in values.items()},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if self._conditional_failed(exc):
                return None
            raise
        item: dict = answer["Attributes"]
        return item

    def _status(self, document_id: str, status: DocumentStatus) -> dict[str, dict[str, str]]:
        return {
            "status": _s(status.value),
            "gsi2pk": _s(f"STATUS#{status.value}"),
            "updated_at": _s(_now().isoformat()),
        }

    def claim(self, document_id: str, *, lease_seconds: float) -> DocumentRecord | None:
        now = time.time()
        # One conditional write, the attempt counted in the same write: the winner
        # pays a single round trip; only a loser reads, to tell "taken" from "absent".
        item = self._update(
            document_id,
            {
                **self._status(document_id, DocumentStatus.PROCESSING),
                "claimed_at": _n(now),
                "lease_until": _n(now + lease_seconds),
            },
            "attribute_exists(pk) AND (#status = :pending"
            " OR (#status = :processing_now AND lease_until < :now_ts))",
            increment="attempts",
            pending=_s(DocumentStatus.PENDING.value),
            processing_now=_s(DocumentStatus.PROCESSING.value),
            now_ts=_n(now),
        )
        if item is None:
            self.get(document_id)  # raises DocumentNotFoundError for an unknown id
            return None
        return _to_record(item)

    def release(self, document_id: str, *, attempt: int) -> bool:
        item = self._update(
            document_id,
            {
                **self._status(document_id, DocumentStatus.PENDING),
                "lease_until": _n(0),
                "attempts": _n(attempt - 1),
            },
            # Only the claim that is still this attempt's: not a later one, not a finish.
            "#status = :processing_now AND #attempts = :attempt",
            processing_now=_s(DocumentStatus.PROCESSING.value),
            attempt=_n(attempt),
        )
        return item is not None

    def _finish(self, document_id: str, sets: dict[str, dict[str, str]]) -> DocumentRecord:
        item = self._update(document_id, sets, "attribute_exists(pk)")
        if item is None:
            raise DocumentNotFoundError(document_id)
        return _to_record(item)

    def complete(
        self,
        document_id: str,
        *,
        text: str,
        language: str,
        prediction: DocumentPrediction,
        size: int | None = None,
    ) -> DocumentRecord:
        sets = {
            **self._status(document_id, DocumentStatus.DONE),
            "text": _s(text),
            "language": _s(language),
            "prediction": _s(json.dumps(asdict(prediction))),
            "lease_until": _n(0),
            **_expiry(self.retention_seconds),
        }
        if size is not None:
            sets["size"] = _n(size)
        return self._finish(document_id, sets)

    def fail(self, document_id: str, *, reason: str) -> DocumentRecord:
        return self._finish(
            document_id,
            {
                **self._status(document_id, DocumentStatus.FAILED),
                "error": _s(reason),
                **_expiry(self.retention_seconds),
            },
        )

    def list(
        self,
        *,
        owner: str | None = None,
        status: DocumentStatus | None = None,
        limit: int = 100,
    ) -> Sequence[DocumentRecord]:
        if owner is not None:
            extra: dict[str, Any] = {}
            if status is not None:
                extra = {
                    "FilterExpression": "#status = :s",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "values": {":s": _s(status.value)},
                }
            items = self._query("by_owner", "gsi1", f"OWNER#{owner}", limit, **extra)
        else:
            statuses = [status] if status is not None else list(DocumentStatus)
            items = [
                item
                for s in statuses
                for item in self._query("by_status", "gsi2", f"STATUS#{s.value}", limit)
            ]
            items.sort(key=lambda i: i["gsi2sk"]["S"], reverse=True)
        return [_to_record(item) for item in items[:limit]]

    def requeue_stuck(self, *, older_than_seconds: float) -> int:
        cutoff = time.time() - older_than_seconds
        stuck = self._query(
            "by_status",
            "gsi2",
            f"STATUS#{DocumentStatus.PROCESSING.value}",
            10_000,
            FilterExpression="claimed_at <= :cutoff",
            values={":cutoff": _n(cutoff)},
        )
        moved = 0
        for item in stuck:
            document_id = item["id"]["S"]
            done = self._update(
                document_id,
                {**self._status(document_id, DocumentStatus.PENDING), "lease_until": _n(0)},
                # Only if nobody claimed it again in between.
                "#status = :processing_now AND claimed_at = :claimed",
                processing_now=_s(DocumentStatus.PROCESSING.value),
                claimed=item["claimed_at"],
            )
            moved += done is not None
        return moved


def _to_record(item: dict) -> DocumentRecord:
    # A document's attributes are strings and numbers; its prediction is JSON text.
    fields: dict[str, Any] = {k: v["S"] for k, v in item.items() if "S" in v}
    fields.update((k, float(v["N"])) for k, v in item.items() if "N" in v)
    prediction = fields.get("prediction")
    fields["prediction"] = json.loads(prediction) if prediction else None
    return to_document_record(fields)


class DynamoFeedbackStore(_Table):
    """Example::

    store = DynamoFeedbackStore("mlops-records")
    store.recent(200, model_version="3")   # one query on the by_version index
    """

    def __init__(
        self, table: str, *, client: Any = None, retention_seconds: int | None = None
    ) -> None:
        super().__init__(table, client)
        # A served prediction (and its text) expires this long after it was served.
        self.retention_seconds = retention_seconds

    def record_predictions(self, predictions: Sequence[PredictionRecord]) -> None:
        for chunk in range(0, len(predictions), 25):  # BatchWriteItem's limit
            requests = [
                {
                    "PutRequest": {
                        "Item": {
                            "pk": _s(f"PRED#{p.id}"),
                            "sk": _s("PRED"),
                            "data": _s(json.dumps({**asdict(p), "created_at": str(p.created_at)})),
                            **_expiry(self.retention_seconds),
                        }
                    }
                }
                for p in predictions[chunk : chunk + 25]
            ]
            pending: dict[str, Any] = {self.table: requests}
            while pending:
                answer = self.client.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}

    def get_prediction(self, prediction_id: str) -> PredictionRecord:
        answer = self.client.get_item(
            TableName=self.table,
            Key={"pk": _s(f"PRED#{prediction_id}"), "sk": _s("PRED")},
            ConsistentRead=True,
        )
        if "Item" not in answer:
            raise PredictionNotFoundError(prediction_id)
        return to_prediction_record(json.loads(answer["Item"]["data"]["S"]))

    def add(self, feedback: Feedback) -> Feedback:
        order = f"{feedback.created_at.isoformat()}#{feedback.id}"
        data = {**asdict(feedback), "created_at": feedback.created_at.isoformat()}
        # A pointer item per subject names its current label, so a newer one replaces it.
        pointer = {"pk": _s(f"FBSUBJECT#{feedback.subject.value}#{feedback.subject_id}")}
        pointer["sk"] = _s("FBSUBJECT")
        previous = self.client.get_item(TableName=self.table, Key=pointer, ConsistentRead=True)
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        "pk": _s("FEEDBACK"),
                        "sk": _s(order),
                        "gsi3pk": _s(f"FEEDBACK#{feedback.model_version}"),
                        "gsi3sk": _s(order),
                        "data": _s(json.dumps(data)),
                    },
                }
            },
            {"Put": {"TableName": self.table, "Item": {**pointer, "current": _s(order)}}},
        ]
        if "Item" in previous:
            old = {"pk": _s("FEEDBACK"), "sk": previous["Item"]["current"]}
            writes.append({"Delete": {"TableName": self.table, "Key": old}})
        self.client.transact_write_items(TransactItems=writes)
        return feedback

    def recent(self, limit: int, *, model_version: str | None = None) -> Sequence[Feedback]:
        if model_version is not None:
            items = self._query("by_version", "gsi3", f"FEEDBACK#{model_version}", limit)
        else:
            items = self._paged(
                limit,
                KeyConditionExpression="pk = :k",
                ExpressionAttributeValues={":k": _s("FEEDBACK")},
            )
        return [to_feedback(json.loads(item["data"]["S"])) for item in items[:limit]]


# The attribute the table's TTL deletes items by (epoch seconds): infra/aws/documents.py.
EXPIRATION = "expiration"


def _expiry(retention_seconds: int | None) -> dict[str, dict[str, str]]:
    """The TTL attribute of an item kept ``retention_seconds`` from now (none: kept)."""
    if not retention_seconds:
        return {}
    return {EXPIRATION: _n(math.ceil(time.time() + retention_seconds))}


_IN_PROGRESS, _DONE = "in_progress", "done"


def _event_item_key(key: str) -> dict[str, dict[str, str]]:
    return {"pk": _s(f"EVENT#{key}"), "sk": _s("EVENT")}


class DynamoEventLedger(_Table):
    """Storage-event deliveries handled, for the OCR function (``EventLedger``), in the
    records table: one item per event key, ``EVENT#<key>`` / ``EVENT``, with ``status``
    (``in_progress`` with a ``lease_until``, or ``done``) and ``expiration``, by which
    the table's TTL deletes it. TTL deletes late (up to days), so an expired item counts
    as absent.

    ``begin`` is one conditional put (absent, expired, or in progress with its lease
    over), ``release`` one conditional delete (in progress and still this delivery's
    ``holder`` token): DynamoDB decides each atomically, no read first.

    Example::

        ledger = DynamoEventLedger("mlops-records")
        if ledger.begin("uploads/uploads/8f0c@9b2cf5", lease_seconds=900, ttl_seconds=604800):
            ...                                    # process the upload once
            ledger.finish("uploads/uploads/8f0c@9b2cf5")
    """

    def __init__(self, table: str, *, client: Any = None) -> None:
        super().__init__(table, client)
        self._holds = MarkerHolds()

    def begin(self, key: str, *, lease_seconds: float, ttl_seconds: int) -> bool:
        return self._holds.begin(
            key, ttl_seconds, lambda token: self._put_marker(key, token, lease_seconds, ttl_seconds)
        )

    def _put_marker(self, key: str, token: str, lease_seconds: float, ttl_seconds: int) -> bool:
        from botocore.exceptions import ClientError

        now = time.time()
        item = {
            **_event_item_key(key),
            "key": _s(key),
            "status": _s(_IN_PROGRESS),
            "holder": _s(token),
            "lease_until": _n(now + lease_seconds),
            EXPIRATION: _n(math.ceil(now + ttl_seconds)),
        }
        try:
            self.client.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression=(
                    "attribute_not_exists(pk) OR #expiration <= :now"
                    " OR (#status = :in_progress AND #lease_until <= :now)"
                ),
                ExpressionAttributeNames={
                    "#expiration": EXPIRATION,
                    "#status": "status",
                    "#lease_until": "lease_until",
                },
                ExpressionAttributeValues={":now": _n(now), ":in_progress": _s(_IN_PROGRESS)},
            )
        except ClientError as exc:
            if self._conditional_failed(exc):
                return False  # finished, or another delivery holds it
            raise
        return True

    def finish(self, key: str) -> None:
        hold = self._holds.pop(key)
        ttl = hold.ttl_seconds if hold is not None else DEFAULT_TTL_SECONDS
        item = {
            **_event_item_key(key),
            "key": _s(key),
            "status": _s(_DONE),
            EXPIRATION: _n(math.ceil(time.time() + ttl)),
        }
        self.client.put_item(TableName=self.table, Item=item)

    def release(self, key: str) -> None:
        from botocore.exceptions import ClientError

        hold = self._holds.pop(key)
        if hold is None:
            return  # this process began no delivery of it
        try:
            self.client.delete_item(
                TableName=self.table,
                Key=_event_item_key(key),
                ConditionExpression="#status = :in_progress AND #holder = :holder",
                ExpressionAttributeNames={"#status": "status", "#holder": "holder"},
                ExpressionAttributeValues={
                    ":in_progress": _s(_IN_PROGRESS),
                    ":holder": _s(hold.token),
                },
            )
        except ClientError as exc:
            if not self._conditional_failed(exc):
                raise
            # Finished, or taken over by a delivery that began after this one's lease.
