"""The document pipeline: stored upload → OCR → clean → classify → record.

Every entrypoint calls this same code: the local in-process worker, the AWS
Lambda, the Azure Function and the Cloud Run OCR service.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from app.domain.documents import (
    DocumentPrediction,
    DocumentRecord,
    DocumentUploaded,
    ObjectNotFoundError,
    StorageUnavailableError,
    document_id_from_key,
)
from app.ocr.errors import UnreadableDocumentError
from app.ocr.reader import OcrResult
from app.ports import Classifier, DocumentRecords, ObjectStore
from app.services.model_holder import ModelHolder
from app.text.cleaning import prepare_text

log = logging.getLogger(__name__)

Reader = Callable[[bytes], OcrResult]


@dataclass
class DocumentPipeline:
    """Processes one uploaded document, at most once per upload.

    Example::

        pipeline = DocumentPipeline(objects, records, reader, models)
        event = DocumentUploaded(bucket="uploads", key="uploads/d1", version="e1", size=812)
        pipeline.handle(event)
    """

    objects: ObjectStore
    records: DocumentRecords
    read: Reader
    models: ModelHolder
    lease_seconds: float = 900.0
    max_attempts: int = 3
    listeners: list[Callable[[DocumentRecord], object]] = field(default_factory=list)

    def handle(self, event: DocumentUploaded) -> DocumentRecord | None:
        return self.process(document_id_from_key(event.key))

    def process(self, document_id: str) -> DocumentRecord | None:
        """Return the finished record, or ``None`` if another delivery owns it."""
        # Checked before claiming: without a model the event must be retried
        # later, with the record still pending, rather than failed.
        model = self.models.current
        record = self.records.claim(document_id, lease_seconds=self.lease_seconds)
        if record is None:
            log.info("document %s is already claimed or finished; skipping", document_id)
            return None
        try:
            return self._run(record, model)
        except StorageUnavailableError:
            # The delivery is retried. The claim is handed back so that retry can take
            # it at once (and this attempt is not counted as an interruption); if even
            # that write fails, the retry claims the record when its lease ends.
            log.warning("document %s: storage unavailable; the event will be retried", document_id)
            self._hand_back(record)
            raise

    def _hand_back(self, record: DocumentRecord) -> None:
        try:
            self.records.release(record.id, attempt=record.attempts)
        except StorageUnavailableError:
            log.warning("document %s: the claim stays until its lease ends", record.id)

    def _run(self, record: DocumentRecord, model: Classifier) -> DocumentRecord:
        document_id = record.id
        if record.attempts > self.max_attempts:
            return self._finish(
                self.records.fail(
                    document_id,
                    reason=f"Processing was interrupted {record.attempts - 1} times;"
                    " upload the document again.",
                )
            )
        try:
            data = self.objects.get(record.object_key)
            ocr = self.read(data)
            clean = prepare_text(ocr.text)
            if not clean.text.strip():
                return self._finish(
                    self.records.fail(
                        document_id,
                        reason="No text was found in the document; upload a clearer scan.",
                    )
                )
            prediction = model.predict([clean.text])[0]
        except UnreadableDocumentError as exc:
            return self._finish(self.records.fail(document_id, reason=str(exc)))
        except StorageUnavailableError:
            raise  # handed back by process()
        except ObjectNotFoundError:
            return self._finish(
                self.records.fail(
                    document_id, reason="The uploaded file was not stored; upload it again."
                )
            )
        except Exception:
            log.exception("document %s failed unexpectedly", document_id)
            return self._finish(
                self.records.fail(
                    document_id,
                    reason="Processing failed unexpectedly; upload the document again"
                    " or contact the operator.",
                )
            )
        return self._finish(
            self.records.complete(
                document_id,
                text=clean.text,
                language=clean.language,
                prediction=DocumentPrediction(
                    label=prediction.label,
                    confidence=prediction.confidence,
                    probabilities=prediction.probabilities,
                    model_name=model.ref.name,
                    model_version=model.ref.version,
                ),
                size=len(data),
            )
        )

    def _finish(self, record: DocumentRecord) -> DocumentRecord:
        for listener in self.listeners:
            listener(record)
        return record
