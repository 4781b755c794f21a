"""Request and response bodies of the v1 API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from app.domain.documents import DocumentRecord
from app.domain.feedback import Feedback

NonEmptyText = Annotated[str, StringConstraints(min_length=1)]


class ModelPublic(BaseModel):
    name: str
    version: str


class PredictRequest(BaseModel):
    texts: list[NonEmptyText] = Field(min_length=1, examples=[["FACTURE N° 2024-118 ..."]])


class PredictionPublic(BaseModel):
    id: str
    label: str
    confidence: float
    probabilities: dict[str, float]


class PredictResponse(BaseModel):
    predictions: list[PredictionPublic]
    model: ModelPublic


class DocumentAccepted(BaseModel):
    id: str
    status: Literal["pending"] = "pending"


class DocumentPredictionPublic(BaseModel):
    label: str
    confidence: float
    probabilities: dict[str, float]
    model: ModelPublic


class DocumentPublic(BaseModel):
    id: str
    status: Literal["pending", "processing", "done", "failed"]
    filename: str
    media_type: str
    size: int
    text: str | None = None
    language: str | None = None
    prediction: DocumentPredictionPublic | None = None
    error: str | None = None

    @classmethod
    def from_record(cls, record: DocumentRecord) -> DocumentPublic:
        prediction = None
        if record.prediction is not None:
            p = record.prediction
            prediction = DocumentPredictionPublic(
                label=p.label,
                confidence=p.confidence,
                probabilities=p.probabilities,
                model=ModelPublic(name=p.model_name, version=p.model_version),
            )
        return cls(
            id=record.id,
            status=record.status.value,
            filename=record.filename,
            media_type=record.media_type,
            size=record.size,
            text=record.text,
            language=record.language,
            prediction=prediction,
            error=record.error,
        )


class FeedbackRequest(BaseModel):
    label: NonEmptyText = Field(examples=["invoice"])


class FeedbackPublic(BaseModel):
    id: str
    subject: Literal["document", "prediction"]
    subject_id: str
    label: str
    predicted_label: str
    correct: bool

    @classmethod
    def from_feedback(cls, fb: Feedback) -> FeedbackPublic:
        return cls(
            id=fb.id,
            subject=fb.subject.value,
            subject_id=fb.subject_id,
            label=fb.true_label,
            predicted_label=fb.predicted_label,
            correct=fb.correct,
        )


class HealthPublic(BaseModel):
    status: Literal["ok", "unavailable"]
    model: ModelPublic | None


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody
