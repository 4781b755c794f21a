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


def test_the_compiled_arrays_saved_and_loaded_answer_what_the_pipeline_answers(fitted, tmp_path):
    from app.model.compiled import CompiledModel
    from app.model.serving import compile_pipeline

    compile_pipeline(fitted).save(tmp_path)
    loaded = CompiledModel.load(tmp_path)
    model = SklearnClassifier.from_compiled(ModelRef("m", "1"), loaded)
    texts = [d.text for d in iter_documents(per_class=2, seed=17)] + ["", "Facture TVA"]
    expected = fitted.predict_proba(pd.DataFrame({"text": texts}))
    np.testing.assert_allclose(model.predict_proba(texts), expected, rtol=0, atol=1e-9)
    assert model.labels == tuple(fitted.classes_)
    assert [p.label for p in model.predict(texts)] == list(
        fitted.predict(pd.DataFrame({"text": texts}))
    )


def test_other_model_shapes_have_no_compiled_form():
    from app.model.serving import compile_pipeline

    estimator = Pipeline([("clf", LogisticRegression())])
    assert compile_pipeline(estimator) is None


def test_an_unknown_compiled_format_is_refused(fitted, tmp_path):
    import json

    from app.model.compiled import COMPILED_JSON, CompiledModel
    from app.model.serving import compile_pipeline

    compile_pipeline(fitted).save(tmp_path)
    meta = json.loads((tmp_path / COMPILED_JSON).read_text())
    (tmp_path / COMPILED_JSON).write_text(json.dumps({**meta, "format": 99}))
    with pytest.raises(ValueError, match="format 99"):
        CompiledModel.load(tmp_path)
