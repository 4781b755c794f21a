"""Retraining jobs: what was asked, why, and how it went."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


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

    @property
    def automatic(self) -> bool:
        """Whether the job counts for the cool-down: a trigger started it, not an admin."""
        return self.reason is not JobReason.MANUAL

    def command(self) -> list[str]:
        """The argv a job runs: ``mlops train ...``, its report one JSON line on stdout."""
        return ["mlops", *self.train_arguments(), "--report-json", "-"]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> TrainingJobRequest:
        fields: dict[str, Any] = json.loads(text)
        return cls(**{**fields, "reason": JobReason(fields["reason"])})


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


@dataclass(frozen=True)
class JobRecord:
    """A job as its :class:`~app.ports.JobStore` keeps it, with the run its
    :class:`~app.ports.JobRunner` started (None until recorded). ``job.log_tail`` is
    empty until the job finished."""

    job: TrainingJob
    run: str | None = None


@dataclass(frozen=True)
class JobLock:
    """The start lock: the jobs queued or running, and when the last automatic job was
    created (the cool-down counts from it)."""

    active: tuple[str, ...] = ()
    automatic_at: datetime | None = None


class RunPhase(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    ENDED = "ended"


@dataclass(frozen=True)
class RunState:
    """What a runner says of one run now: its phase, times, log lines (oldest first,
    the report among them) and, once ended, ``failure``: None when the runner says
    ``mlops train`` succeeded, else why not; ``failure_logged`` whether the log already
    holds what explains it."""

    phase: RunPhase
    lines: Sequence[str] = ()
    started_at: datetime | None = None
    ended_at: datetime | None = None
    failure: str | None = None
    failure_logged: bool = True


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


class JobStartError(Exception):
    """A runner could not start a run; the message says why and what to do (users read it)."""


class RunnerUnavailableError(Exception):
    """The service running jobs did not answer (throttled, down): the job keeps its last
    known status."""

    def __init__(self, cloud: str, message: str) -> None:
        super().__init__(f"{cloud} did not answer: {message}")
        self.cloud = cloud
        self.message = message
