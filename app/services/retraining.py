"""Retraining: start a job when the serving model's feedback accuracy falls, or on request."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from app.domain.feedback import Feedback
from app.domain.identity import Principal
from app.domain.jobs import JobAlreadyRunningError, JobReason, TrainingJob, TrainingJobRequest
from app.services.monitoring import MonitoringService
from app.services.training_jobs import TrainingJobs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrainingPolicy:
    enabled: bool = True
    cooldown_seconds: float = 3600
    generate_per_class: int = 400
    heldout_per_class: int = 10
    promote: str = "if-better"


@dataclass
class RetrainingService:
    """Example::

    service.on_feedback(feedback)   # starts a job when accuracy < threshold, once per cool-down
    service.start_manual(admin)     # POST /v1/training-jobs
    """

    monitoring: MonitoringService
    jobs: TrainingJobs
    policy: RetrainingPolicy
    listeners: list[Callable[[TrainingJob], object]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Serialises this process's checks; the job store's atomic start covers replicas.
        self._lock = threading.Lock()

    def on_feedback(self, feedback: Feedback) -> TrainingJob | None:
        """Check the serving model's rolling accuracy after a new label."""
        if not self.policy.enabled:
            return None
        serving = self.monitoring.models.loaded
        if serving is None or feedback.model_version != serving.version:
            return None  # a label on an older version says nothing about the one serving
        with self._lock:
            rolling = self.monitoring.rolling_accuracy(serving.version)
            accuracy = rolling.accuracy
            if (
                accuracy is None
                or rolling.labels < self.monitoring.min_labels
                or accuracy >= self.monitoring.threshold
            ):
                return None
            try:
                job = self.jobs.start(
                    self._request(JobReason.ACCURACY_BELOW_THRESHOLD, "monitoring"),
                    cooldown_seconds=self.policy.cooldown_seconds,
                )
            except Exception:
                # The feedback is stored already; a job service outage must not fail it.
                log.exception("could not start a retraining job")
                return None
        if job is not None:
            self._started(job)
            log.warning(
                "rolling accuracy of version %s is %.3f over %d labels (threshold %.2f):"
                " started training job %s",
                serving.version,
                accuracy,
                rolling.labels,
                self.monitoring.threshold,
                job.id,
            )
        return job

    def start_manual(
        self,
        principal: Principal,
        *,
        generate_per_class: int | None = None,
        heldout_per_class: int | None = None,
        promote: str | None = None,
        include_feedback: bool = True,
    ) -> TrainingJob:
        """Start a job now, unless one is queued or running (two at once would only
        compete for the same cores)."""
        active = next((j for j in self.jobs.list(5) if not j.status.finished), None)
        if active is not None:
            raise JobAlreadyRunningError(active.id)
        job = self.jobs.start(
            self._request(
                JobReason.MANUAL,
                principal.subject,
                generate_per_class=generate_per_class,
                heldout_per_class=heldout_per_class,
                promote=promote,
                include_feedback=include_feedback,
            )
        )
        assert job is not None  # no cool-down asked: a job is always started
        self._started(job)
        return job

    def _started(self, job: TrainingJob) -> None:
        for listener in self.listeners:
            listener(job)

    def _request(
        self,
        reason: JobReason,
        requested_by: str,
        *,
        generate_per_class: int | None = None,
        heldout_per_class: int | None = None,
        promote: str | None = None,
        include_feedback: bool = True,
    ) -> TrainingJobRequest:
        return TrainingJobRequest(
            reason=reason,
            requested_by=requested_by,
            generate_per_class=generate_per_class or self.policy.generate_per_class,
            heldout_per_class=heldout_per_class or self.policy.heldout_per_class,
            promote=promote or self.policy.promote,
            include_feedback=include_feedback,
        )
