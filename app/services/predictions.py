"""Classifying texts on request and keeping a record of what was answered."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.domain.identity import Principal
from app.domain.predictions import ModelRef, Prediction, PredictionRecord
from app.ports import FeedbackStore
from app.services.model_holder import ModelHolder
from app.text.cleaning import clean_text


@dataclass(frozen=True)
class PredictionBatch:
    ids: list[str]
    predictions: list[Prediction]
    model: ModelRef
    texts: list[str]  # as the model saw them (cleaned)


@dataclass
class PredictionService:
    """Example::

    batch = service.predict(principal, ["Invoice n° 42 ...", "Dear Sir, ..."])
    batch.predictions[0].label   # 'invoice'
    """

    models: ModelHolder
    store: FeedbackStore
    listeners: list[Callable[[PredictionBatch], object]] = field(default_factory=list)

    def predict(self, principal: Principal, texts: Sequence[str]) -> PredictionBatch:
        model = self.models.current  # one model for the whole batch, even across a swap
        cleaned = [clean_text(t) for t in texts]
        predictions = model.predict(cleaned)
        ids = [uuid.uuid4().hex for _ in texts]
        self.store.record_predictions(
            [
                PredictionRecord(
                    id=pid,
                    owner=principal.subject,
                    label=p.label,
                    confidence=p.confidence,
                    model_name=model.ref.name,
                    model_version=model.ref.version,
                    text=text,
                )
                for pid, p, text in zip(ids, predictions, texts, strict=True)
            ]
        )
        batch = PredictionBatch(ids=ids, predictions=predictions, model=model.ref, texts=cleaned)
        for listener in self.listeners:
            listener(batch)
        return batch
