"""Predictions made by the classifier, as recorded for feedback and monitoring."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float
    probabilities: dict[str, float]


@dataclass(frozen=True)
class PredictionRecord:
    id: str
    owner: str
    label: str
    confidence: float
    model_name: str
    model_version: str
    text: str
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class PredictionNotFoundError(Exception):
    def __init__(self, prediction_id: str) -> None:
        super().__init__(f"Prediction {prediction_id!r} was not found.")
        self.prediction_id = prediction_id


class UnknownLabelError(ValueError):
    def __init__(self, label: str, known: tuple[str, ...]) -> None:
        super().__init__(f"Unknown label {label!r}: use one of {', '.join(known)}.")
        self.label = label
