"""Model monitoring: rolling feedback accuracy, prediction counts, drift.

``/v1/monitoring`` and the Prometheus collector both read :meth:`snapshot`, so
the API and the dashboards show the same figures.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.domain.drift import ReferenceProfile
from app.domain.predictions import ModelRef
from app.ports import FeedbackStore
from app.services.drift import DriftReport, DriftWindow
from app.services.model_holder import ModelHolder, ModelUnavailableError


@dataclass(frozen=True)
class RollingAccuracy:
    model_version: str | None
    window: int
    labels: int
    correct: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.labels if self.labels else None


@dataclass(frozen=True)
class VersionCounts:
    count: int
    mean_confidence: float
    by_label: dict[str, int]


@dataclass(frozen=True)
class MonitoringSnapshot:
    model: ModelRef | None
    feedback: RollingAccuracy
    threshold: float
    min_labels: int
    predictions: dict[str, VersionCounts]
    drift: DriftReport
    drift_window: int
    drift_min_inputs: int
    since: datetime

    @property
    def below_threshold(self) -> bool:
        accuracy = self.feedback.accuracy
        return (
            accuracy is not None
            and self.feedback.labels >= self.min_labels
            and accuracy < self.threshold
        )


@dataclass
class MonitoringService:
    """Example::

    monitoring.observe(ModelRef("document-classifier", "3"), ["invoice"], [0.93], ["FACTURE ..."])
    monitoring.snapshot().predictions["3"].by_label   # {'invoice': 1}
    """

    feedback: FeedbackStore
    models: ModelHolder
    window: int = 200
    drift_window: int = 500
    drift_min_inputs: int = 100
    threshold: float = 0.8
    min_labels: int = 30
    since: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._confidence: dict[str, float] = {}
        self._drift = DriftWindow(self.drift_window, min_inputs=self.drift_min_inputs)
        # Drift is measured against the serving model's training data: a swap starts afresh.
        self.models.listeners.append(lambda _ref: self._drift.clear())

    def observe(
        self,
        model: ModelRef,
        labels: Sequence[str],
        confidences: Sequence[float],
        texts: Sequence[str],
    ) -> None:
        with self._lock:
            for label, confidence in zip(labels, confidences, strict=True):
                self._counts[(model.version, label)] += 1
                self._confidence[model.version] = (
                    self._confidence.get(model.version, 0.0) + confidence
                )
        self._drift.add(self._profile(), labels, texts)

    def rolling_accuracy(self, model_version: str | None) -> RollingAccuracy:
        """Accuracy over the last ``window`` labels given on predictions of this version."""
        if model_version is None:
            return RollingAccuracy(None, self.window, 0, 0)
        recent = self.feedback.recent(self.window, model_version=model_version)
        return RollingAccuracy(
            model_version, self.window, len(recent), sum(f.correct for f in recent)
        )

    def snapshot(self) -> MonitoringSnapshot:
        serving = self.models.loaded
        with self._lock:
            counts = dict(self._counts)
            confidence = dict(self._confidence)
        per_version: dict[str, VersionCounts] = {}
        for version in sorted({v for v, _ in counts}, key=_version_key):
            by_label = {label: n for (v, label), n in sorted(counts.items()) if v == version}
            total = sum(by_label.values())
            per_version[version] = VersionCounts(
                count=total,
                mean_confidence=round(confidence[version] / total, 6),
                by_label=by_label,
            )
        return MonitoringSnapshot(
            model=serving,
            feedback=self.rolling_accuracy(serving.version if serving else None),
            threshold=self.threshold,
            min_labels=self.min_labels,
            predictions=per_version,
            drift=self._drift.report(self._profile()),
            drift_window=self.drift_window,
            drift_min_inputs=self._drift.min_inputs,
            since=self.since,
        )

    def _profile(self) -> ReferenceProfile | None:
        try:
            model = self.models.current
        except ModelUnavailableError:
            return None
        return getattr(model, "profile", None)


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (1 << 62, version)
