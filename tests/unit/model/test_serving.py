"""The serving fast path must answer exactly what the logged pipeline answers."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from app.domain.predictions import ModelRef
from app.model.estimator import build_estimator
from app.model.serving import SklearnClassifier
from app.synth.documents import iter_documents


@pytest.fixture(scope="module")
def fitted():
    docs = list(iter_documents(per_class=12, seed=3))
    estimator = build_estimator()
    estimator.fit(pd.DataFrame({"text": [d.text for d in docs]}), [d.label for d in docs])
    return estimator


def test_fast_path_probabilities_equal_the_pipeline(fitted):
    texts = [d.text for d in iter_documents(per_class=2, seed=11)] + ["x", "Facture TVA"]
    model = SklearnClassifier(ModelRef("m", "1"), fitted)
    assert model._direct is not None
    expected = fitted.predict_proba(pd.DataFrame({"text": texts}))
    np.testing.assert_allclose(model.predict_proba(texts), expected, rtol=0, atol=1e-9)


def test_one_prediction_per_text_with_labels_and_confidences(fitted):
    model = SklearnClassifier(ModelRef("m", "1"), fitted)
    predictions = model.predict(["Invoice number 42 total due", "Dear Madam, yours sincerely"])
    assert len(predictions) == 2
    for p in predictions:
        assert p.label in model.labels
        assert p.confidence == pytest.approx(max(p.probabilities.values()), abs=1e-6)


def test_other_model_shapes_fall_back_to_the_pipeline():
    estimator = Pipeline(
        [
            ("len", FunctionTransformer(lambda df: np.c_[df["text"].str.len().to_numpy()])),
            ("clf", LogisticRegression()),
        ]
    )
    estimator.fit(pd.DataFrame({"text": ["a", "bb", "cccccc", "ddddddd"]}), ["s", "s", "l", "l"])
    model = SklearnClassifier(ModelRef("m", "1"), estimator)
    assert model._direct is None
    assert model.predict(["eeeeeeeee"])[0].label == "l"
