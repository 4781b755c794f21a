"""Accepting uploads and answering for them."""

from __future__ import annotations

import logging
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from app.domain.documents import (
    DocumentError,
    DocumentNotFoundError,
    DocumentRecord,
    DocumentStatus,
    DocumentUploaded,
    NewDocument,
    PresignedUpload,
    document_id_from_key,
    object_key_for,
)
from app.domain.identity import Principal
from app.ocr.sniff import SUPPORTED_MEDIA_TYPES, sniff_media_type
from app.ports import DocumentRecords, ObjectStore

log = logging.getLogger(__name__)


class UploadRejectedError(DocumentError):
    """The upload cannot be accepted; ``kind`` maps to the HTTP status."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "empty" | "too_large" | "unsupported_type" | "already_received"


def display_filename(raw: str | None) -> str:
    """A filename kept for display only: never used to build a path or key."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable())[:200]
    return name or "upload"


@dataclass
class DocumentService:
    """Example::

    record = service.upload(principal, "scan.png", data)   # record.status == "pending"
    service.get(principal, record.id)
    """

    objects: ObjectStore
    records: DocumentRecords
    dispatch: Callable[[DocumentUploaded], object]
    max_bytes: int
    upload_url_expiry_seconds: int = 900

    def upload(self, principal: Principal, filename: str | None, data: bytes) -> DocumentRecord:
        if not data:
            raise UploadRejectedError("empty", "The file is empty (0 bytes); choose another file.")
        if len(data) > self.max_bytes:
            raise UploadRejectedError(
                "too_large",
                f"The file is {len(data)} bytes; the limit is {self.max_bytes} bytes.",
            )
        media_type = sniff_media_type(data)
        if media_type is None:
            raise UploadRejectedError(
                "unsupported_type",
                "The file is not a supported image or PDF (PNG, JPEG, TIFF, WebP, BMP, GIF, PDF).",
            )
        document_id = uuid.uuid4().hex
        key = object_key_for(document_id)
        # The record comes first: in the cloud the storage event may arrive
        # before this call returns, and it must find the record.
        record = self.records.create(
            NewDocument(
                id=document_id,
                owner=principal.subject,
                object_key=key,
                filename=display_filename(filename),
                media_type=media_type,
                size=len(data),
            )
        )
        try:
            version = self.objects.put(key, data, content_type=media_type)
        except Exception:
            self.records.fail(document_id, reason="The file could not be stored; upload it again.")
            raise
        self.dispatch(
            DocumentUploaded(bucket=self.objects.bucket, key=key, version=version, size=len(data))
        )
        return record

    def upload_url(
        self, principal: Principal, filename: str | None, content_type: str
    ) -> tuple[DocumentRecord, PresignedUpload]:
        """A pending record and where to send its bytes directly.

        The record's size is 0 until the bytes arrive; storage enforces the size
        limit and the content type, and its event starts the pipeline.
        """
        media_type = content_type.split(";")[0].strip().lower()
        if media_type not in SUPPORTED_MEDIA_TYPES:
            raise UploadRejectedError(
                "unsupported_type",
                f"{content_type!r} is not a supported type; use one of"
                f" {', '.join(sorted(SUPPORTED_MEDIA_TYPES))}.",
            )
        document_id = uuid.uuid4().hex
        key = object_key_for(document_id)
        record = self.records.create(
            NewDocument(
                id=document_id,
                owner=principal.subject,
                object_key=key,
                filename=display_filename(filename),
                media_type=media_type,
                size=0,
            )
        )
        presigned = self.objects.presign_upload(
            key,
            content_type=media_type,
            max_bytes=self.max_bytes,
            expires_seconds=self.upload_url_expiry_seconds,
        )
        return record, presigned

    def receive_direct(self, key: str, content_type: str, data: bytes) -> None:
        """Bytes sent to a local upload URL: stored, then processed like an S3 event.

        A URL takes one upload: a replay would replace the bytes of a document whose
        result is already given (409).
        """
        record = self.records.get(document_id_from_key(key))
        if record.status is not DocumentStatus.PENDING or self.objects.exists(key):
            raise UploadRejectedError(
                "already_received",
                f"Document {record.id} already has its file; ask for a new upload URL.",
            )
        if not data:
            raise UploadRejectedError("empty", "The file is empty (0 bytes); choose another file.")
        if len(data) > self.max_bytes:
            raise UploadRejectedError(
                "too_large", f"The file is {len(data)} bytes; the limit is {self.max_bytes}."
            )
        if sniff_media_type(data) is None:
            raise UploadRejectedError(
                "unsupported_type",
                "The file is not a supported image or PDF (PNG, JPEG, TIFF, WebP, BMP, GIF, PDF).",
            )
        version = self.objects.put(key, data, content_type=content_type)
        self.dispatch(
            DocumentUploaded(bucket=self.objects.bucket, key=key, version=version, size=len(data))
        )

    def get(self, principal: Principal, document_id: str) -> DocumentRecord:
        record = self.records.get(document_id)
        # Someone else's document is reported as absent, not forbidden: its
        # existence is not ours to reveal.
        if not principal.can_see(record.owner):
            raise DocumentNotFoundError(document_id)
        return record
