"""Fakes of the ports and of the OCR reader for unit tests (no network, no models)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import ClassVar

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


class FakeJobLauncher:
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
