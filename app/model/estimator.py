"""The scikit-learn pipeline behind the default classifier.

It starts with a ColumnTransformer over the ``text`` column so that MLflow's
pyfunc flavour (and ``mlflow models serve``) yields one prediction per row.
"""

from __future__ import annotations

from typing import Any

TEXT_COLUMN = "text"


def build_estimator(*, c: float = 10.0, seed: int = 0) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    features = ColumnTransformer(
        [
            (
                "words",
                TfidfVectorizer(
                    lowercase=True,
                    strip_accents="unicode",
                    ngram_range=(1, 2),
                    min_df=2,
                    max_features=50_000,
                    sublinear_tf=True,
                ),
                TEXT_COLUMN,
            ),
            # Character n-grams survive OCR mistakes that break whole words.
            (
                "chars",
                TfidfVectorizer(
                    lowercase=True,
                    strip_accents="unicode",
                    analyzer="char_wb",
                    ngram_range=(3, 4),
                    min_df=3,
                    max_features=50_000,
                    sublinear_tf=True,
                ),
                TEXT_COLUMN,
            ),
        ]
    )
    classifier = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    return Pipeline([("features", features), ("classifier", classifier)])
