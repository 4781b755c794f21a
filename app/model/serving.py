"""An in-memory classifier: what the app and the OCR functions call per request."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from app.domain.predictions import ModelRef, Prediction
from app.model.compiled import CompiledModel, compile_estimator
from app.model.estimator import TEXT_COLUMN

if TYPE_CHECKING:
    from app.domain.drift import ReferenceProfile

Proba = Callable[[list[str]], Any]


def _text_branches(estimator: Any) -> tuple[list[Any], Any] | None:
    """For ``Pipeline([ColumnTransformer(text transformers over "text"), classifier])``
    the fitted text transformers and the classifier; ``None`` for any other shape."""
    try:
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
    return fitted, classifier


def compile_pipeline(estimator: Any) -> CompiledModel | None:
    """The default model's arrays (see :mod:`app.model.compiled`), or ``None``."""
    branches = _text_branches(estimator)
    return None if branches is None else compile_estimator(*branches)


def _direct_proba(estimator: Any) -> Proba | None:
    """A ``predict_proba`` over raw texts that skips the ColumnTransformer.

    ColumnTransformer costs ~3 ms per single-text call (validation, output
    containers, a joblib dispatch) — more than the TF-IDF work itself. Calling
    its fitted transformers on the raw texts and stacking them gives the same
    matrix; ``tests/unit/model`` checks the probabilities match. Any other shape
    of model falls back to the pipeline itself.
    """
    branches = _text_branches(estimator)
    if branches is None:
        return None
    fitted, classifier = branches
    # The default model (hashed TF-IDF + logistic regression) as plain array
    # arithmetic: scikit-learn's per-call validation costs more than the work itself.
    compiled = compile_estimator(fitted, classifier)
    if compiled is not None:
        return compiled.proba
    from scipy import sparse

    def proba(texts: list[str]) -> Any:
        return classifier.predict_proba(
            sparse.hstack([t.transform(texts) for t in fitted], format="csr")
        )

    return proba


class SklearnClassifier:
    """Wraps a fitted pipeline whose first step reads a ``text`` column.

    Example::

        model = SklearnClassifier(ModelRef("document-classifier", "3"), pipeline)
        model.predict(["FACTURE n° 2024-118 ..."])[0].label  # 'invoice'
    """

    def __init__(
        self, ref: ModelRef, estimator: Any, *, profile: ReferenceProfile | None = None
    ) -> None:
        self.ref = ref
        self.profile = profile
        self._estimator = estimator
        self._direct = _direct_proba(estimator)
        self.labels: tuple[str, ...] = tuple(str(c) for c in estimator.classes_)

    @classmethod
    def from_compiled(
        cls, ref: ModelRef, compiled: CompiledModel, *, profile: ReferenceProfile | None = None
    ) -> SklearnClassifier:
        """Served from the arrays ``mlops train`` logs next to the pipeline."""
        model = cls.__new__(cls)
        model.ref, model.profile, model._estimator = ref, profile, None
        model._direct = compiled.proba
        model.labels = compiled.classes
        return model

    def predict_proba(self, texts: Sequence[str]) -> Any:
        if self._direct is not None:
            return self._direct(list(texts))
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
