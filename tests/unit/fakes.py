"""Fakes of the ports and of the OCR reader for unit tests (no network, no models)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import ClassVar

from app.adapters.marker_holds import DEFAULT_TTL_SECONDS, MarkerHolds
from app.domain.jobs import JobNotFoundError, JobReason, JobStatus, TrainingJob, TrainingJobRequest
from app.domain.models import ModelNotFoundError, ModelVersionInfo
from app.domain.predictions import ModelRef, Prediction


class KeywordClassifier:
    """Labels a text by the first keyword it contains: enough to tell wiring apart."""

    KEYWORDS: ClassVar[dict[str, str]] = {
        "facture": "invoice",
        "invoice": "invoice",
        "ticket": "receipt",
        "dear": "letter",
    }

    def __init__(self, ref: ModelRef) -> None:
        self.ref = ref
        self.labels = ("invoice", "letter", "receipt")
        self.profile = None

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        out = []
        for text in texts:
            lowered = text.lower()
            label = next((v for k, v in self.KEYWORDS.items() if k in lowered), "letter")
            probs = {name: (0.9 if name == label else 0.05) for name in self.labels}
            out.append(Prediction(label=label, confidence=0.9, probabilities=probs))
        return out


class FakeModelSource:
    """A registry in a dict: ``aliases`` maps alias to version; ``broken`` versions fail to load.

    It plays both ports, :class:`~app.ports.ModelSource` and :class:`~app.ports.ModelRegistry`.
    """

    model_name = "document-classifier"

    def __init__(self, versions: dict[str, str] | None = None, *, known: int = 3) -> None:
        self.aliases = dict(versions or {})
        self.known = [str(v) for v in range(1, known + 1)]
        self.broken: set[str] = set()
        self.loads = 0

    def resolve(self, alias: str) -> ModelRef:
        if alias not in self.aliases:
            raise ModelNotFoundError(f"no {alias}")
        return ModelRef("document-classifier", self.aliases[alias])

    def load(self, ref: ModelRef) -> KeywordClassifier:
        self.loads += 1
        if ref.version in self.broken:
            raise ModelNotFoundError(f"artifacts of version {ref.version} are missing")
        return KeywordClassifier(ref)

    def versions(self) -> list[ModelVersionInfo]:
        return [
            ModelVersionInfo(
                version=v,
                aliases=tuple(sorted(a for a, x in self.aliases.items() if x == v)),
                run_id=f"run-{v}",
                created_at=datetime(2026, 1, int(v), tzinfo=UTC),
                metrics={"heldout_accuracy": 0.9},
            )
            for v in reversed(self.known)
        ]

    def alias_version(self, alias: str) -> str | None:
        return self.aliases.get(alias)

    def set_alias(self, alias: str, version: str) -> None:
        if version not in self.known:
            raise ModelNotFoundError(f"no version {version}")
        self.aliases[alias] = version


class FakeTrainingJobs:
    """The :class:`~app.services.training_jobs.TrainingJobs` service in memory (start, get,
    list); ``finish()`` ends a job."""

    def __init__(self) -> None:
        self.jobs: dict[str, TrainingJob] = {}
        self._lock = threading.Lock()

    def start(
        self, request: TrainingJobRequest, *, cooldown_seconds: float | None = None
    ) -> TrainingJob | None:
        with self._lock:
            if cooldown_seconds is not None:
                horizon = time.time() - cooldown_seconds
                for job in self.jobs.values():
                    automatic = job.request.reason is not JobReason.MANUAL
                    if not job.status.finished or (
                        automatic and job.created_at.timestamp() > horizon
                    ):
                        return None
            job = TrainingJob(id=uuid.uuid4().hex, request=request, status=JobStatus.RUNNING)
            self.jobs[job.id] = job
            return job

    def finish(self, job_id: str, version: str = "4") -> None:
        self.jobs[job_id] = replace(
            self.jobs[job_id], status=JobStatus.SUCCEEDED, model_version=version, promoted=False
        )

    def get(self, job_id: str) -> TrainingJob:
        if job_id not in self.jobs:
            raise JobNotFoundError(job_id)
        return self.jobs[job_id]

    def list(self, limit: int = 20) -> list[TrainingJob]:
        return sorted(self.jobs.values(), key=lambda j: j.created_at, reverse=True)[:limit]


@dataclass
class _Marker:
    state: str  # "in_progress" or "done"
    lease_until: float
    expires_at: float
    holder: str


class FakeEventLedger:
    """The :class:`~app.ports.EventLedger` contract in memory. ``another()`` is a ledger
    of another process over the same markers (what the cloud's database is shared by)."""

    def __init__(self) -> None:
        self.markers: dict[str, _Marker] = {}
        self._lock = threading.Lock()
        self._holds = MarkerHolds()

    def another(self) -> FakeEventLedger:
        other = FakeEventLedger()
        other.markers, other._lock = self.markers, self._lock
        return other

    def begin(self, key: str, *, lease_seconds: float, ttl_seconds: int) -> bool:
        def write(token: str) -> bool:
            with self._lock:
                now = time.time()
                marker = self.markers.get(key)
                alive = marker is not None and marker.expires_at > now
                if alive and (marker.state == "done" or marker.lease_until > now):
                    return False
                self.markers[key] = _Marker(
                    "in_progress", now + lease_seconds, now + ttl_seconds, token
                )
                return True

        return self._holds.begin(key, ttl_seconds, write)

    def finish(self, key: str) -> None:
        hold = self._holds.pop(key)
        ttl = hold.ttl_seconds if hold else DEFAULT_TTL_SECONDS
        with self._lock:
            self.markers[key] = _Marker("done", 0.0, time.time() + ttl, "")

    def release(self, key: str) -> None:
        hold = self._holds.pop(key)
        with self._lock:
            marker = self.markers.get(key)
            if hold and marker and marker.state == "in_progress" and marker.holder == hold.token:
                del self.markers[key]
