"""An in-memory classifier: what the app and the OCR functions call per request."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from app.domain.predictions import ModelRef, Prediction
from app.model.estimator import TEXT_COLUMN


def _direct_features(estimator: Any) -> tuple[Callable[[list[str]], Any], Any] | None:
    """For ``Pipeline([ColumnTransformer(text transformers over "text"), classifier])``
    return (features, classifier) that skip the ColumnTransformer's per-call overhead.

    ColumnTransformer costs ~3 ms per single-text call (validation, output
    containers, a joblib dispatch) — more than the TF-IDF work itself. Calling
    its fitted transformers on the raw texts and stacking them gives the same
    matrix; ``tests/unit/model`` checks the probabilities are identical. Any
    other shape of model falls back to the pipeline itself.
    """
    try:
        from scipy import sparse
        from sklearn.compose import ColumnTransformer
        from sklearn.pipeline import Pipeline
    except ImportError:
        return None
    if not isinstance(estimator, Pipeline) or len(estimator.steps) != 2:
        return None
    features, classifier = estimator.steps[0][1], estimator.steps[1][1]
    if not isinstance(features, ColumnTransformer) or features.remainder != "drop":
        return None
    fitted = []
    for name, transformer, columns in features.transformers_:
        if name == "remainder" and transformer == "drop":
            continue
        if columns != TEXT_COLUMN or transformer in ("drop", "passthrough"):
            return None
        fitted.append(transformer)
    if not fitted or not hasattr(classifier, "predict_proba"):
        return None

    def transform(texts: list[str]) -> Any:
        return sparse.hstack([t.transform(texts) for t in fitted], format="csr")

    return transform, classifier


class SklearnClassifier:
    """Wraps a fitted pipeline whose first step reads a ``text`` column.

    Example::

        model = SklearnClassifier(ModelRef("document-classifier", "3"), pipeline)
        model.predict(["FACTURE n° 2024-118 ..."])[0].label  # 'invoice'
    """

    def __init__(self, ref: ModelRef, estimator: Any) -> None:
        self.ref = ref
        self._estimator = estimator
        self._direct = _direct_features(estimator)
        self.labels: tuple[str, ...] = tuple(str(c) for c in estimator.classes_)

    def predict_proba(self, texts: Sequence[str]) -> Any:
        if self._direct is not None:
            transform, classifier = self._direct
            return classifier.predict_proba(transform(list(texts)))
        import pandas as pd

        return self._estimator.predict_proba(pd.DataFrame({TEXT_COLUMN: list(texts)}))

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        predictions = []
        for row in self.predict_proba(texts):
            best = int(row.argmax())
            predictions.append(
                Prediction(
                    label=self.labels[best],
                    confidence=round(float(row[best]), 6),
                    probabilities={
                        label: round(float(p), 6) for label, p in zip(self.labels, row, strict=True)
                    },
                )
            )
        return predictions
