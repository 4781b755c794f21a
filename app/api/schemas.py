"""Request and response bodies of the v1 API."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from app.domain.documents import DocumentRecord
from app.domain.feedback import Feedback
from app.domain.jobs import TrainingJob
from app.domain.labels import DOCUMENT_CLASSES
from app.domain.models import ModelVersionInfo
from app.domain.predictions import ModelRef
from app.ocr.sniff import SUPPORTED_MEDIA_TYPES

if TYPE_CHECKING:
    from app.services.monitoring import MonitoringSnapshot

NonEmptyText = Annotated[str, StringConstraints(min_length=1)]


def _json_integer(value: object) -> object:
    # JSON Schema counts 3.0 as an integer; strict models would refuse it.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def json_int(minimum: int, maximum: int | None = None) -> Any:
    """A strict integer (no "3" for 3) that still takes JSON's 3.0, with bounds.

    The schema is spelled out: pydantic cannot translate bounds placed behind a
    before-validator and would publish them as unknown keywords.
    """
    bounds = {"minimum": minimum} | ({"maximum": maximum} if maximum is not None else {})
    return Annotated[
        int,
        BeforeValidator(_json_integer),
        Field(ge=minimum, le=maximum),
        WithJsonSchema({"type": "integer", **bounds}),
    ]


class ModelPublic(BaseModel):
    name: str
    version: str

    @classmethod
    def from_ref(cls, ref: ModelRef | None) -> ModelPublic | None:
        return cls(name=ref.name, version=ref.version) if ref is not None else None


class PredictRequest(BaseModel):
    # "0" is not false, "2" is not 2, and a misspelt field is an error, not a default.
    model_config = ConfigDict(strict=True, extra="forbid")

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


class UploadUrlRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    content_type: str = Field(
        min_length=1,
        max_length=100,
        examples=["image/png"],
        json_schema_extra={"enum": list[Any](sorted(SUPPORTED_MEDIA_TYPES))},
    )
    filename: str | None = Field(None, max_length=500, examples=["scan.png"])


class UploadUrlPublic(BaseModel):
    """Send the bytes there: ``POST`` a multipart form of ``fields`` then ``file``
    (S3), or ``PUT`` the bytes with ``headers`` (Blob SAS, GCS, local)."""

    id: str
    status: Literal["pending"] = "pending"
    method: Literal["POST", "PUT"]
    url: str
    fields: dict[str, str]
    headers: dict[str, str]
    expires_at: datetime
    max_bytes: int


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
    # "0" is not false, "2" is not 2, and a misspelt field is an error, not a default.
    model_config = ConfigDict(strict=True, extra="forbid")

    # Listed in the schema so clients (and generated ones) know the classes; the
    # service still checks, with a message naming them.
    label: NonEmptyText = Field(
        examples=["invoice"], json_schema_extra={"enum": list(DOCUMENT_CLASSES)}
    )


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
    storage: str = Field("ok", description="`ok`, or what keeps documents from being recorded now")


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class ModelVersionPublic(BaseModel):
    version: str
    aliases: list[str]
    run_id: str
    created_at: datetime
    metrics: dict[str, float]
    tags: dict[str, str]

    @classmethod
    def from_info(cls, info: ModelVersionInfo) -> ModelVersionPublic:
        return cls(
            version=info.version,
            aliases=list(info.aliases),
            run_id=info.run_id,
            created_at=info.created_at,
            metrics=info.metrics,
            tags=info.tags,
        )


class ModelsPublic(BaseModel):
    name: str
    serving: ModelPublic | None
    versions: list[ModelVersionPublic]


class PromoteRequest(BaseModel):
    # "0" is not false, "2" is not 2, and a misspelt field is an error, not a default.
    model_config = ConfigDict(strict=True, extra="forbid")

    version: json_int(1) = Field(examples=[3])  # type: ignore[valid-type]


class PromotionPublic(BaseModel):
    name: str
    alias: Literal["champion"] = "champion"
    version: str
    previous_version: str | None
    serving: ModelPublic | None


PromotePolicyName = Literal["if-better", "always", "never"]


class TrainingJobCreate(BaseModel):
    # "0" is not false, "2" is not 2, and a misspelt field is an error, not a default.
    model_config = ConfigDict(strict=True, extra="forbid")

    generate_per_class: json_int(1, 5000) | None = Field(  # type: ignore[valid-type]
        default=None, description="generated documents per class (default: settings)"
    )
    heldout_per_class: json_int(1, 500) | None = Field(  # type: ignore[valid-type]
        default=None, description="held-out documents per class scored through OCR"
    )
    promote: PromotePolicyName | None = Field(
        default=None, description="when the new version becomes champion (default: settings)"
    )
    include_feedback: bool = Field(
        default=True, description="train on texts labelled through feedback"
    )


class TrainingJobParameters(BaseModel):
    generate_per_class: int
    heldout_per_class: int
    promote: PromotePolicyName
    include_feedback: bool


class TrainingJobPublic(BaseModel):
    id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    reason: Literal["manual", "accuracy_below_threshold"]
    requested_by: str
    parameters: TrainingJobParameters
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    model_version: str | None
    promoted: bool | None
    error: str | None
    log_tail: str

    @classmethod
    def from_job(cls, job: TrainingJob) -> TrainingJobPublic:
        request = job.request
        return cls(
            id=job.id,
            status=job.status.value,
            reason=request.reason.value,
            requested_by=request.requested_by,
            parameters=TrainingJobParameters(
                generate_per_class=request.generate_per_class,
                heldout_per_class=request.heldout_per_class,
                promote=request.promote,  # type: ignore[arg-type]
                include_feedback=request.include_feedback,
            ),
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            model_version=job.model_version,
            promoted=job.promoted,
            error=job.error,
            log_tail=job.log_tail,
        )


class TrainingJobList(BaseModel):
    jobs: list[TrainingJobPublic]


class RollingAccuracyPublic(BaseModel):
    model_version: str | None
    window: int = Field(description="the last N labels given on the serving version")
    labels: int
    correct: int
    accuracy: float | None
    threshold: float
    min_labels: int
    below_threshold: bool


class VersionCountsPublic(BaseModel):
    count: int
    mean_confidence: float
    by_label: dict[str, int]


class PredictionCountsPublic(BaseModel):
    since: datetime = Field(description="counts are this process's since it started")
    total: int
    by_model_version: dict[str, VersionCountsPublic]


class DriftPublic(BaseModel):
    model_version: str | None
    window: int
    inputs: int
    min_inputs: int = Field(description="inputs needed before a figure is reported")
    psi: dict[str, float] | None = Field(
        description="population stability index per feature; < 0.1 stable, > 0.25 drift"
    )


class RetrainingPublic(BaseModel):
    enabled: bool
    cooldown_seconds: float
    last_job: TrainingJobPublic | None


class MonitoringPublic(BaseModel):
    model: ModelPublic | None
    feedback: RollingAccuracyPublic
    predictions: PredictionCountsPublic
    drift: DriftPublic
    retraining: RetrainingPublic

    @classmethod
    def from_snapshot(
        cls, snap: MonitoringSnapshot, *, retraining: RetrainingPublic
    ) -> MonitoringPublic:
        feedback = snap.feedback
        return cls(
            model=ModelPublic.from_ref(snap.model),
            feedback=RollingAccuracyPublic(
                model_version=feedback.model_version,
                window=feedback.window,
                labels=feedback.labels,
                correct=feedback.correct,
                accuracy=feedback.accuracy,
                threshold=snap.threshold,
                min_labels=snap.min_labels,
                below_threshold=snap.below_threshold,
            ),
            predictions=PredictionCountsPublic(
                since=snap.since,
                total=sum(c.count for c in snap.predictions.values()),
                by_model_version={
                    version: VersionCountsPublic(
                        count=c.count, mean_confidence=c.mean_confidence, by_label=c.by_label
                    )
                    for version, c in snap.predictions.items()
                },
            ),
            drift=DriftPublic(
                model_version=snap.model.version if snap.model else None,
                window=snap.drift_window,
                inputs=snap.drift.inputs,
                min_inputs=snap.drift_min_inputs,
                psi=snap.drift.psi,
            ),
            retraining=retraining,
        )
