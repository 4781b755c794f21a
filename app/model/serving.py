"""An in-memory classifier: what the app and the OCR functions call per request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.domain.predictions import ModelRef, Prediction
from app.model.estimator import TEXT_COLUMN


class SklearnClassifier:
    """Wraps a fitted pipeline whose first step reads a ``text`` column.

    Example::

        model = SklearnClassifier(ModelRef("document-classifier", "3"), pipeline)
        model.predict(["FACTURE n° 2024-118 ..."])[0].label  # 'invoice'
    """

    def __init__(self, ref: ModelRef, estimator: Any) -> None:
        import pandas as pd

        self.ref = ref
        self._estimator = estimator
        self._frame = pd.DataFrame
        self.labels: tuple[str, ...] = tuple(str(c) for c in estimator.classes_)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        frame = self._frame({TEXT_COLUMN: list(texts)})
        probabilities = self._estimator.predict_proba(frame)
        predictions = []
        for row in probabilities:
            best = int(row.argmax())
            predictions.append(
                Prediction(
                    label=self.labels[best],
                    confidence=float(row[best]),
                    probabilities={
                        label: round(float(p), 6) for label, p in zip(self.labels, row, strict=True)
                    },
                )
            )
        return predictions
