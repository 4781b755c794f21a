"""Scores of a classifier on a labelled set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.training.dataset import LabelledText


@dataclass(frozen=True)
class Scores:
    accuracy: float
    macro_f1: float
    per_class_f1: dict[str, float]
    confusion: list[list[int]]
    labels: list[str]
    support: int

    def as_metrics(self, prefix: str) -> dict[str, float]:
        metrics = {f"{prefix}_accuracy": self.accuracy, f"{prefix}_macro_f1": self.macro_f1}
        metrics.update({f"{prefix}_f1_{label}": f1 for label, f1 in self.per_class_f1.items()})
        return metrics

    def beats(self, other: Scores) -> bool:
        return (self.accuracy, self.macro_f1) > (other.accuracy, other.macro_f1)


def score(estimator: Any, rows: list[LabelledText]) -> Scores:
    import pandas as pd
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    truth = [r.label for r in rows]
    predicted = list(estimator.predict(pd.DataFrame({"text": [r.text for r in rows]})))
    labels = sorted(set(truth) | set(predicted))
    per_class = f1_score(truth, predicted, labels=labels, average=None, zero_division=0)
    return Scores(
        accuracy=float(accuracy_score(truth, predicted)),
        macro_f1=float(f1_score(truth, predicted, average="macro", zero_division=0)),
        per_class_f1={label: float(f) for label, f in zip(labels, per_class, strict=True)},
        confusion=confusion_matrix(truth, predicted, labels=labels).tolist(),
        labels=labels,
        support=len(rows),
    )


def confusion_png(scores: Scores, title: str) -> Any:
    """A matplotlib figure of the confusion matrix, for the run's artifacts."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from sklearn.metrics import ConfusionMatrixDisplay

    display = ConfusionMatrixDisplay(np.array(scores.confusion), display_labels=scores.labels)
    display.plot(xticks_rotation=45, colorbar=False)
    display.ax_.set_title(title)
    display.figure_.tight_layout()
    return display.figure_
