"""What every cloud's OCR function does with one upload, once its event is translated.

A function turns its cloud's storage event (S3 notification, Event Grid
``BlobCreated``, storage ``finalized`` CloudEvent) into a
:class:`~app.domain.documents.DocumentUploaded` and hands it to
:meth:`UploadWorker.handle`, which:

- skips objects outside ``uploads/`` of the uploads bucket (a storage account's events
  cover its other containers, and a bucket may hold other things);
- asks the :class:`~app.ports.EventLedger` whether this delivery is the first of that
  object version: storage events are delivered at least once, and a duplicate must not
  OCR the document a second time (the record's claim is the second guard). A duplicate
  is acknowledged only once the document is finished; while another attempt holds it,
  :class:`DeliveryInProgressError` makes the cloud deliver it again later, so an attempt
  that crashed is never acknowledged by its retry;
- loads the champion model on first use and re-resolves its alias every poll interval;
- runs the pipeline; a transient failure releases the ledger entry and raises, so the
  cloud delivers the event again (and finally dead-letters it).

Example::

    worker = build_upload_worker(build_container(get_settings()))   # app.bootstrap
    worker.handle(DocumentUploaded("uploads", "uploads/8f0c", '"0x8DC"', 48213))
    # {"status": "done", "document_id": "8f0c"}
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.domain.documents import (
    DocumentNotFoundError,
    DocumentStatus,
    DocumentUploaded,
    InvalidObjectKeyError,
    check_object_key,
    document_id_from_key,
)

if TYPE_CHECKING:
    from app.ports import DocumentRecords, EventLedger
    from app.services.model_holder import ModelHolder
    from app.services.pipeline import DocumentPipeline

log = logging.getLogger(__name__)

# Finished entries are remembered for a week. A delivery that neither finished nor
# released its entry (the process died) may be taken over after its lease.
REMEMBER_SECONDS = 7 * 24 * 3600


class DeliveryInProgressError(Exception):
    """Another delivery of this upload holds it: retry later (the cloud redelivers)."""

    def __init__(self, document_id: str) -> None:
        super().__init__(f"document {document_id} is being processed by another delivery")


@dataclass
class ModelFreshness:
    """Load the champion on first use, then re-resolve its alias every ``poll`` seconds;
    while a model is loaded, a failed refresh keeps it."""

    holder: ModelHolder
    poll: float
    due: float = 0.0

    def ensure(self) -> None:
        if self.holder.loaded is not None and (self.poll <= 0 or time.monotonic() < self.due):
            return
        try:
            self.holder.refresh()
        except Exception:
            if self.holder.loaded is None:
                raise
            log.warning("model refresh failed; keeping the loaded version", exc_info=True)
        self.due = time.monotonic() + self.poll


class UploadWorker:
    """One process's handler of upload events (built once, reused for every event).

    ``bucket`` is the one the pipeline reads uploads from. ``lease_seconds`` is how long
    a delivery may hold the upload (its ledger entry and the record's claim) before a
    redelivery may take it over: a little over the platform's invocation timeout, or, on
    Lambda, the time the invocation has left.
    """

    def __init__(
        self,
        pipeline: DocumentPipeline,
        records: DocumentRecords,
        ledger: EventLedger | None,
        model: ModelFreshness,
        *,
        bucket: str,
        lease_seconds: float,
        remember_seconds: int = REMEMBER_SECONDS,
    ) -> None:
        self.bucket = bucket
        self.pipeline = pipeline
        self.records = records
        self.ledger = ledger
        self.model = model
        self.lease_seconds = lease_seconds
        self.remember_seconds = remember_seconds

    def handle(
        self, upload: DocumentUploaded, *, lease_seconds: float | None = None
    ) -> dict[str, str]:
        """Process one uploaded object; return ``{"status": ...}`` for the log line
        (with ``document_id`` for an upload). ``lease_seconds`` overrides the worker's
        for this delivery."""
        document_id = self._document_of(upload)
        if document_id is None:
            log.info("not an upload; skipped", extra={"bucket": upload.bucket, "key": upload.key})
            return {"status": "skipped"}
        lease = self.lease_seconds if lease_seconds is None else lease_seconds
        key = upload.idempotency_key
        if self.ledger is not None and not self.ledger.begin(
            key, lease_seconds=lease, ttl_seconds=self.remember_seconds
        ):
            self._unless_finished(document_id)
            return {"status": "duplicate", "document_id": document_id}
        try:
            status = self._process(upload, lease)
            if status == "duplicate":
                # The ledger let this delivery in, yet the record is claimed: an attempt
                # that died holding it (the ledger forgot it when its lease ended). Not
                # finished, so it must not be acknowledged: retry until the claim ends.
                self._unless_finished(document_id)
        except BaseException:
            if self.ledger is not None:
                self.ledger.release(key)
            raise
        if self.ledger is not None:
            self.ledger.finish(key)
        return {"status": status, "document_id": document_id}

    def _document_of(self, upload: DocumentUploaded) -> str | None:
        """The id of the document an object is; None for any other object."""
        if upload.bucket != self.bucket:
            return None
        try:
            return document_id_from_key(check_object_key(upload.key))
        except InvalidObjectKeyError:
            return None

    def _unless_finished(self, document_id: str) -> None:
        """A delivery the ledger calls a duplicate is acknowledged only once its document
        is finished; while another attempt holds it (or died holding it), raise so the
        cloud delivers the event again later, when the attempt is done or its lease over."""
        try:
            record = self.records.get(document_id)
        except DocumentNotFoundError:
            return
        if record.status not in (DocumentStatus.DONE, DocumentStatus.FAILED):
            raise DeliveryInProgressError(document_id)

    def _process(self, upload: DocumentUploaded, lease_seconds: float) -> str:
        self.model.ensure()
        # The claim's lease matches the ledger's: a retry after a crash can claim again.
        self.pipeline.lease_seconds = lease_seconds
        try:
            record = self.pipeline.handle(upload)
        except DocumentNotFoundError:
            # Records are written before their objects, so a retry would find none either.
            log.error("an object in uploads/ has no document record; skipped")
            return "orphaned"
        return "duplicate" if record is None else record.status.value
