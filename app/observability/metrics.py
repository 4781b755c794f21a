"""Prometheus metrics of the model and the pipeline (HTTP metrics come from the instrumentator)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from app.domain.documents import DocumentRecord
from app.domain.feedback import Feedback
from app.domain.predictions import ModelRef

PREDICTIONS = Counter(
    "mlops_predictions_total",
    "Texts classified, by predicted label and model version.",
    ["model_version", "label"],
)
CONFIDENCE = Histogram(
    "mlops_prediction_confidence",
    "Confidence of the predicted label.",
    ["model_version"],
    buckets=(0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0),
)
DOCUMENTS = Counter(
    "mlops_documents_processed_total",
    "Documents that finished the OCR pipeline, by outcome.",
    ["status"],
)
FEEDBACK = Counter(
    "mlops_feedback_total",
    "Feedback labels received, by model version and whether the prediction was right.",
    ["model_version", "correct"],
)
MODEL_INFO = Gauge(
    "mlops_model_info", "1 for the model version currently serving.", ["name", "version"]
)


def observe_predictions(model: ModelRef, labels: list[str], confidences: list[float]) -> None:
    for label, confidence in zip(labels, confidences, strict=True):
        PREDICTIONS.labels(model.version, label).inc()
        CONFIDENCE.labels(model.version).observe(confidence)


def observe_document(record: DocumentRecord) -> None:
    DOCUMENTS.labels(record.status.value).inc()
    if record.prediction is not None:
        model = ModelRef(record.prediction.model_name, record.prediction.model_version)
        observe_predictions(model, [record.prediction.label], [record.prediction.confidence])


def observe_feedback(feedback: Feedback) -> None:
    FEEDBACK.labels(feedback.model_version, str(feedback.correct).lower()).inc()


def observe_model(ref: ModelRef) -> None:
    MODEL_INFO.clear()
    MODEL_INFO.labels(ref.name, ref.version).set(1)
