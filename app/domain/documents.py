"""Documents: what an upload becomes, and the event that starts its processing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar


class DocumentStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


# Stores keep a lease's end as epoch seconds or as a datetime; one is compared with its own kind.
_Time = TypeVar("_Time", float, datetime)


def claimable(status: DocumentStatus | str, lease_until: _Time | None, now: _Time) -> bool:
    """Whether a worker may claim a record: it is pending, or processing under a lease
    that ran out (its worker died) or that it never had.

    Example::

        claimable("processing", lease_until=1_700_000_000.0, now=time.time())   # True
    """
    status = DocumentStatus(status)
    if status is DocumentStatus.PENDING:
        return True
    return status is DocumentStatus.PROCESSING and (lease_until is None or lease_until < now)


def held_by(status: DocumentStatus | str, attempts: int, attempt: int) -> bool:
    """Whether claim number ``attempt`` still holds a record: it is processing under that
    claim, not finished and not claimed again once its lease ran out.

    Example::

        held_by("processing", attempts=2, attempt=1)   # False: a later claim took it
    """
    return DocumentStatus(status) is DocumentStatus.PROCESSING and attempts == attempt


@dataclass(frozen=True)
class DocumentUploaded:
    """The one event every cloud's upload notification is translated into."""

    bucket: str
    key: str
    version: str  # etag or object version: together with bucket/key, the idempotency key
    size: int

    @property
    def idempotency_key(self) -> str:
        return f"{self.bucket}/{self.key}@{self.version}"


@dataclass(frozen=True)
class PresignedUpload:
    """How a client sends a document's bytes straight to storage.

    ``POST``: a multipart form with ``fields`` then the file as ``file`` (S3).
    ``PUT``: the bytes as the body with ``headers`` (Blob SAS, GCS signed URL,
    the local stand-in).
    """

    url: str
    method: str
    expires_at: datetime
    max_bytes: int
    fields: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DocumentPrediction:
    label: str
    confidence: float
    probabilities: dict[str, float]
    model_name: str
    model_version: str


@dataclass(frozen=True)
class DocumentRecord:
    id: str
    owner: str
    object_key: str
    filename: str
    media_type: str
    size: int
    status: DocumentStatus
    created_at: datetime
    updated_at: datetime
    text: str | None = None
    language: str | None = None
    prediction: DocumentPrediction | None = None
    error: str | None = None
    attempts: int = 0


@dataclass(frozen=True)
class NewDocument:
    id: str
    owner: str
    object_key: str
    filename: str
    media_type: str
    size: int
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class DocumentError(Exception):
    """Base of document errors; the message is a sentence a user can act on."""


class DocumentNotFoundError(DocumentError):
    def __init__(self, document_id: str) -> None:
        super().__init__(f"Document {document_id!r} was not found.")
        self.document_id = document_id


class DocumentExistsError(DocumentError):
    def __init__(self, document_id: str) -> None:
        super().__init__(f"Document {document_id!r} already exists.")
        self.document_id = document_id


class ObjectNotFoundError(DocumentError):
    def __init__(self, key: str) -> None:
        super().__init__(f"Stored object {key!r} was not found.")
        self.key = key


class StorageUnavailableError(DocumentError):
    """Storage is throttling or unreachable: worth retrying, not a bad document."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"Stored object {key!r} could not be read now ({reason}).")
        self.key = key


class StorageDamagedError(StorageUnavailableError):
    """A store's own data is gone or unreadable (deleted, replaced or corrupt): retrying
    will not help; an operator must act. The message names the store and the fix."""

    def __init__(self, message: str) -> None:
        DocumentError.__init__(self, message)
        self.key = ""


class InvalidObjectKeyError(DocumentError):
    def __init__(self, key: str) -> None:
        super().__init__(
            f"Object key {key!r} is not allowed: use letters, digits, '-', '_', '.', '/'."
        )
        self.key = key


UPLOAD_PREFIX = "uploads/"

# Keys are built by the service, never from user filenames; every object store
# refuses anything else, so a key can never reach outside its bucket or folder.
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_\-.]+(/[A-Za-z0-9_\-.]+)*$")


def check_object_key(key: str) -> str:
    """Return ``key`` if it is a plain relative key; raise ``InvalidObjectKeyError``."""
    if not _SAFE_KEY.match(key) or any(part in {".", ".."} for part in key.split("/")):
        raise InvalidObjectKeyError(key)
    return key


def object_key_for(document_id: str) -> str:
    """Where a document's bytes live; user filenames never become part of a key."""
    return f"{UPLOAD_PREFIX}{document_id}"


def document_id_from_key(key: str) -> str:
    """Inverse of :func:`object_key_for`, for keys coming back in storage events."""
    if not key.startswith(UPLOAD_PREFIX) or "/" in key[len(UPLOAD_PREFIX) :]:
        raise InvalidObjectKeyError(key)
    return key[len(UPLOAD_PREFIX) :]
