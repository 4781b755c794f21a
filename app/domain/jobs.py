"""Retraining jobs: what was asked, why, and how it went."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED)


class JobReason(StrEnum):
    MANUAL = "manual"
    ACCURACY_BELOW_THRESHOLD = "accuracy_below_threshold"


@dataclass(frozen=True)
class TrainingJobRequest:
    """The arguments of one ``mlops train`` run started by the service."""

    reason: JobReason
    requested_by: str
    generate_per_class: int
    heldout_per_class: int
    promote: str  # "if-better" | "always" | "never"
    include_feedback: bool = True

    def train_arguments(self) -> list[str]:
        """The ``mlops train`` command line every launcher runs (subprocess, task, job)."""
        args = [
            "train",
            "--generate",
            str(self.generate_per_class),
            "--heldout",
            str(self.heldout_per_class),
            "--promote",
            self.promote,
            "--quiet",
        ]
        if self.include_feedback:
            args.append("--with-feedback")
        return args


@dataclass(frozen=True)
class TrainingJob:
    id: str
    request: TrainingJobRequest
    status: JobStatus
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started_at: datetime | None = None
    finished_at: datetime | None = None
    model_version: str | None = None
    promoted: bool | None = None
    error: str | None = None
    log_tail: str = ""


class JobNotFoundError(Exception):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"Training job {job_id!r} was not found.")
        self.job_id = job_id


class JobAlreadyRunningError(Exception):
    def __init__(self, job_id: str) -> None:
        super().__init__(
            f"Training job {job_id!r} is still running; follow it at"
            f" /v1/training-jobs/{job_id} and start another when it has finished."
        )
        self.job_id = job_id
