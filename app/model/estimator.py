"""The scikit-learn pipeline behind the default classifier.

It starts with a ColumnTransformer over the ``text`` column so that MLflow's
pyfunc flavour (and ``mlflow models serve``) yields one prediction per row.
"""

from __future__ import annotations

from typing import Any

TEXT_COLUMN = "text"


def _hashed_tfidf(**hashing: Any) -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.pipeline import Pipeline

    return Pipeline(
        [
            ("hash", HashingVectorizer(alternate_sign=False, norm=None, **hashing)),
            ("tfidf", TfidfTransformer(sublinear_tf=True)),
        ]
    )


def build_estimator(*, c: float = 10.0, seed: int = 0) -> Any:
    """TF-IDF over hashed word and character n-grams, then logistic regression.

    Hashing instead of a vocabulary keeps the fitted state to a few arrays, so
    MLflow's safe skops format saves and loads it in well under a second (a
    100k-term vocabulary takes minutes in skops).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    features = ColumnTransformer(
        [
            (
                "words",
                _hashed_tfidf(
                    lowercase=True, strip_accents="unicode", ngram_range=(1, 2), n_features=2**18
                ),
                TEXT_COLUMN,
            ),
            # Character n-grams survive OCR mistakes that break whole words.
            (
                "chars",
                _hashed_tfidf(
                    lowercase=True,
                    strip_accents="unicode",
                    analyzer="char_wb",
                    ngram_range=(3, 4),
                    n_features=2**18,
                ),
                TEXT_COLUMN,
            ),
        ]
    )
    classifier = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    return Pipeline([("features", features), ("classifier", classifier)])
