"""Users telling us the true label of a document or a prediction."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from app.domain.documents import DocumentNotFoundError, DocumentStatus
from app.domain.feedback import Feedback, FeedbackSubject
from app.domain.identity import Principal
from app.domain.labels import DOCUMENT_CLASSES
from app.domain.predictions import PredictionNotFoundError, UnknownLabelError
from app.ports import DocumentRecords, FeedbackStore


class DocumentNotReadyError(Exception):
    def __init__(self, document_id: str, status: str) -> None:
        super().__init__(
            f"Document {document_id!r} is {status}; feedback is taken once it is done."
        )


@dataclass
class FeedbackService:
    """Example::

    service.for_prediction(principal, prediction_id, "receipt")
    """

    records: DocumentRecords
    store: FeedbackStore
    listeners: list[Callable[[Feedback], object]] = field(default_factory=list)

    def _check_label(self, label: str) -> None:
        if label not in DOCUMENT_CLASSES:
            raise UnknownLabelError(label, DOCUMENT_CLASSES)

    def for_document(self, principal: Principal, document_id: str, label: str) -> Feedback:
        self._check_label(label)
        record = self.records.get(document_id)
        if not principal.can_see(record.owner):
            raise DocumentNotFoundError(document_id)
        if record.status is not DocumentStatus.DONE or record.prediction is None:
            raise DocumentNotReadyError(document_id, record.status.value)
        return self._add(
            Feedback(
                id=uuid.uuid4().hex,
                subject=FeedbackSubject.DOCUMENT,
                subject_id=document_id,
                owner=principal.subject,
                true_label=label,
                predicted_label=record.prediction.label,
                model_version=record.prediction.model_version,
                text=record.text,
            )
        )

    def for_prediction(self, principal: Principal, prediction_id: str, label: str) -> Feedback:
        self._check_label(label)
        prediction = self.store.get_prediction(prediction_id)
        if not principal.can_see(prediction.owner):
            raise PredictionNotFoundError(prediction_id)
        return self._add(
            Feedback(
                id=uuid.uuid4().hex,
                subject=FeedbackSubject.PREDICTION,
                subject_id=prediction_id,
                owner=principal.subject,
                true_label=label,
                predicted_label=prediction.label,
                model_version=prediction.model_version,
                text=prediction.text,
            )
        )

    def _add(self, feedback: Feedback) -> Feedback:
        stored = self.store.add(feedback)
        for listener in self.listeners:
            listener(stored)
        return stored
