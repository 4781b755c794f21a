"""Feedback: the true label a user gives for a prediction or a document."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


class FeedbackSubject(StrEnum):
    DOCUMENT = "document"
    PREDICTION = "prediction"


@dataclass(frozen=True)
class Feedback:
    id: str
    subject: FeedbackSubject
    subject_id: str
    owner: str
    true_label: str
    predicted_label: str
    model_version: str
    text: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def correct(self) -> bool:
        return self.true_label == self.predicted_label
