"""The default model as arrays: what serving needs, without unpickling a pipeline.

The default pipeline is hashed TF-IDF branches + a multinomial logistic
regression. Its hashers are stateless (rebuilt from their parameters); the rest is
``idf_`` per branch and ``coef_``/``intercept_``/``classes_``. ``mlops train`` logs
these next to the MLflow model (``serving/compiled.*``, numpy ``.npz`` without
pickles plus JSON), so a cold process loads them with numpy and the one
scikit-learn module that tokenises, instead of importing skops and most of
scikit-learn to rebuild the whole pipeline. The probabilities are the documented
TF-IDF, l2 and softmax formulas; a unit test holds them equal to the pipeline's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COMPILED_DIR = "serving"
COMPILED_JSON = "compiled.json"
COMPILED_NPZ = "compiled.npz"
FORMAT = 1


@dataclass
class Branch:
    hasher: Any  # a HashingVectorizer
    sublinear: bool
    idf: Any  # (n_features,)
    weights: Any  # (n_features, n_classes): this branch's slice of coef_.T


@dataclass
class CompiledModel:
    branches: list[Branch]
    intercept: Any
    classes: tuple[str, ...]

    def proba(self, texts: list[str]) -> Any:
        import numpy as np
        from scipy import sparse

        scores = np.tile(self.intercept, (len(texts), 1))
        for branch in self.branches:
            counts = branch.hasher.transform(texts)
            data = counts.data.astype(np.float64)
            if branch.sublinear:
                np.log(data, out=data)
                data += 1.0
            data *= branch.idf[counts.indices]
            rows = np.repeat(np.arange(len(texts)), np.diff(counts.indptr))
            norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=len(texts)))
            norms[norms == 0] = 1.0
            # A row's l2 scaling commutes with the linear layer: weight first, scale after.
            weighted = sparse.csr_matrix((data, counts.indices, counts.indptr), shape=counts.shape)
            scores += np.asarray(weighted @ branch.weights) / norms[:, None]
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def save(self, directory: Path) -> None:
        import numpy as np

        directory.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {"intercept": self.intercept}
        meta: dict[str, Any] = {"format": FORMAT, "classes": list(self.classes), "branches": []}
        for i, branch in enumerate(self.branches):
            params = {
                k: (list(v) if isinstance(v, tuple) else v)
                for k, v in branch.hasher.get_params().items()
                if k != "dtype"
            }
            meta["branches"].append({"hasher": params, "sublinear": branch.sublinear})
            arrays[f"idf{i}"] = branch.idf
            arrays[f"weights{i}"] = branch.weights
        (directory / COMPILED_JSON).write_text(json.dumps(meta))
        np.savez(directory / COMPILED_NPZ, **arrays)

    @classmethod
    def load(cls, directory: Path) -> CompiledModel:
        import numpy as np
        from sklearn.feature_extraction.text import HashingVectorizer

        meta = json.loads((directory / COMPILED_JSON).read_text())
        if meta.get("format") != FORMAT:
            raise ValueError(f"compiled model format {meta.get('format')!r} is not {FORMAT}")
        with np.load(directory / COMPILED_NPZ, allow_pickle=False) as arrays:
            branches = [
                Branch(
                    hasher=HashingVectorizer(
                        **{k: tuple(v) if k == "ngram_range" else v for k, v in b["hasher"].items()}
                    ),
                    sublinear=bool(b["sublinear"]),
                    idf=np.ascontiguousarray(arrays[f"idf{i}"]),
                    weights=np.ascontiguousarray(arrays[f"weights{i}"]),
                )
                for i, b in enumerate(meta["branches"])
            ]
            intercept = np.asarray(arrays["intercept"])
        return cls(branches, intercept, tuple(str(c) for c in meta["classes"]))


def compile_estimator(fitted: list[Any], classifier: Any) -> CompiledModel | None:
    """The arrays of ``fitted`` (the text branches of the pipeline's ColumnTransformer)
    and ``classifier``, or ``None`` when the model is not of the default shape."""
    import numpy as np
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
        if hasher.preprocessor is not None or hasher.tokenizer is not None:
            return None  # callables cannot be rebuilt from parameters
        width = hasher.n_features
        branches.append(
            Branch(
                hasher,
                tfidf.sublinear_tf,
                np.asarray(tfidf.idf_),
                np.ascontiguousarray(weights[offset : offset + width]),
            )
        )
        offset += width
    if offset != weights.shape[0]:
        return None
    return CompiledModel(
        branches, np.asarray(classifier.intercept_), tuple(str(c) for c in classifier.classes_)
    )
