"""Classifying texts on request and keeping a record of what was answered."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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


@dataclass
class PredictionService:
    """Example::

    batch = service.predict(principal, ["Invoice n° 42 ...", "Dear Sir, ..."])
    batch.predictions[0].label   # 'invoice'
    """

    models: ModelHolder
    store: FeedbackStore
    on_predicted: Callable[[PredictionBatch], None] | None = None

    def predict(self, principal: Principal, texts: Sequence[str]) -> PredictionBatch:
        model = self.models.current  # one model for the whole batch, even across a swap
        predictions = model.predict([clean_text(t) for t in texts])
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
        batch = PredictionBatch(ids=ids, predictions=predictions, model=model.ref)
        if self.on_predicted is not None:
            self.on_predicted(batch)
        return batch
