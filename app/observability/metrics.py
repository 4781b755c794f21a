"""Prometheus metrics of the model, the pipeline and the MLOps loop.

HTTP metrics come from prometheus-fastapi-instrumentator. The monitoring
figures (prediction counts, mean confidence, rolling accuracy, drift) are not
kept twice: :class:`MonitoringCollector` reads the same snapshot that
``/v1/monitoring`` returns, at scrape time.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.domain.documents import DocumentRecord
from app.domain.feedback import Feedback
from app.domain.jobs import TrainingJob
from app.domain.predictions import ModelRef
from app.services.monitoring import MonitoringService

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
    "mlops_model_info",
    "1 for the model version currently serving.",
    ["model_name", "model_version"],
)
SWAPS = Counter("mlops_model_swaps_total", "Times the serving model was swapped in memory.")
MODEL_LOAD = Histogram(
    "mlops_model_load_seconds",
    "Time to load a model version from the artifact store (before the swap).",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
JOBS = Counter(
    "mlops_training_jobs_started_total", "Training jobs this process started.", ["reason"]
)


def observe_confidences(model: ModelRef, confidences: list[float]) -> None:
    for confidence in confidences:
        CONFIDENCE.labels(model.version).observe(confidence)


def observe_document(record: DocumentRecord) -> None:
    DOCUMENTS.labels(record.status.value).inc()
    if record.prediction is not None:
        CONFIDENCE.labels(record.prediction.model_version).observe(record.prediction.confidence)


def observe_feedback(feedback: Feedback) -> None:
    FEEDBACK.labels(feedback.model_version, str(feedback.correct).lower()).inc()


def observe_job(job: TrainingJob) -> None:
    JOBS.labels(job.request.reason.value).inc()


def observe_model(ref: ModelRef) -> None:
    MODEL_INFO.clear()
    MODEL_INFO.labels(ref.name, ref.version).set(1)
    SWAPS.inc()


def observe_model_load(_ref: ModelRef, seconds: float) -> None:
    MODEL_LOAD.observe(seconds)


class MonitoringCollector(Collector):
    """Exposes :meth:`MonitoringService.snapshot` as Prometheus metrics at scrape time.

    One per process, registered once; the serving app binds its monitoring
    service to it at start (tests start several apps in one process).
    """

    def __init__(self) -> None:
        self.monitoring: MonitoringService | None = None

    def collect(self) -> Iterator[Metric]:
        if self.monitoring is None:
            return
        snap = self.monitoring.snapshot()
        predictions = CounterMetricFamily(
            "mlops_predictions",
            "Texts classified by this process, by model version and predicted label.",
            labels=["model_version", "label"],
        )
        mean_confidence = GaugeMetricFamily(
            "mlops_prediction_confidence_mean",
            "Mean confidence of the predicted label, by model version.",
            labels=["model_version"],
        )
        for version, counts in snap.predictions.items():
            for label, n in counts.by_label.items():
                predictions.add_metric([version, label], n)
            mean_confidence.add_metric([version], counts.mean_confidence)
        yield predictions
        yield mean_confidence

        rolling = GaugeMetricFamily(
            "mlops_feedback_rolling_accuracy",
            "Accuracy of the serving model over its last feedback labels (absent with none).",
            labels=["model_version"],
        )
        labels = GaugeMetricFamily(
            "mlops_feedback_rolling_labels",
            "Feedback labels in the serving model's rolling accuracy window.",
            labels=["model_version"],
        )
        feedback = snap.feedback
        if feedback.model_version is not None:
            labels.add_metric([feedback.model_version], feedback.labels)
            if feedback.accuracy is not None:
                rolling.add_metric([feedback.model_version], feedback.accuracy)
        yield rolling
        yield labels
        yield GaugeMetricFamily(
            "mlops_feedback_window",
            "Size of the rolling accuracy window (labels).",
            value=feedback.window,
        )
        yield GaugeMetricFamily(
            "mlops_retrain_accuracy_threshold",
            "Rolling accuracy under which retraining starts.",
            value=snap.threshold,
        )
        yield GaugeMetricFamily(
            "mlops_retrain_min_labels",
            "Labels the window needs before the accuracy can start retraining.",
            value=snap.min_labels,
        )

        drift = GaugeMetricFamily(
            "mlops_drift_psi",
            "Population stability index of recent inputs vs. the serving model's training data.",
            labels=["model_version", "feature"],
        )
        if snap.model is not None and snap.drift.psi is not None:
            for feature, value in snap.drift.psi.items():
                drift.add_metric([snap.model.version, feature], value)
        yield drift
        yield GaugeMetricFamily(
            "mlops_drift_inputs",
            "Recent inputs in the drift window.",
            value=snap.drift.inputs,
        )


COLLECTOR = MonitoringCollector()
REGISTRY.register(COLLECTOR)


def bind_monitoring(monitoring: MonitoringService | None) -> None:
    COLLECTOR.monitoring = monitoring
