"""An in-memory classifier: what the app and the OCR functions call per request."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from app.domain.predictions import ModelRef, Prediction
from app.model.estimator import TEXT_COLUMN

if TYPE_CHECKING:
    from app.services.drift import ReferenceProfile

Proba = Callable[[list[str]], Any]


def _direct_proba(estimator: Any) -> Proba | None:
    """For ``Pipeline([ColumnTransformer(text transformers over "text"), classifier])``
    return a ``predict_proba`` over raw texts that skips the ColumnTransformer.

    ColumnTransformer costs ~3 ms per single-text call (validation, output
    containers, a joblib dispatch) — more than the TF-IDF work itself. Calling
    its fitted transformers on the raw texts and stacking them gives the same
    matrix; ``tests/unit/model`` checks the probabilities match. Any other shape
    of model falls back to the pipeline itself.
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
    compiled = _compiled(fitted, classifier)
    if compiled is not None:
        return compiled

    def proba(texts: list[str]) -> Any:
        return classifier.predict_proba(
            sparse.hstack([t.transform(texts) for t in fitted], format="csr")
        )

    return proba


def _compiled(fitted: list[Any], classifier: Any) -> Proba | None:
    """The default model (hashed TF-IDF branches + multinomial logistic regression)
    evaluated with plain array arithmetic.

    Per single-text call, scikit-learn's input validation costs more than the
    arithmetic (~0.3 ms per TF-IDF step, ~0.15 ms in ``predict_proba``). The
    fitted hashers still do the tokenising; the TF-IDF weighting, the l2 norm and
    the softmax are the documented formulas over the fitted ``idf_``, ``coef_``
    and ``intercept_``. Since a row's l2 scaling commutes with the linear layer,
    each branch is multiplied by its slice of the weights first and scaled after.
    A unit test checks the probabilities match the pipeline's to 1e-9.
    """
    import numpy as np
    from scipy import sparse
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    if type(classifier) is not LogisticRegression or classifier.coef_.shape[0] < 3:
        return None
    branches = []
    offset = 0
    weights = np.asarray(classifier.coef_).T
    for transformer in fitted:
        if not isinstance(transformer, Pipeline) or len(transformer.steps) != 2:
            return None
        hasher, tfidf = transformer.steps[0][1], transformer.steps[1][1]
        if type(hasher) is not HashingVectorizer or type(tfidf) is not TfidfTransformer:
            return None
        if hasher.norm is not None or hasher.binary or tfidf.norm != "l2" or not tfidf.use_idf:
            return None
        width = hasher.n_features
        branches.append(
            (
                hasher,
                tfidf.sublinear_tf,
                np.asarray(tfidf.idf_),
                np.ascontiguousarray(weights[offset : offset + width]),
            )
        )
        offset += width
    if offset != weights.shape[0]:
        return None
    intercept = np.asarray(classifier.intercept_)

    def proba(texts: list[str]) -> Any:
        scores = np.tile(intercept, (len(texts), 1))
        for hasher, sublinear, idf, block in branches:
            counts = hasher.transform(texts)
            data = counts.data.astype(np.float64)
            if sublinear:
                np.log(data, out=data)
                data += 1.0
            data *= idf[counts.indices]
            rows = np.repeat(np.arange(len(texts)), np.diff(counts.indptr))
            norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=len(texts)))
            norms[norms == 0] = 1.0
            weighted = sparse.csr_matrix((data, counts.indices, counts.indptr), shape=counts.shape)
            scores += np.asarray(weighted @ block) / norms[:, None]
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores

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
