"""The fields every document store keeps, and the domain records read back from them.

Each adapter decodes its own storage format into a plain mapping (JSON strings parsed,
numbers as numbers) and names how it stores times (``when``); the field names, the
changes a record goes through and the record built from them are the same everywhere.
No I/O and no SDK here.

Example::

    fields = {**new_record_fields(document, document.created_at.isoformat()), "pk": document.id}
    record = to_document_record(stored_item)   # times stored as ISO 8601 text by default
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from app.domain.documents import (
    DocumentPrediction,
    DocumentRecord,
    DocumentStatus,
    NewDocument,
)
from app.domain.feedback import Feedback, FeedbackSubject
from app.domain.predictions import PredictionRecord

# How a store's time value becomes a datetime: ISO 8601 text unless the store says otherwise.
ReadTime = Callable[[Any], datetime]


def new_record_fields(document: NewDocument, stamp: object) -> dict[str, Any]:
    """A ``pending`` record's fields, created and updated at ``stamp`` (in the store's format)."""
    return {
        "id": document.id,
        "owner": document.owner,
        "object_key": document.object_key,
        "filename": document.filename,
        "media_type": document.media_type,
        "size": document.size,
        "status": DocumentStatus.PENDING.value,
        "created_at": stamp,
        "updated_at": stamp,
        "attempts": 0,
    }


def claimed_fields(
    item: Mapping[str, Any], *, now: object, lease_until: object, updated_at: object
) -> dict[str, Any]:
    """What a claim changes: ``processing`` under a lease, one more attempt counted."""
    return {
        "status": DocumentStatus.PROCESSING.value,
        "claimed_at": now,
        "lease_until": lease_until,
        "attempts": int(item.get("attempts", 0)) + 1,
        "updated_at": updated_at,
    }


def released_fields(*, attempt: int, lease_until: object, updated_at: object) -> dict[str, Any]:
    """What handing claim number ``attempt`` back changes: ``pending`` again, that attempt
    uncounted (``lease_until`` is the store's "no lease")."""
    return {
        "status": DocumentStatus.PENDING.value,
        "lease_until": lease_until,
        "attempts": attempt - 1,
        "updated_at": updated_at,
    }


def completed_fields(
    *, text: str, language: str, prediction: DocumentPrediction, size: int | None
) -> dict[str, Any]:
    """What ``complete`` changes; the size only when the bytes read are given."""
    changes: dict[str, Any] = {
        "status": DocumentStatus.DONE.value,
        "text": text,
        "language": language,
        "prediction": asdict(prediction),
        "error": None,
    }
    if size is not None:
        changes["size"] = size
    return changes


def failed_fields(reason: str) -> dict[str, Any]:
    """What ``fail`` changes."""
    return {"status": DocumentStatus.FAILED.value, "error": reason}


def to_document_record(
    item: Mapping[str, Any], *, when: ReadTime = datetime.fromisoformat
) -> DocumentRecord:
    """A record from its stored fields; ``prediction`` is a mapping (or absent)."""
    prediction = item.get("prediction")
    return DocumentRecord(
        id=item["id"],
        owner=item["owner"],
        object_key=item["object_key"],
        filename=item["filename"],
        media_type=item["media_type"],
        size=int(item["size"]),
        status=DocumentStatus(item["status"]),
        created_at=when(item["created_at"]),
        updated_at=when(item["updated_at"]),
        text=item.get("text"),
        language=item.get("language"),
        prediction=DocumentPrediction(**prediction) if prediction else None,
        error=item.get("error"),
        attempts=int(item.get("attempts", 0)),
    )


def to_prediction_record(
    item: Mapping[str, Any], *, when: ReadTime = datetime.fromisoformat
) -> PredictionRecord:
    """A served prediction from its stored fields (the store's own extra fields ignored)."""
    return PredictionRecord(
        **{**_own_fields(PredictionRecord, item), "created_at": when(item["created_at"])}
    )


def to_feedback(item: Mapping[str, Any], *, when: ReadTime = datetime.fromisoformat) -> Feedback:
    """A label from its stored fields (the store's own extra fields ignored)."""
    return Feedback(
        **{
            **_own_fields(Feedback, item),
            "subject": FeedbackSubject(item["subject"]),
            "created_at": when(item["created_at"]),
        }
    )


def _own_fields(kind: type, item: Mapping[str, Any]) -> dict[str, Any]:
    """The values of ``item`` that are fields of the dataclass ``kind``."""
    return {f.name: item[f.name] for f in fields(kind) if f.name in item}
